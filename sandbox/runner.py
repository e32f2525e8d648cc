"""The in-sandbox runner: receives jobs on stdin, runs every test in a clean box, answers on stdout.

Sent into the sandbox at start-up with `harness.py` (nothing is baked into the image), so host and
runner always speak the same protocol. Standard library only, Python >= 3.9.

Processes inside one sandbox:
- the **runner** (PID 1 of the sandbox's PID namespace): holds the host channel and the job. As
  the namespace's init, it cannot be killed or stopped from inside (the kernel does not deliver
  SIGKILL/SIGSTOP to an init from its own namespace, and it ignores every other signal).
- the **launcher** (zygote): a fresh interpreter started by the runner (exec, so it never holds a
  job) that forks one candidate process per test, enforces the wall-clock, CPU and memory limits
  on it and measures it (wait4: CPU time and peak RSS; perf: instructions).
- per test, the **candidate** process (a fork of the launcher: it never saw the test's code,
  expected values or other tests) and, for function tests, the **evaluator** (a fork of the
  runner) that runs the test and calls into the candidate over a pipe (see harness.py).

Candidate and evaluator run under a system-call filter compiled on the host (sandbox/seccomp.py):
no new processes (threads are fine), signals only to themselves, no tracing or re-limiting of
other processes, no IPC objects that outlive them. Results travel on descriptors the candidate
never holds. After every test the runner kills whatever is left, empties every writable place
(the box, /tmp, /dev/shm) and checks that the box is clean again; a worker it cannot restore
reports itself damaged and the host replaces it.

Channel to the host: frames of a 4-byte big-endian length and a UTF-8 JSON object.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import struct
import sys
import time

PROTOCOL = 2
MAX_FRAME = 256 << 20
_HEADER = struct.Struct(">I")
HARNESS = "orps_harness"


# --------------------------------------------------------------------------- framing (shared)

def encode_frame(obj) -> bytes:
    # backslashreplace turns a lone surrogate inside a JSON string into its JSON escape
    data = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "backslashreplace")
    return _HEADER.pack(len(data)) + data


class FrameReader:
    """Reassembles frames from an unbuffered byte source (a callable returning b"" at EOF)."""

    def __init__(self, read):
        self._read = read
        self._buf = bytearray()

    def feed(self, data: bytes) -> None:
        self._buf += data

    def pop(self):
        """Return the next complete frame from the buffer, or None."""
        if len(self._buf) < 4:
            return None
        (size,) = _HEADER.unpack_from(self._buf)
        if size > MAX_FRAME:
            raise ValueError(f"frame of {size} bytes exceeds the protocol limit")
        if len(self._buf) < 4 + size:
            return None
        data = bytes(self._buf[4:4 + size])
        del self._buf[:4 + size]
        return json.loads(data.decode("utf-8", "surrogateescape"))

    def next(self):
        """Block until a frame arrives; None at EOF."""
        while True:
            frame = self.pop()
            if frame is not None:
                return frame
            chunk = self._read()
            if not chunk:
                return None
            self._buf += chunk


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


# --------------------------------------------------------------------------- kernel helpers

_libc = None


def _libc_handle():
    global _libc
    if _libc is None:
        import ctypes
        import ctypes.util
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return _libc


PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_SECCOMP = 22
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
SECCOMP_MODE_FILTER = 2
PLACEHOLDER = 0x4F525053


def _prctl(option: int, value: int) -> bool:
    try:
        return _libc_handle().prctl(option, value, 0, 0, 0) == 0
    except Exception:
        return False


_FILTERS: dict = {}


def _prepared(profile: dict):
    """The decoded program and where its own-pid placeholders are, once per profile."""
    key = profile["bpf"]
    hit = _FILTERS.get(key)
    if hit is None:
        import ctypes
        prog = bytes(base64.b64decode(profile["bpf"]))
        offsets = [i + 4 for i in range(0, len(prog), 8)
                   if struct.unpack_from("<HBBI", prog, i)[0] == 0x15 and struct.unpack_from("<I", prog, i + 4)[0] == PLACEHOLDER]
        if len(offsets) != profile["placeholders"]:
            raise OSError(f"system-call filter: {len(offsets)} own-pid rules found, {profile['placeholders']} expected")

        class SockFprog(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

        hit = _FILTERS[key] = (prog, offsets, SockFprog)
    return hit


def install_filter(profile: dict, pid: int) -> None:
    """Install a host-compiled seccomp program, its own-pid placeholders set to `pid`."""
    import ctypes
    template, offsets, SockFprog = _prepared(profile)
    prog = bytearray(template)
    for off in offsets:
        struct.pack_into("<I", prog, off, pid)
    buf = (ctypes.c_char * len(prog)).from_buffer(prog)
    fprog = SockFprog(len(prog) // 8, ctypes.addressof(buf))
    libc = _libc_handle()
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")


# --------------------------------------------------------------------------- Landlock

_LL_CREATE, _LL_ADD, _LL_RESTRICT = 444, 445, 446
_LL_READ = (1 << 0) | (1 << 2) | (1 << 3)  # execute, read file, read dir
_LL_FILE_RIGHTS = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 14) | (1 << 15)  # what a rule on a file may hold


def landlock_abi() -> int:
    """The kernel's Landlock ABI version (0: not available)."""
    try:
        import ctypes
        libc = _libc_handle()
        libc.syscall.restype = ctypes.c_long
        v = libc.syscall(ctypes.c_long(_LL_CREATE), None, ctypes.c_size_t(0), ctypes.c_uint32(1))
        return max(0, int(v))
    except Exception:
        return 0


def _ll_handled(abi: int) -> int:
    bits = (1 << 13) - 1
    if abi >= 2:
        bits |= 1 << 13  # refer
    if abi >= 3:
        bits |= 1 << 14  # truncate
    if abi >= 5:
        bits |= 1 << 15  # ioctl on devices
    return bits


