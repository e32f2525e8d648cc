"""Local backend: the same runner as a host subprocess, for machines without a Docker engine.

Isolation is weaker than Docker's and the user is told so. Always: the runner's per-test limits,
clean box and system-call filter (when libseccomp is there). Then the strongest confinement this
machine permits, probed once:
- `bwrap` (bubblewrap): a filesystem view of only the system directories (/usr, /etc, the
  libraries), the Python interpreter and what a mode binds read-only (fix: the repository copy and
  its environment); private size-capped /tmp, /dev/shm and work directory; no network; private
  PID and IPC namespaces in which the runner is PID 1;
- `unshare`: no network, private PID and IPC namespaces, but the host filesystem stays visible
  and the host's /tmp is shared;
- nothing more (rlimits and the filter only).
Run as root, candidates never run as root: bubblewrap maps them to `nobody` in a user namespace
(without any capability outside it, and reading host files as the user who ran orps, so a
project's environment under root's home stays usable); the weaker confinements drop to `nobody`
with setpriv first.
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from .api import SandboxError
from .config import SandboxSettings
from .worker import BOOTSTRAP, Pool, Transport, Worker, WorkerLost

NOBODY = 65534

UNSHARE_ARGS = ["--user", "--map-current-user", "--net", "--pid", "--ipc", "--fork", "--mount",
                "--mount-proc", "--kill-child"]
SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]
# of /etc, only what programs and toolchains read (never shadow files, keys or credentials)
ETC_ENTRIES = ["ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime", "timezone",
               "passwd", "group", "nsswitch.conf", "hosts", "os-release", "debian_version", "mime.types",
               "ssl/certs", "ca-certificates", "ca-certificates.conf", "python3", "gcc", "pypy3"]
SANDBOX_WORK = "/sandbox"  # not /work: a host checkout or venv bound read-only may live there

DESCRIPTIONS = {
    "bwrap": "bubblewrap: only system directories, part of /etc and the interpreter visible (read-only), private "
             "size-capped /tmp and work dir, no network, private PID and IPC namespaces",
    "unshare": "namespaces: no network, private PID and IPC namespaces; the host filesystem is VISIBLE "
               "to candidates and the host's /tmp is shared",
    "plain": "rlimits only: candidates can reach the network and the host filesystem",
}


def _privilege_prefix() -> list[str]:
    """Run as root: the runner itself drops to `nobody` (setpriv), so candidates are never root."""
    if os.geteuid() != 0:
        return []
    exe = shutil.which("setpriv")
    return [exe, "--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups"] if exe else []


def _probe(argv: list[str], expect: str) -> bool:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=10, env=_runner_env("/"))
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0 and proc.stdout.strip() == expect


def _runner_env(home: str) -> dict[str, str]:
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": home,
            "PYTHONDONTWRITEBYTECODE": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def _under(path: str, dirs: list[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in dirs)


def _world_readable(path: str) -> bool:
    import stat
    path = os.path.abspath(path)
    parts = path.split(os.sep)
    for i in range(2, len(parts) + 1):
        try:
            mode = os.stat(os.sep.join(parts[:i]) or "/").st_mode
        except OSError:
            return False
        if not mode & stat.S_IXOTH and stat.S_ISDIR(mode):
            return False
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return bool(mode & stat.S_IROTH)


def interpreter_dirs(python: str) -> list[str]:
    """Directories an interpreter needs to run (its install prefix, a venv's base), for binding."""
    real = os.path.realpath(python)
    dirs = {os.path.dirname(os.path.dirname(real)), os.path.dirname(os.path.dirname(os.path.abspath(python)))}
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        dirs |= {sys.prefix, sys.base_prefix, sys.exec_prefix}
    else:
        try:
            out = subprocess.run([python, "-I", "-c", "import sys; print(sys.prefix); print(sys.base_prefix)"],
                                 capture_output=True, text=True, timeout=10).stdout.split("\n")
            dirs |= {d for d in out if d.startswith("/")}
        except (OSError, subprocess.SubprocessError):
            pass
    return sorted(d for d in dirs if d and os.path.isdir(d) and not _under(d, ["/usr", "/bin", "/lib"]))


@dataclasses.dataclass(frozen=True)
class Plan:
    kind: str  # bwrap | unshare | plain
    priv: tuple[str, ...]
    python: str
    drop_in_runner: bool = False
    userns_uid: int | None = None  # bwrap run as root: the uid candidates have inside

    @property
    def private_fs(self) -> bool:
        return self.kind == "bwrap"

    def command(self, work: str, ro_binds: tuple[str, ...] = (), settings: SandboxSettings | None = None,
                info_fd: int | None = None) -> list[str]:
        if self.kind == "bwrap":
            s = settings or SandboxSettings()
            args = [shutil.which("bwrap") or "bwrap", "--unshare-all", "--new-session", "--as-pid-1"]
            if self.userns_uid is not None:
                args += ["--unshare-user", "--uid", str(self.userns_uid), "--gid", str(self.userns_uid)]
            for d in SYSTEM_DIRS:
                if os.path.islink(d):
                    args += ["--symlink", os.readlink(d), d]
                elif os.path.isdir(d):
                    args += ["--ro-bind", d, d]
            for name in ETC_ENTRIES:
                path = os.path.join("/etc", name)
                if os.path.islink(path):
                    args += ["--symlink", os.readlink(path), path]
                elif os.path.exists(path):
                    args += ["--ro-bind", path, path]
            args += ["--proc", "/proc", "--dev", "/dev",
                     "--size", str(s.tmp_tmpfs_mb << 20), "--tmpfs", "/tmp",
                     "--size", str(s.tmp_tmpfs_mb << 20), "--tmpfs", "/dev/shm",
                     "--size", str(s.work_tmpfs_mb << 20), "--tmpfs", SANDBOX_WORK]
            # the interpreter that runs the runner, and the one orps runs under (its packages, e.g.
            # a test runner a mode uses), read-only
            own = [d for d in {sys.prefix, sys.base_prefix} if not _under(d, ["/usr", "/bin", "/lib"])]
            for path in dict.fromkeys([*interpreter_dirs(self.python), *own, *ro_binds]):
                # run as root, the runner is `nobody`: it can bind only what everyone may read
                if os.path.exists(path) and (not self.priv or _world_readable(path)):
                    args += ["--ro-bind", path, path]
            if info_fd is not None:
                args += ["--info-fd", str(info_fd)]
            args += ["--remount-ro", "/", "--chdir", SANDBOX_WORK]
            return [*self.priv, *args, self.python]
        if self.kind == "unshare":
            return [*self.priv, shutil.which("unshare") or "unshare", *UNSHARE_ARGS, self.python]
        return [*self.priv, self.python]

    def runner_args(self, host_work: str) -> list[str]:
        if self.kind == "bwrap":
            return ["--work", SANDBOX_WORK, "--scratch", "/tmp", "--scratch", "/dev/shm"]
        # never the host's /tmp: the runner empties its scratch directories after every test
        return ["--work", host_work]


def _pythons(priv: list[str]) -> list[str]:
    pythons = [sys.executable]
    if priv:  # the venv may not be reachable once we are `nobody`: try system interpreters too
        for cand in (shutil.which("python3"), "/usr/bin/python3", "/usr/local/bin/python3"):
            if cand and os.path.exists(cand) and all(os.path.realpath(cand) != os.path.realpath(p)
                                                     for p in pythons):
                pythons.append(cand)
    return pythons


@functools.cache
def local_plan(allowed: tuple[str, ...] = ("bwrap", "unshare", "plain")) -> Plan:
    """The strongest confinement that works on this machine, found by running a probe in it."""
    priv = tuple(_privilege_prefix())
    probe_dir = tempfile.mkdtemp(prefix="orps-probe-")
    try:
        if priv:
            os.chown(probe_dir, NOBODY, NOBODY)
        for kind in allowed:
            if kind != "plain" and not shutil.which(kind):
                continue
            if kind == "bwrap" and priv:  # root: a user namespace, not setpriv (see the module doc)
                plan = Plan(kind, (), sys.executable, userns_uid=NOBODY)
                if _probe([*plan.command(probe_dir), "-I", "-c", "import os; print(os.getpid())"], "1"):
                    return plan
            for python in _pythons(list(priv)):
                plan = Plan(kind, priv, python)
                # the runner re-executes its interpreter for the launcher: that must work as well
                reexec = ("import os, sys; os.execv(sys.executable, [sys.executable, '-I', '-c', "
                          "'import os; print(os.getpid())'])")
                if kind == "plain":
                    if _probe([*plan.command(probe_dir), "-I", "-c", reexec.replace("os.getpid()", "7")], "7"):
                        return plan
                    continue
                # the runner must be PID 1 of its own namespace (then nothing inside can stop it)
                if _probe([*plan.command(probe_dir), "-I", "-c", reexec], "1"):
                    return plan
        return Plan("plain", priv, sys.executable)
    finally:
        shutil.rmtree(probe_dir, ignore_errors=True)


class SubprocessTransport(Transport):
    def __init__(self, argv: list[str], env: dict[str, str], info_fd: int | None = None):
        pass_fds = (info_fd,) if info_fd is not None else ()
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env, start_new_session=True, close_fds=True, pass_fds=pass_fds)
        self._out = self.proc.stdout.fileno()
        self._stderr = bytearray()
        self.inner_pid: int | None = None  # bwrap's sandbox init, as the host sees it
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

    def alive(self) -> bool:
        return self.proc.poll() is None

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
            self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            pass
        # whatever is still there is killed: the sandbox's init (which takes its namespace with it)
        # and the process we started
        for pid in (self.inner_pid, self.proc.pid):
            if pid:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


