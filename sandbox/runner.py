"""The in-sandbox runner: receives jobs on stdin, runs each test in a forked child, answers on stdout.

This file is sent to the sandbox at start-up (it is not baked into the image), so the host and the
runner always speak the same protocol. It uses only the standard library and runs on Python >= 3.9.

Why a forked child of a warm interpreter: interpreter start-up costs ~10 ms per test, a fork ~1 ms.

Channel: frames of a 4-byte big-endian length and a UTF-8 JSON object, on the runner's own stdin
and stdout. A child never holds those descriptors: its stdin, stdout and stderr are files in a
per-test directory, and everything above fd 2 is closed, except (function tests) a result pipe.
The runner is made non-dumpable, so a same-uid child can neither open /proc/<runner>/fd/* nor
ptrace or read its memory. A child that kills or signals the runner ends the job with an error,
never with a pass: the host treats a lost runner as a failed test.

Function tests need the child itself to report that the test ran to the end (an `os._exit(0)` in
the candidate must not pass). The report is written by an audit hook that holds a per-test nonce
in its closure, and only when the harness frame itself raises the finish event. Audit hooks
cannot be removed, and what could reach the closure (gc's object graph, ctypes, /proc/self/mem)
is refused inside the child. Output written by the candidate is data; it is never parsed as a result.
What no in-process harness can rule out is a program that changes what the test computes (an
object whose __eq__ always says yes, a tracer that jumps over an assert): that fools the test, not
the result channel.
"""

from __future__ import annotations

import ast
import json
import os
import resource
import shutil
import signal
import struct
import sys
import time

PROTOCOL = 1
MAX_FRAME = 256 << 20
_HEADER = struct.Struct(">I")


# --------------------------------------------------------------------------- framing (shared)

def encode_frame(obj) -> bytes:
    data = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
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
        return json.loads(data.decode("utf-8"))

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


# --------------------------------------------------------------------------- kernel helpers

_libc = None


def _libc_handle():
    global _libc
    if _libc is None:
        import ctypes
        import ctypes.util
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return _libc


PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> bool:
    try:
        return _libc_handle().prctl(option, value, 0, 0, 0) == 0
    except Exception:
        return False


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


# --------------------------------------------------------------------------- assert rewriting

_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
        ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}


class _AssertRewriter(ast.NodeTransformer):
    """`assert L op R` -> evaluate both sides once, raise _OrpsAssertion(L, R, op, ...) on failure.

    Only single comparisons are rewritten; any other assert keeps Python's own semantics."""

    def __init__(self, source: str):
        self.source = source
        self.count = 0

    def visit_Assert(self, node: ast.Assert):
        test = node.test
        if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in _OPS):
            return node
        self.count += 1
        left_name, right_name = f"_orps_l{self.count}_", f"_orps_r{self.count}_"
        left_src = ast.get_source_segment(self.source, test.left) or ast.unparse(test.left)
        right_src = ast.get_source_segment(self.source, test.comparators[0]) or ast.unparse(test.comparators[0])
        stmts = [
            ast.Assign(targets=[ast.Name(left_name, ast.Store())], value=test.left),
            ast.Assign(targets=[ast.Name(right_name, ast.Store())], value=test.comparators[0]),
            ast.If(
                test=ast.UnaryOp(ast.Not(), ast.Compare(ast.Name(left_name, ast.Load()), test.ops,
                                                        [ast.Name(right_name, ast.Load())])),
                body=[ast.Raise(exc=ast.Call(
                    func=ast.Name("_OrpsAssertion", ast.Load()),
                    args=[ast.Name(left_name, ast.Load()), ast.Name(right_name, ast.Load()),
                          ast.Constant(_OPS[type(test.ops[0])]), ast.Constant(left_src),
                          ast.Constant(right_src), node.msg or ast.Constant(None)],
                    keywords=[]), cause=None)],
                orelse=[]),
        ]
        for stmt in stmts:
            ast.copy_location(stmt, node)
            ast.fix_missing_locations(stmt)
        return stmts