class Confinement:
    """Landlock rulesets for candidates: a process keeps reading what it could read, except
    anything under `hide` (the sandbox's work root: other tests' boxes and the evaluator's files),
    and writes only beneath `writable` and its test's box (and /dev's devices). Applies to it and
    everything it starts; cannot be undone.

    The launcher builds the ruleset once (listing / and the way to `hide` is most of the cost) and
    adds each test's box before it forks the test; the child restricts itself with it and closes
    it before any of the program runs. Boxes of earlier tests stay in the ruleset: they are
    deleted directories by then, which no path reaches and nothing can be created in. The ruleset
    is rebuilt now and then so that it does not grow without bound."""

    REBUILD_AFTER = 256

    def __init__(self):
        self.key = None
        self.fd = -1
        self.boxes = 0

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
        self.fd, self.key = -1, None

    def for_box(self, abi: int, hide: str, writable: list[str], box: str) -> int:
        """The ruleset fd (the launcher's) that lets a child write `box`."""
        key = (abi, hide, tuple(writable))
        if key != self.key or self.boxes >= self.REBUILD_AFTER:
            self.close()
            self._base(abi, hide, writable)
            self.boxes = 0
        self._grant(box, _ll_handled(abi))
        self.boxes += 1
        return self.fd

    def _grant(self, path: str, rights: int) -> None:
        import ctypes
        libc = _libc_handle()
        handled = _ll_handled(self.key[0])  # set by _base before any rule is added
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return
        try:
            if not os.path.isdir(path):
                rights &= _LL_FILE_RIGHTS
            rule = struct.pack("<Qi", rights & handled, fd)
            if libc.syscall(ctypes.c_long(_LL_ADD), ctypes.c_int(self.fd), ctypes.c_int(1),
                            ctypes.c_char_p(rule), ctypes.c_uint32(0)) < 0:
                raise OSError(ctypes.get_errno(), f"landlock_add_rule {path}")
        finally:
            os.close(fd)

    def _base(self, abi: int, hide: str, writable: list[str]) -> None:
        """A new ruleset (self.fd) with the read rules and the writable places every test shares."""
        import ctypes
        libc = _libc_handle()
        libc.syscall.restype = ctypes.c_long
        handled = _ll_handled(abi)
        attr = struct.pack("<Q", handled)
        ruleset = libc.syscall(ctypes.c_long(_LL_CREATE), ctypes.c_char_p(attr), ctypes.c_size_t(len(attr)),
                               ctypes.c_uint32(0))
        if ruleset < 0:
            raise OSError(ctypes.get_errno(), "landlock_create_ruleset")
        self.fd, self.key = ruleset, (abi, hide, tuple(writable))
        try:
            # read: every entry of "/" and of each directory on the way to `hide`, but that way itself
            hide = os.path.abspath(hide)
            parent = "/"
            for part in [p for p in hide.split("/") if p] + [None]:
                try:
                    entries = os.listdir(parent)
                except OSError:
                    entries = []
                for name in entries:
                    if name != part:
                        self._grant(os.path.join(parent, name), _LL_READ)
                if part is None:
                    break
                parent = os.path.join(parent, part)
            if os.path.isdir("/dev"):
                self._grant("/dev", _LL_READ | (1 << 1) | (1 << 14) | (1 << 15))
            for path in writable:
                self._grant(path, handled)
        except BaseException:
            self.close()
            raise


def restrict_self(ruleset: int) -> None:
    """Apply a Landlock ruleset to this process (and what it starts), then close it: the program
    must not be able to add rules to the ruleset later tests get."""
    import ctypes
    libc = _libc_handle()
    try:
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        if libc.syscall(ctypes.c_long(_LL_RESTRICT), ctypes.c_int(ruleset), ctypes.c_uint32(0)) < 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    finally:
        os.close(ruleset)


class PerfCounter:
    """Hardware instruction counter for a child via perf_event_open; absent when the kernel refuses."""

    _NR = {"x86_64": 298, "aarch64": 241, "arm64": 241}
    PERF_TYPE_HARDWARE = 0
    PERF_COUNT_HW_INSTRUCTIONS = 1

    def __init__(self):
        self.available = False
        self.reason = ""
        try:
            import ctypes
            self._ctypes = ctypes
            self._nr = self._NR.get(os.uname().machine)
            if self._nr is None:
                self.reason = f"no perf_event_open syscall number for {os.uname().machine}"
                return
            fd = self._open(0)
            if fd < 0:
                err = ctypes.get_errno()
                self.reason = f"perf_event_open refused: {os.strerror(err)}"
                return
            os.close(fd)
            self.available = True
        except Exception as exc:  # any failure means: not available, never a made-up count
            self.reason = f"perf_event_open unavailable: {exc}"

    def _open(self, pid: int) -> int:
        ctypes = self._ctypes
        attr = bytearray(128)
        struct.pack_into("<IIQ", attr, 0, self.PERF_TYPE_HARDWARE, 128, self.PERF_COUNT_HW_INSTRUCTIONS)
        # flags at offset 40: bit1 inherit, bit5 exclude_kernel, bit6 exclude_hv
        struct.pack_into("<Q", attr, 40, (1 << 1) | (1 << 5) | (1 << 6))
        buf = (ctypes.c_char * 128).from_buffer(attr)
        libc = _libc_handle()
        libc.syscall.restype = ctypes.c_long
        return libc.syscall(ctypes.c_long(self._nr), buf, ctypes.c_int(pid), ctypes.c_int(-1),
                            ctypes.c_int(-1), ctypes.c_ulong(0))

    def open_for(self, pid: int):
        if not self.available:
            return None
        fd = self._open(pid)
        return fd if fd >= 0 else None

    @staticmethod
    def read(fd):
        if fd is None:
            return None
        try:
            data = os.read(fd, 8)
            return struct.unpack("<Q", data)[0] if len(data) == 8 else None
        except OSError:
            return None
        finally:
            os.close(fd)


_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICKS = os.sysconf("SC_CLK_TCK")


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


PTRACE_CONT = 7
PTRACE_SEIZE = 0x4206
PTRACE_O_TRACEEXEC = 0x10
PTRACE_O_TRACEEXIT = 0x40
PTRACE_EVENT_EXEC = 4
PTRACE_O_EXITKILL = 0x100000
PTRACE_EVENT_EXIT = 6
PTRACE_EVENT_STOP = 128
_WALL = 0x40000000


def _ptrace(request: int, pid: int, data: int) -> int:
    import ctypes
    libc = _libc_handle()
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    libc.ptrace.restype = ctypes.c_long
    return libc.ptrace(request, pid, None, ctypes.c_void_p(data))


def _schedstat_ns(pid: int) -> int | None:
    """Time the process has run on a CPU, in nanoseconds (all its threads so far)."""
    try:
        total = 0
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat", "rb") as fh:
                total += int(fh.read().split()[0])
        return total
    except (OSError, ValueError, IndexError):
        return None


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except (BlockingIOError, OSError):
        pass


def _hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh.read().split(b"\n"):
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS
    except (OSError, ValueError, IndexError):
        return 0.0


def _sizes(fds) -> int:
    total = 0
    for fd in fds:
        try:
            total += os.fstat(fd).st_blocks * 512
        except OSError:
            pass
    return total


def _used_bytes(paths) -> int:
    total = 0
    for path in paths:
        try:
            st = os.statvfs(path)
        except OSError:
            continue
        total += (st.f_blocks - st.f_bfree) * st.f_frsize
    return total


# --------------------------------------------------------------------------- the candidate process

def _reset_signals(ignore_pipe: bool) -> None:
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM,
                signal.SIGXFSZ, signal.SIGXCPU, signal.SIGCHLD, signal.SIGQUIT, signal.SIGINT,
                signal.SIGTTIN, signal.SIGTTOU, signal.SIGTSTP):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN if ignore_pipe else signal.SIG_DFL)


