"""Docker backend: warm, locked-down containers, each running the in-sandbox runner.

Each container: no network, read-only root, tmpfs work dirs (noexec), all capabilities dropped,
no-new-privileges, a non-root user, cgroup caps on memory, CPU and processes, a private IPC
namespace, no host mounts. The runner is the container's PID 1 (see runner.py). The runner is sent over the attach stream at start; jobs and results travel on
that stream. Containers carry a label with the owner's pid: they are removed on close, on exit,
when the owner's attach stream closes (stdin EOF ends the runner; auto-remove deletes the
container), and stale ones from a crashed owner are reaped at start.
"""

from __future__ import annotations

import atexit
import io
import logging
import os
import select
import socket
import struct
import tarfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

from .api import SandboxError
from .config import LABEL, SandboxSettings
from .languages import image_packages
from .worker import BOOTSTRAP, Pool, Transport, Worker, WorkerLost

log = logging.getLogger(__name__)

OWNER_LABEL = "org.orps.owner"
HOST_LABEL = "org.orps.host"
POOL_LABEL = "org.orps.pool"
SANDBOX_UID = 10001


def _docker():
    try:
        import docker
    except ImportError as exc:  # pragma: no cover - docker is a hard dependency
        raise SandboxError("the 'docker' Python package is missing: pip install docker") from exc
    return docker


def connect(timeout: float = 10.0):
    """A docker-py client for a live engine, or SandboxError saying how to get one."""
    docker = _docker()
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
        return client
    except Exception as exc:
        raise SandboxError(
            "Docker is not running (no engine answered"
            + (f" at {os.environ['DOCKER_HOST']}" if os.environ.get("DOCKER_HOST") else "")
            + "): start it (e.g. `sudo systemctl start docker`, or `dockerd &`) or use `--sandbox local`"
        ) from exc


def image_info(client, name: str) -> dict | None:
    docker = _docker()
    try:
        img = client.images.get(name)
    except docker.errors.ImageNotFound:
        return None
    return {"id": img.id, "tags": img.tags, "created": img.attrs.get("Created"),
            "size_mb": round(img.attrs.get("Size", 0) / 1e6, 1)}


# --------------------------------------------------------------------------- image build

def _context_tar() -> bytes:
    buf = io.BytesIO()
    dockerfile = resources.files("sandbox").joinpath("Dockerfile").read_bytes()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
    return buf.getvalue()


def import_rootfs(client, rootfs: Path, tag: str, progress: Callable[[str], None]) -> str:
    """`docker import` of a root filesystem (directory or tarball) as a local base image."""
    if not rootfs.exists():
        raise SandboxError(f"{rootfs}: no such root filesystem (a directory or a .tar file)")
    progress(f"importing root filesystem {rootfs} as {tag}")
    if rootfs.is_dir():
        if not (rootfs / "usr" / "bin" / "python3").exists() and not (rootfs / "bin" / "python3").exists():
            raise SandboxError(f"{rootfs}: this root filesystem has no python3 (debootstrap --include=python3)")
        read_fd, write_fd = os.pipe()

        def produce():
            with os.fdopen(write_fd, "wb") as out, tarfile.open(fileobj=out, mode="w|") as tar:
                tar.add(str(rootfs), arcname=".")

        thread = threading.Thread(target=produce, daemon=True)
        thread.start()
        with os.fdopen(read_fd, "rb") as data:
            result = client.api.import_image_from_stream(data, repository=tag.split(":")[0],
                                                         tag=tag.split(":")[1] if ":" in tag else "latest")
        thread.join()
    else:
        with open(rootfs, "rb") as data:
            result = client.api.import_image_from_stream(data, repository=tag.split(":")[0],
                                                         tag=tag.split(":")[1] if ":" in tag else "latest")
    if isinstance(result, bytes):
        result = result.decode("utf-8", "replace")
    if "error" in str(result).lower() and "sha256" not in str(result):
        raise SandboxError(f"docker import of {rootfs} failed: {str(result)[:300]}")
    return tag