def compile_test(source: str, filename: str):
    tree = ast.parse(source, filename)
    tree = _AssertRewriter(source).visit(tree)
    ast.fix_missing_locations(tree)
    return compile(tree, filename, "exec")


class _OrpsAssertion(AssertionError):
    def __init__(self, left, right, op, left_src, right_src, msg):
        super().__init__(msg if msg is not None else f"{left_src} {op} {right_src}")
        self.left, self.right, self.op = left, right, op
        self.left_src, self.right_src, self.msg = left_src, right_src, msg


def _safe_repr(value, limit=600) -> str:
    try:
        text = repr(value)
    except BaseException as exc:  # a hostile __repr__ must not break reporting
        text = f"<unrepresentable {type(value).__name__}: {type(exc).__name__}>"
    if len(text) > limit:
        text = text[: limit // 2] + f" ...<{len(text) - limit} chars>... " + text[-limit // 2:]
    return text


# --------------------------------------------------------------------------- child side

# files written by the harness next to each test (outside the candidate's cwd)
_IO_NAMES = ("stdin", "stdout", "stderr")


def _child_common(job, test_dir, io_dir, limits, result_fd, go_fd, drop_to):
    os.setsid()
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM,
                signal.SIGXFSZ, signal.SIGXCPU, signal.SIGCHLD, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # as a fresh interpreter has it
    if go_fd is not None:  # wait until the parent has attached its counters
        os.read(go_fd, 1)
    if drop_to is not None:
        os.setgroups([])
        os.setgid(drop_to)
        os.setuid(drop_to)
    _prctl(PR_SET_DUMPABLE, 0)

    stdin = os.open(os.path.join(io_dir, "stdin"), os.O_RDONLY)
    stdout = os.open(os.path.join(io_dir, "stdout"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    stderr = os.open(os.path.join(io_dir, "stderr"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(stdin, 0)
    os.dup2(stdout, 1)
    os.dup2(stderr, 2)
    keep = 3
    if result_fd is not None:
        os.dup2(result_fd, keep)
        os.closerange(keep + 1, 1 << 16)
    else:
        os.closerange(3, 1 << 16)
    os.chdir(test_dir)

    import io
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8", errors="replace")
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", errors="replace",
                                  line_buffering=False)
    sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), encoding="utf-8",
                                  errors="backslashreplace", line_buffering=True)
    sys.__stdin__, sys.__stdout__, sys.__stderr__ = sys.stdin, sys.stdout, sys.stderr
    sys.argv = [job["filename"]]
    sys.path[0:0] = [test_dir]
    sys.path_importer_cache.clear()
    if job.get("module_name"):
        sys.modules.pop(job["module_name"], None)
    import random
    random.seed()

    mem = int(limits["memory_mb"]) << 20
    try:
        with open("/proc/self/statm") as fh:
            vsz = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        vsz = 0
    as_limit = vsz + mem
    resource.setrlimit(resource.RLIMIT_AS, (as_limit, as_limit))
    resource.setrlimit(resource.RLIMIT_STACK, (min(mem, 256 << 20), min(mem, 256 << 20)))
    cpu = max(1, int(limits["cpu_s"] + 0.999))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    out_cap = int(limits["output_bytes"])
    resource.setrlimit(resource.RLIMIT_FSIZE, (out_cap, out_cap))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if job.get("_nproc"):
        resource.setrlimit(resource.RLIMIT_NPROC, (job["_nproc"], job["_nproc"]))


def _tb_excerpt(exc, harness_file, limit=3000) -> str:
    import traceback
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != harness_file]
    try:
        prefix = os.getcwd() + os.sep
    except OSError:
        prefix = None
    for f in frames:  # files of the test dir by their own name, never a sandbox path
        if prefix and f.filename.startswith(prefix):
            f.filename = f.filename[len(prefix):]
    text = "".join(traceback.format_list(frames[-12:]))
    if isinstance(exc, _OrpsAssertion):
        text += f"AssertionError: {exc.args[0] if exc.args else ''}\n"
    else:
        text += "".join(traceback.format_exception_only(type(exc), exc))
    if len(text) > limit:
        text = "..." + text[-limit:]
    return "Traceback (most recent call last):\n" + text


def _describe(exc) -> dict:
    try:
        message = str(exc)
    except BaseException:
        message = "(unprintable)"
    if len(message) > 1000:
        message = message[:1000] + "..."
    info = {"type": type(exc).__name__, "message": message}
    if isinstance(exc, SystemExit):
        info["message"] = f"exit code {exc.code!r}"
    elif isinstance(exc, _OrpsAssertion):
        # convention: the side that calls something is what the code produced
        left_calls = any(isinstance(n, ast.Call) for n in ast.walk(ast.parse(exc.left_src, mode="eval")))
        right_calls = any(isinstance(n, ast.Call) for n in ast.walk(ast.parse(exc.right_src, mode="eval")))
        swap = right_calls and not left_calls
        actual, expected = (exc.right, exc.left) if swap else (exc.left, exc.right)
        info.update(type="AssertionError",
                    message=str(exc.msg)[:1000] if exc.msg is not None else f"{exc.left_src} {exc.op} {exc.right_src}",
                    actual=_safe_repr(actual), expected=_safe_repr(expected), op=exc.op,
                    actual_source=exc.right_src if swap else exc.left_src,
                    expected_source=exc.left_src if swap else exc.right_src)
    info["traceback"] = _tb_excerpt(exc, __file__ if "__file__" in globals() else "<orps-runner>")
    return info


def _install_guard(result_fd: int, nonce: str):
    """Audit hook: refuses introspection that could reach the nonce; writes the one result."""
    state = {"frame": None, "done": False}
    blocked_prefixes = ("ctypes.", "gc.get_")
    # Tracing stays allowed (real programs use it, and CPython runs audit hooks untraced), as do
    # frames: neither reaches this closure. What could (gc's object graph, raw memory) is refused.
    blocked = {"cpython.PyInterpreterState_Clear", "cpython._PySys_ClearAuditHooks"}
    getframe = sys._getframe
    write, dumps, encode = os.write, json.dumps, str.encode

    def hook(event, args):
        if event == "orps.finish":
            caller = getframe(1)
            if state["done"] or caller is not state["frame"]:
                raise RuntimeError("orps: forged finish refused")
            state["done"] = True
            write(result_fd, encode(dumps({"nonce": nonce, "outcome": args[0]}) + "\n", "utf-8"))
            return
        if event == "orps.arm":
            if state["frame"] is None:
                state["frame"] = getframe(1)
            return
        if event in blocked or event.startswith(blocked_prefixes):
            raise RuntimeError(f"orps sandbox: {event} is not allowed")
        if event == "open" and args and isinstance(args[0], (str, bytes)):
            path = os.fsdecode(args[0])
            if path.startswith("/proc/") and (path.endswith("/mem") or "/fd/" in path or path.endswith("/environ")):
                raise PermissionError(f"orps sandbox: {path} is not allowed")
        if event == "import" and args and args[0] in ("ctypes", "_ctypes", "cffi"):
            raise ImportError(f"orps sandbox: importing {args[0]} is not allowed")

    sys.addaudithook(hook)


def _run_function_child(job, test_code, setup_code, solution_code, nonce):
    # Everything used after candidate code has run is bound here first: the candidate may
    # rebind builtins, sys.audit or os attributes, and none of that may turn a failure into a pass.
    audit, run, base_exc, describe, flush = sys.audit, exec, BaseException, _describe, sys.stdout.flush
    for name in [m for m in sys.modules if m == "ctypes" or m.startswith(("ctypes.", "_ctypes"))]:
        del sys.modules[name]  # the runner used ctypes; a candidate must import it (and be refused)
    _install_guard(3, nonce)
    audit("orps.arm")
    outcome = None
    try:
        builtins_copy = dict(__builtins__ if isinstance(__builtins__, dict) else vars(__builtins__))
        if job.get("module_name"):
            ns = {"__name__": "__main__", "__builtins__": builtins_copy}
        else:
            ns = {"__name__": job.get("namespace_name") or "solution", "__builtins__": builtins_copy}
            run(solution_code, ns)
        ns["_OrpsAssertion"] = _OrpsAssertion
        if setup_code is not None:
            run(setup_code, ns)
        run(test_code, ns)
    except base_exc as exc:  # the test's own failure, reported as data
        outcome = {"type": "Exception", "message": "(the failure could not be described)"}
        try:
            outcome = describe(exc)
        except base_exc:
            pass
    try:
        flush()
    except base_exc:
        pass
    audit("orps.finish", outcome)


def _exec_command(job, argv):
    """Command mode: replace the child with the given program (e.g. python -m pytest)."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.getcwd(), "LANG": "C.UTF-8",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"}
    env.update(job.get("env") or {})
    os.execvpe(argv[0], argv, env)


def _run_stdio_child(solution_code) -> int:
    ns = {"__name__": "__main__", "__builtins__": __builtins__}
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
            sys.stderr.write(_tb_excerpt(exc, __file__ if "__file__" in globals() else "<orps-runner>", 8000))
        except BaseException:
            pass
        code = 1
    try:
        sys.stdout.flush()
    except BaseException:
        code = code or 120
    try:
        sys.stderr.flush()
    except BaseException:
        pass
    return code


# --------------------------------------------------------------------------- runner side

def _count_processes(uid: int) -> int:
    count = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.stat(f"/proc/{name}").st_uid == uid:
                count += 1
        except OSError:
            pass
    return count


class Runner:
    def __init__(self, work_root: str, kill_all: bool, drop_to, nproc_extra: int = 0):
        self.work_root = work_root
        self.kill_all = kill_all
        self.drop_to = drop_to
        # RLIMIT_NPROC counts every process of the uid, so the cap is "what runs now + extra";
        # in a container the pids cgroup is the real cap and this stays off.
        uid = drop_to if drop_to is not None else os.getuid()
        self.nproc = _count_processes(uid) + nproc_extra if nproc_extra else 0
        self.perf = PerfCounter()
        self.jobs = 0
        self.out = 1

    def send(self, obj):
        data = encode_frame(obj)
        view = memoryview(data)
        while view:
            n = os.write(self.out, view)
            view = view[n:]

    # ---- one test -------------------------------------------------------------------------

    def _wait(self, pid: int, wall_s: float):
        """Wait for the child with a wall-clock deadline; returns (status, rusage, timed_out)."""
        deadline = time.monotonic() + wall_s
        timed_out = False
        pidfd = None
        try:
            pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            pidfd = None
        try:
            if pidfd is not None:
                import select
                poller = select.poll()
                poller.register(pidfd, select.POLLIN)
                while True:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        timed_out = True
                        break
                    if poller.poll(left * 1000):
                        break
            else:
                delay = 0.0005
                while True:
                    wpid, status, rusage = os.wait4(pid, os.WNOHANG)
                    if wpid == pid:
                        return status, rusage, False
                    if time.monotonic() >= deadline:
                        timed_out = True
                        break
                    time.sleep(delay)
                    delay = min(delay * 2, 0.01)
            if timed_out:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            _, status, rusage = os.wait4(pid, 0)
            return status, rusage, timed_out
        finally:
            if pidfd is not None:
                os.close(pidfd)

    def _sweep(self, pid: int) -> int:
        """Kill whatever the candidate left behind; return how many processes were found."""
        found = 0
        if self.kill_all:
            me = os.getpid()
            for name in os.listdir("/proc"):
                if name.isdigit() and int(name) not in (1, me):
                    found += 1
            try:
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
        else:
            try:
                os.killpg(pid, signal.SIGKILL)
                found += 1
            except OSError:
                pass
        while True:  # reap everything re-parented to us (we are a subreaper)
            try:
                wpid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if wpid == 0:
                if not self.kill_all:
                    break
                time.sleep(0.001)
                continue
        return found

    def run_once(self, job, index, codes, test_dir, io_dir):
        limits = job["tests"][index].get("limits") or job["limits"]
        mode = job["mode"]
        result_r = result_w = None
        if mode == "function":
            result_r, result_w = os.pipe()
        go_r = go_w = None
        if self.perf.available:
            go_r, go_w = os.pipe()
        nonce = os.urandom(16).hex()
        t0 = time.monotonic()
        pid = os.fork()
        if pid == 0:  # ------------------------------------------------------------ child
            _exit, base_exc = os._exit, BaseException
            code = 70
            try:
                if result_r is not None:
                    os.close(result_r)
                if go_w is not None:
                    os.close(go_w)
                _child_common(job, test_dir, io_dir, limits, result_w, go_r, self.drop_to)
                if mode == "function":
                    _run_function_child(job, codes["test"], codes["setup"], codes["solution"], nonce)
                    code = 0
                elif mode == "command":
                    _exec_command(job, codes["test_argv"])
                else:
                    code = _run_stdio_child(codes["solution"])
            except base_exc:
                code = 71
                try:  # the harness's own failure: say why on the test's stderr
                    import traceback
                    os.write(2, ("orps harness error:\n" + traceback.format_exc()[-3000:]).encode())
                except base_exc:
                    pass
            finally:
                _exit(code)
        # ---------------------------------------------------------------------------- parent
        counter = None
        if go_r is not None:
            os.close(go_r)
            counter = self.perf.open_for(pid)
            os.write(go_w, b"g")
            os.close(go_w)
        if result_w is not None:
            os.close(result_w)
        status, rusage, timed_out = self._wait(pid, float(limits["wall_s"]))
        wall = time.monotonic() - t0
        instructions = PerfCounter.read(counter)
        leftovers = self._sweep(pid)
        raw = b""
        if result_r is not None:
            os.set_blocking(result_r, False)
            chunks = []
            total = 0
            while total < (1 << 20):
                try:
                    chunk = os.read(result_r, 65536)
                except BlockingIOError:
                    break
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
            os.close(result_r)
            raw = b"".join(chunks)
        res = {
            "index": index,
            "wall_s": wall,
            "cpu_s": rusage.ru_utime + rusage.ru_stime,
            "max_rss_kb": rusage.ru_maxrss,
            "instructions": instructions,
            "timed_out": timed_out,
            "exit_code": os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "leftover_processes": leftovers,
        }
        if mode == "function":
            res.update(self._parse_result(raw, nonce))
        return res

    @staticmethod
    def _parse_result(raw: bytes, nonce: str) -> dict:
        if not raw:
            return {"finished": False}
        lines = raw.split(b"\n")
        if len(lines) != 2 or lines[1] != b"":
            return {"finished": False, "tampered": True}
        try:
            msg = json.loads(lines[0].decode("utf-8"))
        except ValueError:
            return {"finished": False, "tampered": True}
        if not isinstance(msg, dict) or msg.get("nonce") != nonce:
            return {"finished": False, "tampered": True}
        return {"finished": True, "outcome": msg.get("outcome")}

    # ---- one job --------------------------------------------------------------------------

    def run_job(self, job):
        self.jobs += 1
        if self.nproc:
            job["_nproc"] = self.nproc
        job_id = job.get("job")
        base = os.path.join(self.work_root, f"j{self.jobs}")
        os.makedirs(base, exist_ok=True)
        if self.drop_to is not None:
            os.chmod(base, 0o777)
        mode = job["mode"]
        filename = job.get("filename") or "solution.py"
        source = job.get("source", "")
        try:
            solution_code = None if mode == "command" else compile(source, filename, "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as exc:
            self.send({"type": "compile_error", "job": job_id, "error": {
                "type": type(exc).__name__, "message": str(exc.msg if isinstance(exc, SyntaxError) else exc),
                "line": getattr(exc, "lineno", None), "offset": getattr(exc, "offset", None),
                "text": (getattr(exc, "text", None) or "").rstrip("\n")}})
            self.send({"type": "done", "job": job_id})
            shutil.rmtree(base, ignore_errors=True)
            return
        setup_code = None
        if job.get("setup"):
            try:
                setup_code = compile_test(job["setup"], "<test setup>")
            except SyntaxError as exc:
                self.send({"type": "setup_error", "job": job_id, "error": {
                    "type": "SyntaxError", "message": f"test setup does not compile: {exc}"}})
                self.send({"type": "done", "job": job_id})
                shutil.rmtree(base, ignore_errors=True)
                return
        repeat = max(1, int(job.get("repeat", 1)))
        for index, test in enumerate(job["tests"]):
            codes = {"solution": solution_code, "setup": setup_code, "test": None,
                     "test_argv": test.get("argv") or job.get("argv")}
            if mode == "function":
                try:
                    codes["test"] = compile_test(test["code"], "<test>")
                except SyntaxError as exc:
                    self.send({"type": "test", "job": job_id, "index": index, "runs": [],
                               "test_error": f"the test does not compile: {exc}"})
                    continue
                _register_source("<test>", test["code"])
            runs = []
            for attempt in range(repeat):
                test_dir = os.path.join(base, f"t{index}_{attempt}")
                io_dir = os.path.join(base, f"io{index}_{attempt}")
                if job.get("copy_from"):  # command mode: a fresh copy of a (read-only) tree
                    shutil.copytree(job["copy_from"], test_dir, symlinks=True)
                else:
                    os.makedirs(test_dir)
                os.makedirs(io_dir)
                if mode != "command":
                    with open(os.path.join(test_dir, filename), "w", encoding="utf-8") as fh:
                        fh.write(source)
                for name, content in (job.get("files") or {}).items():
                    path = os.path.normpath(os.path.join(test_dir, name))
                    if not path.startswith(test_dir + os.sep):
                        raise ValueError(f"file path escapes the work dir: {name!r}")
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    with open(path, "w", encoding="utf-8") as fh:
                        fh.write(content)
                with open(os.path.join(io_dir, "stdin"), "w", encoding="utf-8") as fh:
                    fh.write(test.get("input") or "")
                if self.drop_to is not None:
                    for root, dirs, _files in os.walk(test_dir):
                        os.chmod(root, 0o777)
                    os.chmod(io_dir, 0o777)
                if mode != "command":
                    _register_source(filename, source)
                res = self.run_once(job, index, codes, test_dir, io_dir)
                if job.get("collect"):
                    res["collected"] = {}
                    for name in job["collect"]:
                        path = os.path.normpath(os.path.join(test_dir, name))
                        if path.startswith(test_dir + os.sep) and os.path.isfile(path) and not os.path.islink(path):
                            res["collected"][name] = _read_capped(path, 4 << 20)[0]
                res["stdout"], res["stdout_bytes"] = _read_capped(os.path.join(io_dir, "stdout"),
                                                                  int(job.get("stdout_return_bytes", 1 << 24)))
                res["stderr"], res["stderr_bytes"] = _read_capped(os.path.join(io_dir, "stderr"), 8192, tail=True)
                shutil.rmtree(test_dir, ignore_errors=True)
                shutil.rmtree(io_dir, ignore_errors=True)
                runs.append(res)
                if not _passed_run(mode, res):
                    break
            self.send({"type": "test", "job": job_id, "index": index, "runs": runs})
            if job.get("stop_on_failure") and runs and not _passed_run(mode, runs[-1]):
                break
        shutil.rmtree(base, ignore_errors=True)
        self.send({"type": "done", "job": job_id})


def _passed_run(mode, res) -> bool:
    if res.get("timed_out") or res.get("signal") or res.get("exit_code"):
        return False
    if mode == "function":
        return bool(res.get("finished")) and res.get("outcome") is None
    return True


def _register_source(filename, source):
    import linecache
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)


def _read_capped(path, cap, tail=False):
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            if tail and size > cap:
                fh.seek(size - cap)
            data = fh.read(cap)
    except OSError:
        return "", 0
    return data.decode("utf-8", errors="replace"), size


_PRELOAD = ("collections", "itertools", "functools", "heapq", "bisect", "math", "re", "string",
            "typing", "random", "fractions", "decimal", "dataclasses", "copy", "operator",
            "statistics", "datetime", "array", "hashlib", "io", "traceback", "linecache", "enum",
            "abc", "numbers", "textwrap", "unicodedata", "select")


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    work_root = "/work"
    kill_all = False
    drop_to = None
    nproc_extra = 0
    while argv:
        arg = argv.pop(0)
        if arg == "--work":
            work_root = argv.pop(0)
        elif arg == "--kill-all":
            kill_all = True
        elif arg == "--drop-to":
            drop_to = int(argv.pop(0))
        elif arg == "--nproc":
            nproc_extra = int(argv.pop(0))
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2,
                signal.SIGALRM, signal.SIGPIPE, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_IGN)
    _prctl(PR_SET_DUMPABLE, 0)
    subreaper = _prctl(PR_SET_CHILD_SUBREAPER, 1)
    for name in _PRELOAD:
        try:
            __import__(name)
        except ImportError:
            pass
    os.makedirs(work_root, exist_ok=True)
    runner = Runner(work_root, kill_all, drop_to, nproc_extra)
    reader = FrameReader(lambda: os.read(0, 1 << 20))
    while True:
        try:
            msg = reader.next()
        except ValueError as exc:
            runner.send({"type": "fatal", "error": f"bad frame: {exc}"})
            return 2
        if msg is None:
            return 0
        op = msg.get("op")
        if op == "hello":
            runner.send({"type": "hello", "protocol": PROTOCOL, "python": sys.version.split()[0],
                         "pid": os.getpid(), "uid": os.getuid(), "kill_all": kill_all,
                         "subreaper": subreaper, "perf": runner.perf.available,
                         "perf_reason": runner.perf.reason, "drop_to": drop_to})
        elif op == "run":
            try:
                runner.run_job(msg)
            except Exception as exc:  # a runner bug must surface as an error, never as a pass
                import traceback
                runner.send({"type": "fatal", "job": msg.get("job"),
                             "error": f"runner failure: {type(exc).__name__}: {exc}",
                             "traceback": traceback.format_exc()[-4000:]})
                return 3
        elif op == "exit":
            return 0
        else:
            runner.send({"type": "fatal", "error": f"unknown op {op!r}"})


# Sent as the bootstrap: reads the runner's source as one frame from fd 0 (unbuffered, so no
# later frame is swallowed) and runs it.
BOOTSTRAP = """import os, struct, sys
def _read(n):
    b = b''
    while len(b) < n:
        c = os.read(0, n - len(b))
        if not c:
            sys.exit(1)
        b += c
    return b
_src = _read(struct.unpack('>I', _read(4))[0])
_g = {'__name__': '__orps_runner__', '__file__': '<orps-runner>'}
exec(compile(_src, '<orps-runner>', 'exec'), _g)
sys.exit(_g['main'](sys.argv[1:]))
"""


if __name__ == "__main__":
    sys.exit(main())