def apply_limits(limits: dict, *, stack: bool = True, memory_slack: bool = True, address_space: bool = True) -> None:
    """rlimits for one test. Memory is judged on resident memory (measured by the launcher);
    the address-space limit is only a generous backstop, so thread stacks and allocator
    reservations do not count."""
    mem = int(limits["memory_mb"]) << 20
    try:
        with open("/proc/self/statm") as fh:
            vsz = int(fh.read().split()[0]) * _PAGE
    except OSError:
        vsz = 0
    backstop = vsz + 4 * mem + (1 << 30) if memory_slack else vsz + mem
    if address_space:
        resource.setrlimit(resource.RLIMIT_AS, (backstop, backstop))
    if stack:
        size = max(mem, 8 << 20)
        resource.setrlimit(resource.RLIMIT_STACK, (size, size))
    cpu = max(1, int(float(limits["cpu_s"]) + 0.999)) + 1  # the launcher enforces the exact limit
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    out_cap = int(limits["output_bytes"])
    resource.setrlimit(resource.RLIMIT_FSIZE, (out_cap, out_cap))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _std_streams(filename: str, box: str) -> None:
    import io
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8", errors="replace")
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", errors="replace",
                                  line_buffering=False)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", line_buffering=True)
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr
    sys.argv = [filename]
    sys.path[0:0] = [box]
    sys.path_importer_cache.clear()


def _tb_excerpt(exc, limit=8000) -> str:
    import traceback
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<orps-")]
    try:
        prefix = os.getcwd() + os.sep
    except OSError:
        prefix = None
    for f in frames:
        if prefix and f.filename.startswith(prefix):
            f.filename = f.filename[len(prefix):]
    text = "".join(traceback.format_list(frames[-12:])) + "".join(traceback.format_exception_only(type(exc), exc))
    if len(text) > limit:
        text = "..." + text[-limit:]
    return "Traceback (most recent call last):\n" + text


def _finish_interpreter() -> int:
    """What a real interpreter does at exit: join non-daemon threads, run atexit handlers, flush."""
    import atexit
    import threading
    code = 0
    try:
        threading._shutdown()
    except BaseException:
        pass
    try:
        atexit._run_exitfuncs()
    except BaseException:
        pass
    try:
        sys.stdout.flush()
    except BaseException:
        code = 120
    try:
        sys.stderr.flush()
    except BaseException:
        pass
    return code


def _run_stdio_child(solution_code, filename: str) -> int:
    import builtins
    ns = {"__name__": "__main__", "__builtins__": builtins, "__file__": filename}
    code = 0
    try:
        exec(solution_code, ns)
    except SystemExit as exc:
        if exc.code is None:
            code = 0
        elif isinstance(exc.code, int):
            code = exc.code & 0xFF
        else:
            try:
                print(exc.code, file=sys.stderr)
            except BaseException:
                pass
            code = 1
    except BaseException as exc:
        try:
            sys.stderr.write(_tb_excerpt(exc))
        except BaseException:
            pass
        code = 1
    return _finish_interpreter() or code


def _exec_command(argv, env_extra) -> None:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.getcwd(), "LANG": "C.UTF-8",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "TMPDIR": "/tmp"}
    env.update(env_extra or {})
    os.execvpe(argv[0], argv, env)


# --------------------------------------------------------------------------- the launcher (zygote)

