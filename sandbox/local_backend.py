"""Local backend: the same runner as a host subprocess, for machines without a Docker engine.

Isolation is weaker and the user is told so. What it still enforces: rlimits on CPU, memory,
output and files per test, a wall-clock timer, a fresh session per test, and, where the kernel
permits unprivileged namespaces (`unshare`), no network and a private PID namespace so every
leftover process is killed after each test. Run as root, children drop to `nobody`.
"""

from __future__ import annotations

import functools
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from .api import SandboxError
from .config import SandboxSettings
from .worker import BOOTSTRAP, Pool, Transport, Worker, WorkerLost

NOBODY = 65534

UNSHARE_ARGS = ["--user", "--map-current-user", "--net", "--pid", "--fork", "--mount", "--mount-proc",
                "--kill-child"]


def _privilege_prefix() -> list[str]:
    """Run as root: the runner itself drops to `nobody` (setpriv), so candidates are never root."""
    if os.geteuid() != 0:
        return []
    exe = shutil.which("setpriv")
    return [exe, "--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups"] if exe else []


def _probe(argv: list[str], expect: str) -> bool:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0 and proc.stdout.strip() == expect


@functools.cache
def local_plan() -> tuple[tuple[str, ...], bool, bool]:
    """(command prefix, namespaces?, drop-in-runner?) for the local runner on this machine."""
    priv = _privilege_prefix()
    pythons = [sys.executable]
    if priv:  # the venv may not be reachable once we are `nobody`: try system interpreters too
        for cand in (shutil.which("python3"), "/usr/bin/python3", "/usr/local/bin/python3"):
            if cand and os.path.exists(cand) and all(os.path.realpath(cand) != os.path.realpath(p)
                                                     for p in pythons):
                pythons.append(cand)
    unshare = shutil.which("unshare")
    if unshare:
        for python in pythons:
            cmd = (*priv, unshare, *UNSHARE_ARGS, python)
            if _probe([*cmd, "-c", "import os; print(os.getpid())"], "1"):
                return cmd, True, False
    if os.geteuid() == 0 and not priv:
        return (sys.executable,), False, True
    for python in pythons:
        if _probe([*priv, python, "-c", "print(1)"], "1"):
            return (*priv, python), False, False
    return (*priv, sys.executable), False, False


def namespaces_available() -> bool:
    return local_plan()[1]


class SubprocessTransport(Transport):
    def __init__(self, argv: list[str], env: dict[str, str]):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env, start_new_session=True, close_fds=True)
        self._out = self.proc.stdout.fileno()
        self._stderr = bytearray()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _drain_stderr(self) -> None:
        for chunk in iter(lambda: self.proc.stderr.read1(4096), b""):
            if len(self._stderr) < 65536:
                self._stderr += chunk

    def send(self, data: bytes) -> None:
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError) as exc:
            raise OSError(f"runner stdin closed: {exc}") from exc

    def recv(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self._out], [], [], timeout)
        if not ready:
            raise TimeoutError
        return os.read(self._out, 1 << 20)

    def describe_exit(self) -> str:
        code = self.proc.poll()
        parts = [] if code is None else [f"exit code {code}"]
        if self._stderr:
            parts.append("stderr: " + self._stderr[-300:].decode("utf-8", "replace").strip())
        return "; ".join(parts)

    def close(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, 9)
            except OSError:
                pass
            self.proc.wait()


class LocalBackend:
    name = "local"

    def __init__(self, settings: SandboxSettings, use_namespaces: bool | None = None):
        self.settings = settings
        prefix, namespaces, drop = local_plan()
        if use_namespaces is False and namespaces:
            prefix = tuple(p for p in prefix if p != shutil.which("unshare") and p not in UNSHARE_ARGS)
            namespaces = False
        self.prefix, self.namespaces, self.drop_in_runner = list(prefix), namespaces, drop
        self.root = os.geteuid() == 0
        self.work_root = tempfile.mkdtemp(prefix="orps-local-")
        if self.root:
            os.chmod(self.work_root, 0o711)
        self.image = None
        self._seq = 0
        self._lock = threading.Lock()
        self.pool = Pool(self._new_worker, settings.pool_size, settings.jobs_per_worker)

    @property
    def isolation(self) -> str:
        parts = ["rlimits", "wall timer", "own session"]
        if self.namespaces:
            parts.append("user/net/pid namespaces (no network, leftovers killed)")
        else:
            parts.append("NO network isolation, leftover processes may survive")
        if self.root:
            parts.append(f"candidates run as uid {NOBODY}")
        return ", ".join(parts)

    def _new_worker(self) -> Worker:
        with self._lock:
            self._seq += 1
            seq = self._seq
        work = os.path.join(self.work_root, f"w{seq}")
        os.makedirs(work)
        args = [*self.prefix, "-I", "-c", BOOTSTRAP, "--work", work, "--nproc", "64"]
        if self.namespaces:
            args.append("--kill-all")
        if self.root:
            os.chmod(work, 0o777)
        if self.drop_in_runner:
            args += ["--drop-to", str(NOBODY)]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": work,
               "PYTHONDONTWRITEBYTECODE": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
        try:
            transport = SubprocessTransport(args, env)
        except OSError as exc:
            raise SandboxError(f"could not start the local runner: {exc}") from exc
        worker = Worker(transport, f"local-{seq}")
        try:
            worker.handshake()
        except WorkerLost as exc:
            worker.close()
            raise SandboxError(f"the local runner did not start: {exc}") from exc
        return worker

    def close(self) -> None:
        self.pool.close()
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            try:
                shutil.rmtree(self.work_root)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.05)