def build_image(client, settings: SandboxSettings, base: str | None = None, rootfs: Path | None = None,
                progress: Callable[[str], None] = print, nocache: bool = False) -> dict:
    """Build the sandbox image from sandbox/Dockerfile on `base` (or an imported rootfs)."""
    docker = _docker()
    if rootfs is not None:
        base = import_rootfs(client, rootfs, "orps-sandbox-base:local", progress)
    base = base or settings.base_image
    progress(f"building {settings.image} on {base}")
    try:
        stream = client.api.build(fileobj=io.BytesIO(_context_tar()), custom_context=True, tag=settings.image,
                                  buildargs={"BASE": base, "PACKAGES": " ".join(image_packages())},
                                  rm=True, forcerm=True, decode=True,
                                  nocache=nocache, pull=False,
                                  labels={LABEL: "1", "org.orps.base": base})
        for chunk in stream:
            if "stream" in chunk:
                text = chunk["stream"].rstrip()
                if text:
                    progress(text)
            elif "status" in chunk:
                progress(f"{chunk['status']} {chunk.get('progress', '')}".rstrip())
            elif "error" in chunk:
                detail = chunk["error"].strip()
                hint = ""
                if "pull access denied" in detail or "not found" in detail or "dial" in detail \
                        or "lookup" in detail or "connection" in detail:
                    hint = (" (the base image could not be fetched: on a machine without a registry use "
                            "`orps sandbox build --rootfs DIR_OR_TAR` or `--base LOCAL_IMAGE`)")
                raise SandboxError(f"building {settings.image} failed: {detail}{hint}")
    except docker.errors.APIError as exc:
        raise SandboxError(f"building {settings.image} failed: {exc.explanation or exc}") from exc
    info = image_info(client, settings.image)
    if info is None:
        raise SandboxError(f"building {settings.image} finished but the image is missing")
    return info


# --------------------------------------------------------------------------- transport

class DockerTransport(Transport):
    """The container's stdin/stdout over the engine's attach stream (demultiplexed frames)."""

    def __init__(self, container, sock_io):
        self.container = container
        self._io = sock_io
        sock = getattr(sock_io, "_sock", sock_io)
        if not isinstance(sock, socket.socket):
            raise SandboxError("unsupported Docker connection for the attach stream")
        self._sock = sock
        self._sock.setblocking(True)
        self._buf = bytearray()
        self.stderr = bytearray()
        self._closed = False

    def send(self, data: bytes) -> None:
        self._sock.sendall(data)

    def recv(self, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            payload = self._pop_stdout()
            if payload is not None:
                return payload
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self._sock], [], [], left)
            if not ready:
                raise TimeoutError
            chunk = self._sock.recv(1 << 20)
            if not chunk:
                return b""
            self._buf += chunk

    def _pop_stdout(self) -> bytes | None:
        while len(self._buf) >= 8:
            stream, size = struct.unpack_from(">BxxxL", self._buf)
            if len(self._buf) < 8 + size:
                return None
            payload = bytes(self._buf[8:8 + size])
            del self._buf[:8 + size]
            if stream == 1:
                return payload
            if stream == 2 and len(self.stderr) < 65536:
                self.stderr += payload
        return None

    def alive(self) -> bool:
        """An idle runner sends nothing: a readable stream with no pending data means it ended."""
        if self._closed:
            return False
        try:
            ready, _, _ = select.select([self._sock], [], [], 0)
            return not ready or self._sock.recv(1, socket.MSG_PEEK) != b""
        except OSError:
            return False

    def describe_exit(self) -> str:
        parts = []
        try:
            self.container.reload()
            state = self.container.attrs.get("State", {})
            if state.get("OOMKilled"):
                parts.append("the container ran out of memory")
            if not state.get("Running", True):
                parts.append(f"container exit code {state.get('ExitCode')}")
        except Exception:
            parts.append("container gone")
        if self.stderr:
            parts.append("stderr: " + self.stderr[-300:].decode("utf-8", "replace").strip())
        return "; ".join(parts)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self._sock.close()
        except OSError:
            pass
        try:
            self.container.remove(force=True)
        except Exception:  # already gone (auto-remove) or engine down: reaped by label later
            pass


# --------------------------------------------------------------------------- backend

_live_backends: set[DockerBackend] = set()


@atexit.register
def _close_all() -> None:  # pragma: no cover - exercised at interpreter exit
    for backend in list(_live_backends):
        backend.close()