class Launcher:
    """Forks and watches candidate processes; it never receives a test's code or answers."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.perf = PerfCounter()
        self.ptrace_ok = True
        # SIGCHLD wakes the watch loop when a traced program stops at its exit
        self.sigchld_r, w = os.pipe()
        os.set_blocking(self.sigchld_r, False)
        os.set_blocking(w, False)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.set_wakeup_fd(w)
        self.config: dict = {}
        self.compiled: dict = {}
        self.confinement = Confinement()
        self._buf = bytearray()

    def recv(self):
        fds: list[int] = []
        while True:
            if len(self._buf) >= 4:
                (size,) = _HEADER.unpack_from(self._buf)
                if len(self._buf) >= 4 + size:
                    data = bytes(self._buf[4:4 + size])
                    del self._buf[:4 + size]
                    return json.loads(data.decode("utf-8", "surrogateescape")), fds
            data, new_fds, _flags, _addr = socket.recv_fds(self.sock, 1 << 20, 16)
            if not data:
                return None, fds
            fds.extend(new_fds)
            self._buf += data

    def send(self, obj) -> None:
        self.sock.sendall(encode_frame(obj))

    def loop(self) -> int:
        while True:
            msg, fds = self.recv()
            if msg is None:
                return 0
            op = msg.get("op")
            if op == "config":
                self.config = msg
                for profile in (msg.get("seccomp") or {}).values():
                    _prepared(profile)
                _libc_handle()
                self.send({"type": "config", "perf": self.perf.available, "perf_reason": self.perf.reason,
                           "python": sys.version.split()[0]})
            elif op == "run":
                try:
                    self.run(msg, fds)
                finally:
                    for fd in fds:
                        try:
                            os.close(fd)
                        except OSError:
                            pass
            else:
                return 2

    def _code(self, msg):
        key = (msg.get("filename"), hashlib.sha256(msg.get("source", "").encode("utf-8", "surrogatepass")).hexdigest())
        code = self.compiled.get(key)
        if code is None:
            code = compile(msg.get("source", ""), msg.get("filename") or "solution.py", "exec", dont_inherit=True)
            if len(self.compiled) > 64:
                self.compiled.clear()
            self.compiled[key] = code
        return code

    def run(self, msg, fds) -> None:
        mode = msg["mode"]
        limits = msg["limits"]
        profile = (self.config.get("seccomp") or {}).get(msg.get("profile") or "noproc")
        solution = self._code(msg) if mode in ("stdio", "function") else None
        traced = mode == "exec" and self.ptrace_ok
        confine = msg.get("landlock")
        ruleset = (self.confinement.for_box(confine["abi"], confine["hide"], confine["writable"], msg["box"])
                   if confine else -1)
        go_r = go_w = ready_r = ready_w = None
        if self.perf.available or traced:
            go_r, go_w = os.pipe()
        if traced:
            ready_r, ready_w = os.pipe()
        t0 = time.monotonic()
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                if go_w is not None:
                    os.close(go_w)
                if ready_w is not None:
                    # a fork of the (non-dumpable) launcher: let it attach, then say so
                    os.close(ready_r)
                    _prctl(PR_SET_DUMPABLE, 1)
                    os.write(ready_w, b"r")
                    os.close(ready_w)
                code = self._child(msg, fds, solution, profile, go_r, ruleset)
            except BaseException:
                code = 71
                try:
                    import traceback
                    os.write(2, ("orps sandbox error:\n" + traceback.format_exc()[-3000:]).encode())
                except BaseException:
                    pass
            finally:
                os._exit(code)
        if msg.get("report_start"):  # a function test's evaluator needs the pid before the end
            self.send({"type": "started", "pid": pid})
        counter = None
        if go_r is not None:
            os.close(go_r)
            counter = self.perf.open_for(pid)
            if traced:
                os.close(ready_w)
                os.read(ready_r, 1)
                os.close(ready_r)
                if _ptrace(PTRACE_SEIZE, pid, PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL) != 0:
                    traced = self.ptrace_ok = False  # not permitted here: wait4's figure only
            os.write(go_w, b"g")
            os.close(go_w)
        io_fds = fds[1:3]  # kept to tell output (not temporary space) from files the program wrote
        for fd in fds[3:]:  # the child holds them now
            try:
                os.close(fd)
            except OSError:
                pass
        del fds[3:]
        res = self._watch(pid, limits, t0, msg.get("scratch") or [], int(msg.get("temp_baseline") or 0), io_fds,
                          traced)
        res["instructions"] = PerfCounter.read(counter)
        self.send({"type": "exited", "pid": pid, **res})

    def _child(self, msg, fds, solution, profile, go_r, ruleset: int = -1) -> int:
        if ruleset >= 0:  # first: nothing of the test runs before it is confined
            restrict_self(ruleset)
        signal.set_wakeup_fd(-1)
        os.setsid()
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        mode = msg["mode"]
        _reset_signals(ignore_pipe=mode in ("stdio", "function"))  # as a fresh interpreter has it
        if go_r is not None:  # wait until the launcher has attached its counters
            os.read(go_r, 1)
            os.close(go_r)
        # fds: stdin, stdout, stderr[, channel from the evaluator, channel to the evaluator]
        for target, fd in enumerate(fds):
            if fd != target:
                os.dup2(fd, target)
        os.closerange(len(fds), 1 << 16)
        box = msg["box"]
        os.chdir(box)
        os.environ.clear()
        os.environ.update({"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": box, "TMPDIR": "/tmp",
                           "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"})
        if mode in ("stdio", "function"):
            _std_streams(msg.get("filename") or "solution.py", box)
            import atexit
            import random
            atexit._clear()
            random.seed()
            if msg.get("module_name"):
                sys.modules.pop(msg["module_name"], None)
        # sanitizers reserve terabytes of address space: only the resident-memory watch applies
        apply_limits(msg["limits"], stack=True, address_space=not msg.get("sanitized"))
        if msg.get("sanitized"):
            os.environ["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0:exitcode=86"
            os.environ["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1:exitcode=86"
        if profile is not None:
            install_filter(profile, os.getpid())
        if mode == "exec":  # a compiled program or another interpreter, from the box
            argv = msg["argv"]
            os.execve(argv[0] if "/" in argv[0] else shutil.which(argv[0]) or argv[0], argv, dict(os.environ))
        if mode == "function":
            harness = sys.modules[HARNESS]
            harness.serve_candidate(solution, msg.get("namespace_name") or "solution", msg.get("module_name"), 3, 4)
            for stream in (sys.stdout, sys.stderr):  # the test is over: threads it left do not matter
                try:
                    stream.flush()
                except BaseException:
                    pass
            return 0
        if mode == "command":
            _exec_command(msg["argv"], msg.get("env"))
        return _run_stdio_child(solution, msg.get("filename") or "solution.py")

    def _watch(self, pid: int, limits: dict, t0: float, scratch, temp_baseline: int, io_fds=(),
               traced: bool = False) -> dict:
        """Wait for the candidate under the wall-clock, CPU and memory limits; measure it.

        `traced`: an exec'd program, stopped at its exit (ptrace) so that its own peak memory can
        be read; wait4's figure also covers the interpreter it was forked from."""
        import select
        wall = float(limits["wall_s"])
        cpu_limit = float(limits["cpu_s"])
        mem_limit = int(limits["memory_mb"]) << 20
        deadline = t0 + wall
        timed_out = mem_killed = cpu_killed = False
        peak_total = peak_temp = 0
        exit_peak = None
        cpu_at_exec = cpu_at_exit = None  # the program's own CPU time (ns), without its set-up
        status = rusage = None
        poller = select.poll()
        pidfd = None
        if traced:
            poller.register(self.sigchld_r, select.POLLIN)
        else:
            try:
                pidfd = os.pidfd_open(pid)
                poller.register(pidfd, select.POLLIN)
            except (AttributeError, OSError):
                pidfd = None
        tick = 0.002

        def reap(block: bool) -> bool:
            """Handle the tracee's stops; True once it has exited (status and rusage set)."""
            nonlocal status, rusage, exit_peak, cpu_at_exec, cpu_at_exit
            while True:
                wpid, st, ru = os.wait4(pid, (0 if block else os.WNOHANG) | _WALL)
                if wpid == 0:
                    return False
                if os.WIFSTOPPED(st):
                    event, sig = st >> 16, os.WSTOPSIG(st)
                    if event == PTRACE_EVENT_EXIT:
                        exit_peak = _hwm_kb(pid)
                        cpu_at_exit = _schedstat_ns(pid)
                        sig = 0
                    elif event == PTRACE_EVENT_EXEC:
                        cpu_at_exec = _schedstat_ns(pid)
                        sig = 0
                    elif event == PTRACE_EVENT_STOP:
                        sig = 0
                    _ptrace(PTRACE_CONT, pid, sig)
                    continue
                status, rusage = st, ru
                return True

        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    timed_out = True
                    break
                events = poller.poll(min(left, tick) * 1000)
                if traced:
                    _drain(self.sigchld_r)
                    if reap(False):
                        break
                elif pidfd is not None:
                    if events:
                        break
                elif os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                    break
                tick = min(tick * 1.5, 0.01)
                rss = _rss_bytes(pid)
                temp = max(0, _used_bytes(scratch) - temp_baseline - _sizes(io_fds)) if scratch else 0
                peak_temp = max(peak_temp, temp)
                if not traced or cpu_at_exec is not None:  # before exec it is the interpreter's memory
                    peak_total = max(peak_total, rss + temp)
                if rss + temp > mem_limit:
                    mem_killed = True
                    break
                if _cpu_seconds(pid) > cpu_limit + 0.02:
                    cpu_killed = True
                    break
            if status is None and (timed_out or mem_killed or cpu_killed):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            if status is None:
                if traced:
                    reap(True)
                else:
                    _, status, rusage = os.wait4(pid, 0)
        finally:
            if pidfd is not None:
                os.close(pidfd)
        max_rss = rusage.ru_maxrss
        cpu_s = rusage.ru_utime + rusage.ru_stime
        if traced and cpu_at_exec is not None and cpu_at_exit is not None and cpu_at_exit >= cpu_at_exec:
            cpu_s = (cpu_at_exit - cpu_at_exec) / 1e9
        if traced:
            # the program's own high-water mark at its exit (exec reset it); without one (killed),
            # the sampled resident memory
            max_rss = exit_peak if exit_peak else (peak_total // 1024 or None)
            peak_total = min(peak_total, (max_rss or 0) * 1024 + peak_temp) if max_rss else peak_total
        if scratch:
            temp = max(0, _used_bytes(scratch) - temp_baseline - _sizes(io_fds))
            peak_temp = max(peak_temp, temp)
        return {
            "wall_s": time.monotonic() - t0,
            "cpu_s": cpu_s,
            "max_rss_kb": max_rss,
            "peak_total_kb": max(peak_total, (max_rss or 0) * 1024 + peak_temp) // 1024,
            "temp_peak_kb": peak_temp // 1024,
            "timed_out": timed_out,
            "mem_killed": mem_killed,
            "cpu_killed": cpu_killed,
            "exit_code": os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        }


def launcher_main() -> int:
    import gc
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2,
                signal.SIGALRM, signal.SIGPIPE, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_IGN)
    _prctl(PR_SET_DUMPABLE, 0)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    for name in _PRELOAD:
        try:
            __import__(name)
        except ImportError:
            pass
    # what every candidate inherits stays out of their collector's way: fewer copied pages per fork
    gc.collect()
    gc.freeze()
    sock = socket.socket(fileno=0)
    return Launcher(sock).loop()