_live_backends: set[LocalBackend] = set()


@atexit.register
def _close_all() -> None:  # pragma: no cover - exercised at interpreter exit
    for backend in list(_live_backends):
        backend.close()


class LocalBackend:
    name = "local"

    def __init__(self, settings: SandboxSettings, confinement: tuple[str, ...] = ("bwrap", "unshare", "plain"),
                 ro_binds: tuple[str, ...] = ()):
        """`ro_binds`: host paths a mode needs to read (fix: the repository copy, its interpreter);
        they keep their host paths inside the sandbox."""
        self.settings = settings
        self.plan = local_plan(confinement)
        self.ro_binds = tuple(ro_binds)
        self.root = os.geteuid() == 0
        self.work_root = tempfile.mkdtemp(prefix="orps-local-")
        # the workers' own directories are private; run as root, the unprivileged runner must be
        # able to pass through to its own
        os.chmod(self.work_root, 0o711 if self.plan.priv else 0o700)
        self.image = None
        self._seq = 0
        self._lock = threading.Lock()
        self.pool = Pool(self._new_worker, settings.pool_size, settings.jobs_per_worker)
        _live_backends.add(self)

    @property
    def isolation(self) -> str:
        text = DESCRIPTIONS[self.plan.kind]
        if self.plan.userns_uid is not None:
            text += f"; candidates run as uid {NOBODY} in a user namespace"
        elif self.root:
            text += f"; candidates run as uid {NOBODY}"
        return text

    def _new_worker(self) -> Worker:
        with self._lock:
            self._seq += 1
            seq = self._seq
        work = os.path.join(self.work_root, f"w{seq}")
        os.makedirs(work, mode=0o700)
        if self.plan.priv:
            os.chown(work, NOBODY, NOBODY)
        info_r = info_w = None
        if self.plan.kind == "bwrap":
            info_r, info_w = os.pipe()
        args = [*self.plan.command(work, self.ro_binds, self.settings, info_w), "-I", "-c", BOOTSTRAP,
                *self.plan.runner_args(work)]
        try:
            transport = SubprocessTransport(args, _runner_env(work), info_w)
        except OSError as exc:
            raise SandboxError(f"could not start the local runner: {exc}") from exc
        finally:
            if info_w is not None:
                os.close(info_w)
        if info_r is not None:
            transport.inner_pid = _read_child_pid(info_r)
        worker = Worker(transport, f"local-{seq}")
        try:
            worker.handshake()
        except WorkerLost as exc:
            worker.close()
            raise SandboxError(f"the local runner did not start: {exc}") from exc
        return worker

    def close(self) -> None:
        self.pool.close()
        _live_backends.discard(self)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            try:
                shutil.rmtree(self.work_root)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.05)


def _read_child_pid(fd: int) -> int | None:
    """bwrap's --info-fd: a JSON object with the host pid of the sandbox's init."""
    data = b""
    deadline = time.monotonic() + 10
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
            try:
                return int(json.loads(data.decode()).get("child-pid"))
            except (ValueError, TypeError):
                continue
    finally:
        os.close(fd)
    return None