class DockerBackend:
    name = "docker"

    def __init__(self, settings: SandboxSettings, client=None, image: str | None = None,
                 mounts: dict[str, str] | None = None):
        """`image` overrides the settings' image (e.g. a derived image with a repo's dependencies);
        `mounts` maps host paths to container paths, mounted read-only: only a mode that needs a
        host directory (fix: the repository copy) asks for one."""
        self.settings = settings
        self.client = client or connect()
        self.image_name = image or settings.image
        self.mounts = dict(mounts or {})
        info = image_info(self.client, self.image_name)
        if info is None:
            raise SandboxError(f"the sandbox image '{self.image_name}' is missing: build it with "
                               f"`orps sandbox build` (or use `--sandbox local`)")
        self.image = info
        self.host = socket.gethostname()
        self.pool_id = uuid.uuid4().hex[:12]  # one process may hold several sandboxes
        self.reaped = reap_stale(self.client, self.host)
        self._seq = 0
        self._seq_lock = threading.Lock()
        self.pool = Pool(self._new_worker, settings.pool_size, settings.jobs_per_worker)
        _live_backends.add(self)

    def _container_kwargs(self) -> dict:
        s = self.settings
        docker = _docker()
        return dict(
            image=self.image_name,
            volumes={host: {"bind": inside, "mode": "ro"} for host, inside in self.mounts.items()},
            # the runner is the container's PID 1: nothing inside can kill or stop it
            command=["python3", "-I", "-c", BOOTSTRAP, "--work", "/work", "--scratch", "/tmp",
                     "--scratch", "/dev/shm"],
            user=f"{SANDBOX_UID}:{SANDBOX_UID}",
            working_dir="/work",
            network_mode="none",
            read_only=True,
            tmpfs={
                # programs built for a job run from the work dir (exec); /tmp stays noexec
                "/work": f"rw,nosuid,nodev,exec,size={s.work_tmpfs_mb}m,uid={SANDBOX_UID},gid={SANDBOX_UID},mode=0700",
                "/tmp": f"rw,nosuid,nodev,noexec,size={s.tmp_tmpfs_mb}m,mode=1777",
            },
            shm_size=f"{s.tmp_tmpfs_mb}m",
            ipc_mode="private",
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            mem_limit=f"{s.container_memory_mb}m",
            memswap_limit=f"{s.container_memory_mb}m",
            pids_limit=s.container_pids,
            nano_cpus=int(s.container_cpus * 1e9),
            ulimits=[docker.types.Ulimit(name="nofile", soft=1024, hard=1024),
                     docker.types.Ulimit(name="core", soft=0, hard=0)],
            init=False,
            auto_remove=True,
            # stdin open and attached: StdinOnce, so the runner sees EOF when our stream closes
            stdin_open=True,
            detach=False,
            tty=False,
            labels={LABEL: "1", OWNER_LABEL: str(os.getpid()), HOST_LABEL: self.host, POOL_LABEL: self.pool_id},
            environment={"PYTHONDONTWRITEBYTECODE": "1", "HOME": "/work", "LANG": "C.UTF-8"},
        )

    def _new_worker(self) -> Worker:
        with self._seq_lock:
            self._seq += 1
            seq = self._seq
        docker = _docker()
        try:
            container = self.client.containers.create(
                name=f"orps-sandbox-{self.pool_id}-{seq}",
                **self._container_kwargs())
            sock_io = self.client.api.attach_socket(
                container.id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            transport = DockerTransport(container, sock_io)
            container.start()
        except docker.errors.APIError as exc:
            raise SandboxError(f"could not start a sandbox container: {exc.explanation or exc}") from exc
        worker = Worker(transport, container.name)
        try:
            worker.handshake()
        except WorkerLost as exc:
            worker.close()
            raise SandboxError(f"the sandbox container did not start its runner: {exc}") from exc
        return worker

    def containers(self) -> list:
        """This sandbox's containers (not those of other sandboxes in the same process)."""
        return self.client.containers.list(all=True, filters={"label": f"{POOL_LABEL}={self.pool_id}"})

    def close(self) -> None:
        self.pool.close()
        try:
            for c in self.containers():
                c.remove(force=True)
        except Exception:
            log.debug("removing containers failed", exc_info=True)
        _live_backends.discard(self)


def _owner_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_stale(client, host: str) -> int:
    """Remove sandbox containers left by an orps process on this host that no longer runs."""
    removed = 0
    try:
        stale: Iterator = client.containers.list(all=True, filters={"label": LABEL})
        for c in stale:
            labels = c.labels or {}
            if labels.get(HOST_LABEL) != host:
                continue
            try:
                owner = int(labels.get(OWNER_LABEL, "0"))
            except ValueError:
                owner = 0
            if owner and owner != os.getpid() and _owner_alive(owner):
                continue
            if owner == os.getpid():
                continue
            try:
                c.remove(force=True)
                removed += 1
            except Exception:
                pass
    except Exception:
        log.debug("reaping stale containers failed", exc_info=True)
    return removed