# --------------------------------------------------------------------------- the runner

class LauncherLost(Exception):
    pass


class Runner:
    def __init__(self, work_root: str, scratch: list[str]):
        self.work_root = work_root
        self.scratch = [d for d in scratch if os.path.isdir(d)]
        self.ns_init = os.getpid() == 1
        self.jobs = 0
        self.out = 1
        self.seccomp: dict | None = None
        self.seccomp_reason = ""
        self.launcher_pid: int | None = None
        self.launcher_sock: socket.socket | None = None
        self.launcher_info: dict = {}
        self._lbuf = bytearray()
        self.limits0 = {r: resource.getrlimit(r) for r in (resource.RLIMIT_AS, resource.RLIMIT_NOFILE,
                                                         resource.RLIMIT_CPU, resource.RLIMIT_FSIZE)}
        self.damaged: str | None = None
        self.baseline = 0
        self.binaries: dict = {}
        self.mounts = _mount_points()
        self.landlock = landlock_abi()

    def send(self, obj):
        _write_all(self.out, encode_frame(obj))

    # ---- the launcher ----------------------------------------------------------------------

    def start_launcher(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        devnull = os.open(os.devnull, os.O_RDWR)
        pid = os.fork()
        if pid == 0:
            try:
                os.dup2(child.fileno(), 0)
                os.dup2(devnull, 1)
                os.closerange(3, 1 << 16)
                os.execv(sys.executable, [sys.executable, "-I", "-c", BOOTSTRAP, "--launcher"])
            finally:
                os._exit(127)
        os.close(devnull)
        child.close()
        self.launcher_pid, self.launcher_sock = pid, parent
        self._lbuf = bytearray()
        parent.sendall(_HEADER.pack(len(BUNDLE)) + BUNDLE)
        parent.sendall(encode_frame({"op": "config", "seccomp": self.seccomp}))
        self.launcher_info = self._launcher_msg(30.0)

    def stop_launcher(self) -> None:
        if self.launcher_pid is not None:
            try:
                os.kill(self.launcher_pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                os.waitpid(self.launcher_pid, 0)
            except ChildProcessError:
                pass
        if self.launcher_sock is not None:
            self.launcher_sock.close()
        self.launcher_pid = self.launcher_sock = None

    def _launcher_msg(self, timeout: float) -> dict:
        import select
        deadline = time.monotonic() + timeout
        while True:
            if len(self._lbuf) >= 4:
                (size,) = _HEADER.unpack_from(self._lbuf)
                if len(self._lbuf) >= 4 + size:
                    data = bytes(self._lbuf[4:4 + size])
                    del self._lbuf[:4 + size]
                    return json.loads(data.decode("utf-8", "surrogateescape"))
            left = deadline - time.monotonic()
            if left <= 0:
                raise LauncherLost("the launcher did not answer in time")
            ready, _, _ = select.select([self.launcher_sock], [], [], left)
            if not ready:
                continue
            chunk = self.launcher_sock.recv(1 << 20)
            if not chunk:
                raise LauncherLost("the launcher ended")
            self._lbuf += chunk

    # ---- helpers ---------------------------------------------------------------------------

    def _landlock(self) -> dict | None:
        if not self.landlock:
            return None
        return {"abi": self.landlock, "hide": self.work_root, "writable": list(self.scratch)}

    def _tmpfile(self, content: bytes = b"") -> int:
        """A nameless file (no path leads to it) for a test's stdin, stdout or stderr."""
        try:
            fd = os.open(self.work_root, os.O_TMPFILE | os.O_RDWR, 0o600)
        except (AttributeError, OSError):
            fd, path = _mkstemp(self.work_root)
            os.unlink(path)
        if content:
            _write_all(fd, content)
            os.lseek(fd, 0, os.SEEK_SET)
        return fd

    def _sweep(self, keep: set[int], candidate: int | None) -> int:
        """Kill every process of the test (all but the runner and the launcher)."""
        found = 0
        if self.ns_init:
            for name in os.listdir("/proc"):
                if name.isdigit():
                    pid = int(name)
                    if pid != 1 and pid not in keep:
                        found += 1
                        try:
                            os.kill(pid, signal.SIGKILL)
                        except OSError:
                            pass
        elif candidate is not None:
            try:
                os.killpg(candidate, signal.SIGKILL)
                found += 1
            except OSError:
                pass
        deadline = time.monotonic() + 2.0
        while True:  # reap what was re-parented to us
            try:
                wpid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if wpid in keep:
                self.launcher_pid = None
            if wpid == 0:
                if not self.ns_init or not _others(keep):
                    break
                if time.monotonic() > deadline:
                    self.damaged = "processes of a test could not be killed"
                    break
                time.sleep(0.001)
        return found

    def _wipe(self) -> str | None:
        """Empty every writable place; returns why the box could not be made clean, if so.

        Read-only mounts a mode asked for (a repository bound at its host path, which may lie
        under /tmp) stay; everything around them goes."""
        for root in [self.work_root, *self.scratch]:
            try:
                left = _clear(root, self.mounts)
            except OSError as exc:
                return f"cannot empty {root}: {exc.strerror}"
            if left:
                return f"{root} could not be emptied ({left} entries left)"
        for r, value in self.limits0.items():
            if resource.getrlimit(r) != value:
                return "the runner's resource limits were changed"
        return None

    # ---- one test --------------------------------------------------------------------------

    def run_once(self, job, test, limits, codes, solution_name):
        mode = job["mode"]
        box = _mkdtemp(self.work_root, "box-")
        if job.get("copy_from"):
            shutil.rmtree(box)
            shutil.copytree(job["copy_from"], box, symlinks=True)
        if mode != "command":
            with open(os.path.join(box, solution_name), "w", encoding="utf-8", errors="surrogateescape") as fh:
                fh.write(job.get("source", ""))
        _write_files(box, job.get("files") or {})
        if job.get("_binary") is not None:  # a compiled program, built once for the whole job
            path = os.path.join(box, job["_binary_name"])
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o755)
            _write_all(fd, job["_binary"])
            os.close(fd)
        stdin_fd = self._tmpfile((test.get("input") or "").encode("utf-8", "surrogateescape"))
        stdout_fd = self._tmpfile()
        stderr_fd = self._tmpfile()
        fds = [stdin_fd, stdout_fd, stderr_fd]
        ours: list[int] = []
        eval_pid = None
        result_r = None
        if mode == "function":
            c_in_r, c_in_w = os.pipe()
            c_out_r, c_out_w = os.pipe()
            fds += [c_in_r, c_out_w]
            ours += [c_in_w, c_out_r]
        msg = {"op": "run", "mode": mode, "limits": limits, "box": box,
               "source": job.get("source", "") if mode in ("stdio", "function") else "",
               "filename": solution_name, "module_name": job.get("module_name"),
               "namespace_name": job.get("namespace_name"), "argv": codes.get("argv"), "env": job.get("env"),
               "profile": "proc" if mode == "command" else "noproc", "sanitized": bool(job.get("sanitize")),
               "scratch": [self.work_root, *self.scratch], "temp_baseline": _used_bytes([self.work_root, *self.scratch]),
               "landlock": self._landlock(), "report_start": mode == "function"}
        started = None
        res: dict = {}
        try:
            socket.send_fds(self.launcher_sock, [encode_frame(msg)], fds)
            for fd in fds[3:]:
                os.close(fd)
            if mode == "function":
                started = self._launcher_msg(10.0)
                if started.get("type") != "started":
                    raise LauncherLost(f"unexpected launcher message {str(started)[:100]}")
                result_r, result_w = os.pipe()
                eval_pid = self._fork_evaluator(job, codes, limits, c_out_r, c_in_w, result_w, box,
                                                started.get("pid"))
                os.close(result_w)
            for fd in ours:
                os.close(fd)
            ours = []
            backstop = float(limits["wall_s"]) + 2.0
            res = self._launcher_msg(backstop + (10.0 if started is None else 0.0))
            if res.get("type") != "exited":
                raise LauncherLost(f"unexpected launcher message {str(res)[:100]}")
            started = started or {"pid": res.get("pid")}
            res.pop("pid", None)
        except (LauncherLost, OSError) as exc:
            res = {"type": "exited", "lost": f"the sandbox's launcher was lost ({exc}); the program may have "
                                             "attacked it", "wall_s": 0.0, "cpu_s": 0.0, "max_rss_kb": 0}
            self.stop_launcher()
        finally:
            for fd in ours:
                os.close(fd)
        if mode == "function":
            res.update(self._collect_evaluator(eval_pid, result_r, float(limits["wall_s"]) + 1.0))
        keep = {self.launcher_pid} if self.launcher_pid else set()
        res["leftover_processes"] = self._sweep(keep, started.get("pid") if started else None)
        res["stdout"], res["stdout_bytes"], res["stdout_sha"] = _read_fd(stdout_fd, int(job.get("stdout_return_bytes", 1 << 24)))
        res["stderr"], res["stderr_bytes"], _ = _read_fd(stderr_fd, 8192, tail=True)
        if job.get("_collect_binary"):
            path = os.path.join(box, job["_collect_binary"])
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as fh:
                    res["binary"] = fh.read(256 << 20)
        if job.get("collect"):
            res["collected"] = {}
            for name in job["collect"]:
                path = os.path.normpath(os.path.join(box, name))
                if path.startswith(box + os.sep) and os.path.isfile(path) and not os.path.islink(path):
                    res["collected"][name] = _read_capped(path, 4 << 20)
        for fd in (stdin_fd, stdout_fd, stderr_fd):
            os.close(fd)
        why = self._wipe()
        if why:
            self.damaged = why
        if self.launcher_pid is None:
            try:
                self.start_launcher()
            except (LauncherLost, OSError) as exc:
                self.damaged = f"the launcher could not be restarted: {exc}"
        res.pop("type", None)
        return res

    def _fork_evaluator(self, job, codes, limits, from_cand: int, to_cand: int, result_w: int, box: str,
                        candidate: int | None) -> int:
        pid = os.fork()
        if pid != 0:
            return pid
        code = 0
        try:
            os.setsid()
            _prctl(PR_SET_DUMPABLE, 0)
            _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            _reset_signals(ignore_pipe=True)
            devnull = os.open(os.devnull, os.O_RDWR)
            for target, fd in enumerate([devnull, devnull, devnull, from_cand, to_cand, result_w]):
                os.dup2(fd, target)
            os.closerange(6, 1 << 16)
            # the test's own directory (its helper files, what it imports): the program can neither
            # read nor write it (Landlock); the working directory is the program's box, shared, so
            # files a test writes for the program to read are where it looks
            edir = _mkdtemp(self.work_root, "test-")
            _write_files(edir, job.get("files") or {})
            os.chdir(box)
            sys.path[0:0] = [edir]
            sys.path_importer_cache.clear()
            os.environ["ORPS_TEST_DIR"] = edir
            harness = sys.modules[HARNESS]
            for name, src in (("<test>", job["_test_source"]), ("<test setup>", job.get("setup") or "")):
                _register_source(name, src)
            wall = float(limits["wall_s"])
            apply_limits({"memory_mb": max(1024, int(limits["memory_mb"]) * 2), "cpu_s": wall + 1,
                          "output_bytes": 64 << 20}, stack=False)
            if self.seccomp is not None:
                install_filter(self.seccomp["noproc"], os.getpid())
            outcome, stats = harness.evaluate(codes["test"], codes["setup"], job.get("module_name"),
                                              job.get("entry_point"), 3, 4, candidate)
            for fd in (3, 4):
                os.close(fd)
            data = json.dumps({"outcome": outcome, "stats": stats}, ensure_ascii=True, default=str)
            _write_all(5, data.encode("ascii") + b"\n")
        except BaseException:
            code = 71
            try:
                import traceback
                _write_all(5, json.dumps({"harness_error": traceback.format_exc()[-2000:]}).encode() + b"\n")
            except BaseException:
                pass
        os._exit(code)

    def _collect_evaluator(self, pid, result_r, timeout: float) -> dict:
        import select
        out: dict = {}
        if pid is None:
            if result_r is not None:
                os.close(result_r)
            return {"finished": False, "harness_error": "the test was not started"}
        chunks = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                out["harness_error"] = "the test did not finish within the wall-clock limit"
                out["evaluator_timed_out"] = True
                break
            ready, _, _ = select.select([result_r], [], [], left)
            if not ready:
                continue
            chunk = os.read(result_r, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            if sum(map(len, chunks)) > (64 << 20):
                break
        os.close(result_r)
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
        _, status = os.waitpid(pid, 0)
        raw = b"".join(chunks)
        if raw and "harness_error" not in out:
            try:
                data = json.loads(raw.decode("ascii"))
            except ValueError:
                data = {"harness_error": "the test's result could not be read"}
            if "harness_error" in data:
                out["harness_error"] = data["harness_error"]
            else:
                out["finished"] = True
                out["outcome"] = data.get("outcome")
                out["stats"] = data.get("stats") or {}
        elif "harness_error" not in out:
            sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
            why = f"killed by signal {sig}" if sig else f"exit code {os.waitstatus_to_exitcode(status)}"
            out["harness_error"] = f"the test ended without a result ({why})"
        out.setdefault("finished", False)
        return out

    # ---- one job ---------------------------------------------------------------------------

    def run_job(self, job):
        self.jobs += 1
        job_id = job.get("job")
        mode = job["mode"]
        filename = job.get("filename") or "solution.py"
        harness = sys.modules[HARNESS]
        lang = job.get("language") or {}
        if lang.get("compile") or (lang and not lang.get("warm")):
            if not self._prepare_program(job, lang):
                self.send({"type": "done", "job": job_id})
                return
            mode = job["mode"] = "exec"
            codes_argv = lang["run"]
        elif mode != "command":
            try:
                compile(job.get("source", ""), filename, "exec", dont_inherit=True)
            except (SyntaxError, ValueError) as exc:
                self.send({"type": "compile_error", "job": job_id, "error": {
                    "type": type(exc).__name__, "message": str(exc.msg if isinstance(exc, SyntaxError) else exc),
                    "line": getattr(exc, "lineno", None), "offset": getattr(exc, "offset", None),
                    "text": (getattr(exc, "text", None) or "").rstrip("\n")}})
                self.send({"type": "done", "job": job_id})
                return
        setup_code = None
        if job.get("setup"):
            try:
                setup_code = harness.compile_test(job["setup"], "<test setup>")
            except SyntaxError as exc:
                self.send({"type": "setup_error", "job": job_id, "error": {
                    "type": "SyntaxError", "message": f"test setup does not compile: {exc}"}})
                self.send({"type": "done", "job": job_id})
                return
        repeat = max(1, int(job.get("repeat", 1)))
        start = int(job.get("start", 0))
        for index, test in enumerate(job["tests"]):
            if index < start:
                continue
            limits = test.get("limits") or job["limits"]
            codes = {"setup": setup_code, "test": None, "argv": test.get("argv") or job.get("argv")}
            if mode == "exec":  # the language's run command, then the test's own arguments (a checker's files)
                codes["argv"] = list(codes_argv) + list(test.get("argv") or [])
            if mode == "function":
                try:
                    codes["test"] = harness.compile_test(test["code"], "<test>")
                except SyntaxError as exc:
                    self.send({"type": "test", "job": job_id, "index": index, "runs": [],
                               "test_error": f"the test does not compile: {exc}"})
                    continue
                job["_test_source"] = test["code"]
            runs = []
            for attempt in range(repeat):
                res = self.run_once(job, test, limits, codes, filename)
                res["index"] = index
                if attempt:
                    res.pop("stdout", None)
                runs.append(res)
                if self.damaged or not _passed_run(mode, res):
                    break
            self.send({"type": "test", "job": job_id, "index": index, "runs": runs})
            if self.damaged:
                self.send({"type": "damaged", "job": job_id, "index": index, "reason": self.damaged})
                return
            if job.get("stop_on_failure") and runs and not _passed_run(mode, runs[-1]):
                break
        self.send({"type": "done", "job": job_id})

    def _prepare_program(self, job, lang) -> bool:
        """Build a compiled program once (cached by language, flags and source); False on CE."""
        job_id = job.get("job")
        job["filename"] = lang["source"]
        if not lang.get("compile"):
            return True  # an interpreter started per test (PyPy): nothing to build
        command = lang["compile"]
        key = hashlib.sha256(json.dumps([command, job.get("source", "")]).encode("utf-8", "surrogatepass")).hexdigest()
        if job.get("binary"):
            self.binaries[key] = ("ok", base64.b64decode(job["binary"]), 0.0)
        cached = self.binaries.get(key)
        if cached is None:
            build = {"mode": "command", "files": {lang["source"]: job.get("source", "")},
                     "stdout_return_bytes": 1 << 16, "_collect_binary": lang["binary"]}
            limits = job.get("compile_limits") or {"cpu_s": 30, "wall_s": 60, "memory_mb": 2048,
                                                   "output_bytes": 256 << 20}
            res = self.run_once(build, {"input": ""}, limits, {"argv": command}, lang["source"])
            seconds = res.get("wall_s", 0.0)
            if res.get("exit_code") == 0 and not res.get("signal") and res.get("binary"):
                cached = ("ok", res["binary"], seconds)
            else:
                why = (res.get("stderr") or "") + (res.get("stdout") or "")
                if res.get("timed_out") or res.get("cpu_killed"):
                    why = f"the compiler exceeded its time limit ({limits['cpu_s']}s)\n" + why
                elif res.get("mem_killed"):
                    why = f"the compiler exceeded its memory limit ({limits['memory_mb']} MiB)\n" + why
                elif res.get("lost"):
                    why = res["lost"]
                cached = ("ce", why.strip() or f"the compiler failed (exit code {res.get('exit_code')})", seconds)
            if len(self.binaries) > 32:
                self.binaries.pop(next(iter(self.binaries)))
            self.binaries[key] = cached
            hit = False
        else:
            hit = True
        state, data, seconds = cached
        info = {"type": "compiled", "job": job_id, "key": key, "ok": state == "ok", "seconds": seconds,
                "cached": hit}
        if state == "ok" and job.get("return_binary") and not hit and len(data) <= (32 << 20):
            info["binary"] = base64.b64encode(data).decode("ascii")
        self.send(info)
        if state != "ok":
            self.send({"type": "compile_error", "job": job_id, "error": {"type": "CompileError", "message": data,
                                                                          "compiler": True}})
            return False
        job["_binary"], job["_binary_name"] = data, lang["binary"]
        return True

    def probe(self) -> str:
        """Check that the filter really refuses a new process: 'active', or why not."""
        if self.seccomp is None:
            return "unavailable: " + (self.seccomp_reason or "no filter was sent")
        job = {"mode": "stdio", "source": "import os\nos.fork()\nprint('forked')\n", "files": {},
               "limits": {"cpu_s": 2, "wall_s": 5, "memory_mb": 256, "output_bytes": 1 << 16}}
        res = self.run_once(job, {"input": ""}, job["limits"], {}, "solution.py")
        if res.get("signal") == signal.SIGSYS:
            return "active"
        return "not enforced: " + (res.get("stderr") or f"exit {res.get('exit_code')}")[-300:]


def _others(keep: set[int]) -> bool:
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != 1 and int(name) not in keep:
            return True
    return False


def _mount_points() -> set[str]:
    points = set()
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                fields = line.split()
                if len(fields) > 4:
                    points.add(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4]))
    except OSError:
        pass
    return points


