"""Local backend: the same runner as a host subprocess, for machines without a Docker engine.

Isolation is weaker than Docker's and the user is told so. Always: rlimits on CPU, memory, output,
files and processes per test, a wall-clock timer and a fresh session per test. Then the strongest
confinement this machine permits, probed once:
- `bwrap` (bubblewrap): read-only root, private /tmp and home directories, no network, PID
  namespace (every leftover process is killed after each test);
- `unshare`: no network and a PID namespace, but the host filesystem stays visible;
- nothing more.
Run as root, the runner first drops to `nobody` (setpriv), so candidates never run as root.
"""

from __future__ import annotations

import dataclasses
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
HIDDEN_DIRS = ["/tmp", "/var/tmp", "/run", "/home", "/root"]

DESCRIPTIONS = {
    "bwrap": "bubblewrap: read-only filesystem, private /tmp and home, no network, PID namespace",
    "unshare": "namespaces: no network, PID namespace; the host filesystem is VISIBLE to candidates",
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
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0 and proc.stdout.strip() == expect


def _under(path: str, dirs: list[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in dirs)


@dataclasses.dataclass(frozen=True)
class Plan:
    kind: str  # bwrap | unshare | plain
    priv: tuple[str, ...]
    python: str
    drop_in_runner: bool = False

    @property
    def kill_all(self) -> bool:
        return self.kind in ("bwrap", "unshare")

    def command(self, work: str, ro_binds: tuple[str, ...] = ()) -> list[str]:
        if self.kind == "bwrap":
            hidden = HIDDEN_DIRS + [d for d in (os.path.expanduser("~"),) if d not in HIDDEN_DIRS and d != "/"]
            # no --die-with-parent: its PDEATHSIG fires when the *thread* that started us ends;
            # the runner exits on stdin EOF instead, which covers a crashed host process
            args = [shutil.which("bwrap") or "bwrap", "--unshare-all", "--new-session",
                    "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
            for d in hidden:
                if os.path.isdir(d):
                    args += ["--tmpfs", d]
            # the interpreter (a venv or pyenv under a hidden directory) stays reachable, read-only
            real = os.path.realpath(self.python)
            keep = {os.path.dirname(os.path.dirname(real)), os.path.dirname(os.path.dirname(os.path.abspath(self.python)))}
            if self.python == sys.executable:
                keep |= {sys.prefix, sys.base_prefix, sys.exec_prefix}
            for path in sorted(keep):
                if path and os.path.isdir(path) and _under(path, hidden):
                    args += ["--ro-bind", path, path]
            for path in ro_binds:
                args += ["--ro-bind", path, path]
            args += ["--bind", work, work, "--chdir", work]
            return [*self.priv, *args, self.python]
        if self.kind == "unshare":
            return [*self.priv, shutil.which("unshare") or "unshare", *UNSHARE_ARGS, self.python]
        return [*self.priv, self.python]


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
    os.chmod(probe_dir, 0o777)
    try:
        for kind in allowed:
            if kind != "plain" and not shutil.which(kind):
                continue
            for python in _pythons(list(priv)):
                plan = Plan(kind, priv, python)
                expect = "1" if kind == "unshare" else "ok"
                code = "import os; print(os.getpid())" if kind == "unshare" else "print('ok')"
                if _probe([*plan.command(probe_dir), "-c", code], expect):
                    return plan
        if os.geteuid() == 0 and not priv:  # root without setpriv: the runner drops privileges
            return Plan("plain", (), sys.executable, drop_in_runner=True)
        return Plan("plain", priv, sys.executable)
    finally:
        shutil.rmtree(probe_dir, ignore_errors=True)


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
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, 9)
            except OSError:
                pass
            self.proc.wait()


class LocalBackend:
    name = "local"

    def __init__(self, settings: SandboxSettings, confinement: tuple[str, ...] = ("bwrap", "unshare", "plain"),
                 ro_binds: tuple[str, ...] = ()):
        """`ro_binds`: host directories a mode needs to read (fix: the repository copy)."""
        self.settings = settings
        self.plan = local_plan(confinement)
        self.ro_binds = tuple(ro_binds)
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
        text = DESCRIPTIONS[self.plan.kind]
        if self.root:
            text += f"; candidates run as uid {NOBODY}"
        return text

    def _new_worker(self) -> Worker:
        with self._lock:
            self._seq += 1
            seq = self._seq
        work = os.path.join(self.work_root, f"w{seq}")
        os.makedirs(work)
        if self.root:
            os.chmod(work, 0o777)
        args = [*self.plan.command(work, self.ro_binds), "-I", "-c", BOOTSTRAP, "--work", work, "--nproc", "64"]
        if self.plan.kill_all:
            args.append("--kill-all")
        if self.plan.drop_in_runner:
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