def _clear(root: str, mounts: set[str]) -> int:
    """Remove everything under `root` but mount points (and the directories leading to them);
    returns how many entries that should have gone are left."""
    left = 0
    for entry in list(os.scandir(root)):
        path = entry.path
        if path in mounts:
            continue
        if any(m.startswith(path + "/") for m in mounts):
            left += _clear(path, mounts)
            continue
        _remove(path)
        if os.path.lexists(path):
            left += 1
    return left


def _remove(path: str) -> None:
    def fix(func, p, _exc):
        try:
            os.chmod(os.path.dirname(p), 0o700)
            os.chmod(p, 0o700)
        except OSError:
            pass
        try:
            func(p)
        except OSError:
            pass
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            for root, dirs, _files in os.walk(path):  # directories the program made unreadable
                for d in dirs:
                    try:
                        os.chmod(os.path.join(root, d), 0o700)
                    except OSError:
                        pass
            shutil.rmtree(path, onerror=fix)
        else:
            os.unlink(path)
    except OSError:
        try:
            os.chmod(os.path.dirname(path), 0o700)
            os.unlink(path)
        except OSError:
            pass


def _mkstemp(root: str):
    for _ in range(100):
        path = os.path.join(root, "." + os.urandom(8).hex())
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600), path
        except FileExistsError:
            continue
    raise OSError("no temporary file name is free")


def _mkdtemp(root: str, prefix: str) -> str:
    for _ in range(100):
        path = os.path.join(root, prefix + os.urandom(8).hex())
        try:
            os.mkdir(path, 0o700)
            return path
        except FileExistsError:
            continue
    raise OSError("no directory name is free")


def _write_files(root: str, files: dict) -> None:
    for name, content in files.items():
        path = os.path.normpath(os.path.join(root, name))
        if not path.startswith(root + os.sep):
            raise ValueError(f"file path escapes the work dir: {name!r}")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8", errors="surrogateescape") as fh:
            fh.write(content)


def _passed_run(mode, res) -> bool:
    if res.get("lost") or res.get("timed_out") or res.get("signal") or res.get("exit_code") \
            or res.get("mem_killed") or res.get("cpu_killed"):
        return False
    if mode == "function":
        return bool(res.get("finished")) and res.get("outcome") is None
    return True


def _register_source(filename, source):
    import linecache
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)


def _read_fd(fd: int, cap: int, tail: bool = False):
    size = os.fstat(fd).st_size
    digest = hashlib.sha256()
    offset = 0
    while offset < size:  # the whole output is hashed: repeated runs must print the same
        chunk = os.pread(fd, 1 << 20, offset)
        if not chunk:
            break
        digest.update(chunk)
        offset += len(chunk)
    start = max(0, size - cap) if tail else 0
    data = os.pread(fd, min(cap, size), start)
    return data.decode("utf-8", errors="replace"), size, digest.hexdigest()


def _read_capped(path, cap):
    try:
        with open(path, "rb") as fh:
            return fh.read(cap).decode("utf-8", errors="replace")
    except OSError:
        return ""


_PRELOAD = ("collections", "itertools", "functools", "heapq", "bisect", "math", "re", "string",
            "typing", "random", "fractions", "decimal", "dataclasses", "copy", "operator",
            "statistics", "datetime", "array", "hashlib", "io", "traceback", "linecache", "enum",
            "abc", "numbers", "textwrap", "unicodedata", "select", "threading", "atexit", "json",
            "base64", "ctypes", "importlib.util")


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--launcher" in argv:
        return launcher_main()
    work_root = "/work"
    scratch: list[str] = []
    while argv:
        arg = argv.pop(0)
        if arg == "--work":
            work_root = argv.pop(0)
        elif arg == "--scratch":
            scratch.append(argv.pop(0))
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2,
                signal.SIGALRM, signal.SIGPIPE, signal.SIGQUIT, signal.SIGTSTP, signal.SIGTTIN,
                signal.SIGTTOU):
        signal.signal(sig, signal.SIG_IGN)
    _prctl(PR_SET_DUMPABLE, 0)
    subreaper = _prctl(PR_SET_CHILD_SUBREAPER, 1)
    for name in _PRELOAD:
        try:
            __import__(name)
        except ImportError:
            pass
    os.makedirs(work_root, exist_ok=True)
    runner = Runner(work_root, scratch)
    reader = FrameReader(lambda: os.read(0, 1 << 20))
    while True:
        try:
            msg = reader.next()
        except ValueError as exc:
            runner.send({"type": "fatal", "error": f"bad frame: {exc}"})
            return 2
        if msg is None:
            runner.stop_launcher()
            return 0
        op = msg.get("op")
        if op == "hello":
            runner.seccomp = msg.get("seccomp")
            runner.seccomp_reason = msg.get("seccomp_reason") or ""
            for profile in (runner.seccomp or {}).values():
                _prepared(profile)
            try:
                runner.start_launcher()
                runner.baseline = _used_bytes([runner.work_root, *runner.scratch])
                seccomp_state = runner.probe()
            except (LauncherLost, OSError) as exc:
                runner.send({"type": "fatal", "error": f"the launcher did not start: {exc}"})
                return 3
            info = runner.launcher_info
            runner.send({"type": "hello", "protocol": PROTOCOL, "python": sys.version.split()[0],
                         "pid": os.getpid(), "uid": os.getuid(), "ns_init": runner.ns_init,
                         "subreaper": subreaper, "perf": info.get("perf", False),
                         "perf_reason": info.get("perf_reason", ""), "seccomp": seccomp_state,
                         "landlock": runner.landlock,
                         "scratch": runner.scratch, "damaged": runner.damaged})
            if runner.damaged:
                return 4
        elif op == "run":
            try:
                runner.run_job(msg)
            except Exception as exc:  # a runner bug must surface as an error, never as a pass
                import traceback
                runner.send({"type": "fatal", "job": msg.get("job"),
                             "error": f"runner failure: {type(exc).__name__}: {exc}",
                             "traceback": traceback.format_exc()[-4000:]})
                return 3
            if runner.damaged:
                return 4
        elif op == "exit":
            runner.stop_launcher()
            return 0
        else:
            runner.send({"type": "fatal", "error": f"unknown op {op!r}"})


BUNDLE = b""

# Sent as the bootstrap: reads the bundle of modules as one frame from fd 0 (unbuffered, so no
# later frame is swallowed), loads them and runs the runner (or, with --launcher, the launcher).
BOOTSTRAP = """import json, os, struct, sys, types
def _read(n):
    b = b''
    while len(b) < n:
        c = os.read(0, n - len(b))
        if not c:
            sys.exit(1)
        b += c
    return b
_raw = _read(struct.unpack('>I', _read(4))[0])
for _name, _src in json.loads(_raw.decode('utf-8'))['modules']:
    _m = types.ModuleType(_name)
    _m.__file__ = '<orps-' + _name + '>'
    sys.modules[_name] = _m
    exec(compile(_src, _m.__file__, 'exec'), _m.__dict__)
_m.BUNDLE = _raw
sys.exit(_m.main(sys.argv[1:]))
"""


if __name__ == "__main__":
    sys.exit(main())
