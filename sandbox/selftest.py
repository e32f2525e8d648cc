"""`orps sandbox selftest`: hostile candidates, and evidence of whether each was contained.

Every case runs real hostile programs through the same path candidates take. Containment is
judged from the host side wherever possible (a secret the program must not find, a host port it
must not reach, a host directory it must not write, a later honest job that must still pass,
measured CPU and memory that must not be lower than the work done), and from verdicts otherwise:
a hostile program that gives a wrong answer must never be judged AC.

Cases come in groups matching what a sandbox must guarantee: limits, isolation from the host,
unforgeable verdicts, honest measurements, a clean box per test, and correct verdicts for correct
programs (a sandbox that misjudges honest programs is not safe to rank with either).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable

from .api import Job, Limits, TestCase, Verdict
from .core import Sandbox

LIMITS = Limits(cpu_s=1.0, wall_s=2.0, memory_mb=128, output_bytes=1 << 20)

TRIVIAL = Job(kind="stdio", source="print(int(input()) + 1)", tests=[TestCase(input="41", output="42")],
              limits=LIMITS)
TRIVIAL_FN = Job(kind="function", source="def f(x):\n    return x + 1\n",
                 tests=[TestCase(code="assert f(41) == 42")], limits=LIMITS)


def _pool_ok(sb: Sandbox) -> tuple[bool, str]:
    """Every worker of the pool still judges honest programs right."""
    for _ in range(max(1, sb.backend.pool.size)):
        for job in (TRIVIAL, TRIVIAL_FN):
            rep = sb.run(job)
            if not rep.all_passed:
                why = rep.results[0].detail if rep.results else rep.sandbox_error
                return False, f"; afterwards an honest job failed: {why}"
    return True, ""


def _verdicts(rep) -> str:
    return ", ".join(f"{r.verdict.value}" + (f" ({r.detail[:160]})" if r.detail else "") for r in rep.results) \
        or (rep.compile_error or rep.sandbox_error or "no result")


def _stdio(source: str, tests: int = 1, limits: Limits = LIMITS, output: str = "ok", repeat: int = 1) -> Job:
    return Job(kind="stdio", source=source, tests=[TestCase(input="", output=output) for _ in range(tests)],
               limits=limits, repeat=repeat)


def _function(source: str, test: str = "assert f() == 42", limits: Limits = LIMITS) -> Job:
    return Job(kind="function", source=source, tests=[TestCase(code=test)], limits=limits)


def _first(rep):
    return rep.results[0] if rep.results else None


# --------------------------------------------------------------------------- limits

def case_fork_bomb(sb: Sandbox) -> tuple[bool, str]:
    src = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    t0 = time.monotonic()
    rep = sb.run(_stdio(src))
    took = time.monotonic() - t0
    ok_pool, extra = _pool_ok(sb)
    r = _first(rep)
    contained = r is not None and r.verdict is not Verdict.AC and ok_pool and took < 30
    return contained, f"verdict {_verdicts(rep)} after {took:.1f}s{extra}"


def case_memory_bomb(sb: Sandbox) -> tuple[bool, str]:
    src = "blocks = []\nwhile True:\n    blocks.append(bytearray(16 << 20))\n"
    rep = sb.run(_stdio(src))
    ok_pool, extra = _pool_ok(sb)
    r = _first(rep)
    contained = r is not None and r.verdict is Verdict.MLE and ok_pool
    peak = f", peak {r.peak_rss_kb // 1024} MiB" if r is not None and r.peak_rss_kb else ""
    return contained, f"verdict {_verdicts(rep)}{peak} (limit {LIMITS.memory_mb} MiB){extra}"


def case_infinite_loop(sb: Sandbox) -> tuple[bool, str]:
    t0 = time.monotonic()
    rep = sb.run(_stdio("while True:\n    pass\n"))
    took = time.monotonic() - t0
    r = _first(rep)
    contained = r is not None and r.verdict is Verdict.TLE and took < LIMITS.wall + 5
    return contained, f"verdict {_verdicts(rep)}, CPU {r.cpu_ms or 0:.0f} ms, returned after {took:.1f}s"


def case_sleep(sb: Sandbox) -> tuple[bool, str]:
    t0 = time.monotonic()
    rep = sb.run(_stdio("import time\ntime.sleep(120)\nprint('ok')\n"))
    took = time.monotonic() - t0
    r = _first(rep)
    contained = r is not None and r.verdict is Verdict.TLE and took < LIMITS.wall + 5
    return contained, f"verdict {_verdicts(rep)}, wall {r.wall_ms or 0:.0f} ms, returned after {took:.1f}s"


def case_output_flood(sb: Sandbox) -> tuple[bool, str]:
    rep = sb.run(_stdio("import sys\nline = 'x' * 4095 + '\\n'\nwhile True:\n    sys.stdout.write(line)\n"))
    r = _first(rep)
    contained = r is not None and r.verdict is Verdict.OLE and len(r.stdout) <= LIMITS.output_bytes
    return contained, f"verdict {_verdicts(rep)}, {len(r.stdout) if r else 0} bytes returned (cap {LIMITS.output_bytes})"


def case_temp_space(sb: Sandbox) -> tuple[bool, str]:
    """Files are memory on a tmpfs: writing them must count, and must not starve later tests."""
    src = ("import os\nwritten = 0\nblock = b'x' * (1 << 19)\n"
           "for d in ('/tmp', '/dev/shm', '.'):\n"
           "    for i in range(1600):\n"
           "        try:\n"
           "            with open(os.path.join(d, f'fill{i}'), 'wb') as fh:\n"
           "                fh.write(block[: 1 << 19])\n"
           "            written += 1\n"
           "        except OSError:\n"
           "            break\n"
           "print('ok', written)\n")
    job = Job(kind="stdio", source="import sys\nif sys.stdin.read().strip() == 'fill':\n    exec("
              + repr(src) + ")\nelse:\n    print('ok')\n",
              tests=[TestCase(input="fill", output="ok"), TestCase(input="", output="ok")], limits=LIMITS)
    rep = sb.run(job)
    first, second = rep.results[0], rep.results[1]
    ok_pool, extra = _pool_ok(sb)
    contained = first.verdict is not Verdict.AC and second.verdict is Verdict.AC and ok_pool
    return contained, (f"filling test: {first.verdict.value} ({first.detail[:120]}); the next test on the same "
                       f"worker: {second.verdict.value}{extra}")


# --------------------------------------------------------------------------- isolation from the host

def case_write_outside(sb: Sandbox) -> tuple[bool, str]:
    host_dir = tempfile.mkdtemp(prefix="orps-selftest-")
    os.chmod(host_dir, 0o777)
    targets = ["/etc/orps-probe", "/usr/orps-probe", "/orps-probe", "/opt/orps-probe", "/var/orps-probe",
               "/work/../orps-probe", os.path.join(host_dir, "written-by-candidate")]
    src = (
        "import os\nwritten = []\n"
        f"for path in {targets!r}:\n"
        "    try:\n"
        "        with open(path, 'w') as fh:\n"
        "            fh.write('escaped')\n"
        "        written.append(path)\n"
        "    except OSError:\n"
        "        pass\n"
        "print('WROTE', written)\n"
    )
    try:
        rep = sb.run(_stdio(src))
        on_host = os.listdir(host_dir)
        r = _first(rep)
        reported = r.stdout.strip() if r else ""
        escaped = on_host or ("WROTE []" not in reported)
        detail = f"program reports {reported or '(nothing)'}; host dir after: {on_host or 'empty'}"
        return not escaped, detail
    finally:
        shutil.rmtree(host_dir, ignore_errors=True)


def _canary_dirs() -> list[str]:
    """Host places a canary can go: the temporary dir, the home dir, and one outside both (where
    users keep problem packages), each only if writable."""
    dirs = []
    for base in (tempfile.gettempdir(), os.path.expanduser("~"), "/var/tmp", os.getcwd()):
        if base and os.path.isdir(base) and os.access(base, os.W_OK) and base not in dirs:
            dirs.append(base)
    return dirs


def case_read_host(sb: Sandbox) -> tuple[bool, str]:
    secret = secrets.token_hex(16)
    made = []
    for base in _canary_dirs():
        try:
            d = tempfile.mkdtemp(prefix="orps-selftest-", dir=base)
        except OSError:
            continue
        os.chmod(d, 0o755)
        path = os.path.join(d, "answer.out")
        with open(path, "w") as fh:
            fh.write(secret)
        os.chmod(path, 0o644)
        made.append((d, path))
    home = os.path.expanduser("~")
    paths = [p for _, p in made] + ["/etc/shadow", "/etc/gshadow", "/etc/ssh/ssh_host_ed25519_key",
                                    os.path.join(home, ".ssh/id_rsa"), os.path.join(home, ".bash_history")]
    src = (
        "import os\nfound = []\n"
        f"for path in {paths!r}:\n"
        "    try:\n"
        "        with open(path) as fh:\n"
        "            found.append((path, fh.read(200)))\n"
        "    except OSError:\n"
        "        pass\n"
        "print(found)\n"
    )
    try:
        rep = sb.run(_stdio(src))
        out = rep.results[0].stdout if rep.results else ""
        leaked = secret in out
        readable = out.count("('/")
        return not leaked and readable == 0, \
            (f"canaries in {len(made)} host places ({', '.join(os.path.dirname(d) for d, _ in made)}) "
             f"{'LEAKED' if leaked else 'not readable'}; {readable} of {len(paths)} host paths readable")
    finally:
        for d, _ in made:
            shutil.rmtree(d, ignore_errors=True)


def case_environment(sb: Sandbox) -> tuple[bool, str]:
    src = ("import os, json\nprint(json.dumps({k: v for k, v in os.environ.items()}))\n")
    rep = sb.run(_stdio(src))
    r = _first(rep)
    import json
    try:
        env = json.loads(r.stdout) if r else {}
    except ValueError:
        env = {}
    allowed = {"PATH", "HOME", "TMPDIR", "LANG", "PYTHONDONTWRITEBYTECODE", "LC_CTYPE"}
    extra = sorted(set(env) - allowed)
    host_path = os.environ.get("PATH", "")
    path_ok = env.get("PATH") == "/usr/local/bin:/usr/bin:/bin"
    contained = bool(env) and not extra and path_ok
    return contained, (f"variables {sorted(env)}; PATH {env.get('PATH')!r}"
                       + (" (the host's)" if env.get("PATH") == host_path and not path_ok else "")
                       + (f"; unexpected {extra}" if extra else ""))


def _host_addresses() -> list[str]:
    addrs = {"127.0.0.1"}
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            addrs.add(info[4][0])
    except OSError:
        pass
    try:  # the address used for outbound traffic, and the usual Docker bridge gateway
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("192.0.2.1", 9))
        addrs.add(s.getsockname()[0])
        s.close()
    except OSError:
        pass
    addrs.add("172.17.0.1")
    return sorted(addrs)


def case_network(sb: Sandbox) -> tuple[bool, str]:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", 0))
    server.listen(8)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    accepted: list[str] = []
    stop = threading.Event()

    def accept_loop():
        while not stop.is_set():
            try:
                conn, peer = server.accept()
                accepted.append(peer[0])
                conn.close()
            except OSError:
                continue

    thread = threading.Thread(target=accept_loop, daemon=True)
    thread.start()
    addrs = _host_addresses()
    src = (
        "import socket\nok = []\n"
        f"for host in {addrs!r}:\n"
        "    try:\n"
        f"        socket.create_connection((host, {port}), timeout=0.3).close()\n"
        "        ok.append(host)\n"
        "    except OSError:\n"
        "        pass\n"
        "try:\n"
        "    socket.getaddrinfo('orps-probe.example', 443)\n"
        "    ok.append('dns')\n"
        "except OSError:\n"
        "    pass\n"
        "print('REACHED', ok)\n"
    )
    try:
        rep = sb.run(_stdio(src, limits=Limits(cpu_s=2, wall_s=8, memory_mb=128)))
    finally:
        time.sleep(0.3)
        stop.set()
        thread.join()
        server.close()
    out = rep.results[0].stdout.strip() if rep.results else ""
    contained = not accepted and "REACHED []" in out
    return contained, f"host listener on port {port} saw {len(accepted)} connections; program reports {out or _verdicts(rep)}"


# --------------------------------------------------------------------------- unforgeable verdicts

FORGERIES = {
    "prints a fake result line": (
        "import json, sys\n"
        "for line in ['{\"type\":\"test\",\"index\":0,\"verdict\":\"AC\"}', 'PASSED', 'AC', json.dumps({'outcome': None})]:\n"
        "    print(line)\n"
        "def f():\n    return 0\n"
    ),
    "writes fake results to every descriptor": (
        "import os, json\n"
        "fake = json.dumps({'outcome': None, 'ok': 42, 'ready': True}).encode()\n"
        "for fd in range(0, 1024):\n"
        "    for data in (fake + b'\\n', len(fake).to_bytes(4, 'big') + fake):\n"
        "        try:\n"
        "            os.write(fd, data)\n"
        "        except OSError:\n"
        "            pass\n"
        "def f():\n    return 0\n"
    ),
    "exits early with status 0": "import os\nos._exit(0)\n",
    "exits during the call": "import os\ndef f():\n    os._exit(0)\n",
    "answers with an object that equals everything": (
        "class Yes:\n    def __eq__(self, other):\n        return True\n    __ne__ = lambda s, o: False\n"
        "def f():\n    return Yes()\n"
    ),
    "answers with an int subclass that equals everything": (
        "class Liar(int):\n    def __eq__(self, other):\n        return True\n    __hash__ = int.__hash__\n"
        "def f():\n    return Liar(0)\n"
    ),
    "answers with a list subclass that equals everything": (
        "class Liar(list):\n    def __eq__(self, other):\n        return True\n"
        "def f():\n    return Liar([0])\n"
    ),
    "redefines the builtins and stdlib the test uses": (
        "import builtins, math\n"
        "math.isclose = lambda *a, **k: True\nbuiltins.abs = lambda x: 0\nbuiltins.round = lambda *a: 42\n"
        "builtins.sorted = lambda *a, **k: 42\nbuiltins.AssertionError = type('X', (BaseException,), {})\n"
        "def abs(x):\n    return 0\ndef sorted(*a, **k):\n    return 42\ndef isclose(*a, **k):\n    return True\n"
        "def f():\n    return 5.0\n"
    ),
    "patches the encoder of its answers": (
        "import json\n_dumps = json.dumps\n"
        "def evil(obj, *a, **k):\n    return '{\"ok\": 42, \"outcome\": null, \"req\": {\"op\": \"getattr\", \"eh\": 1, \"name\": \"x\"}}'\n"
        "json.dumps = evil\njson.encoder.JSONEncoder.encode = lambda self, o: evil(o)\n"
        "def f():\n    return 0\n"
    ),
    "traces the harness and jumps past the test": (
        "import sys\n"
        "def tracer(frame, event, arg):\n"
        "    try:\n"
        "        frame.f_locals.update(outcome=None, ok=True)\n"
        "        if event == 'line' and frame.f_code.co_name not in ('tracer', 'f'):\n"
        "            frame.f_lineno = frame.f_code.co_firstlineno\n"
        "    except Exception:\n"
        "        pass\n"
        "    return tracer\n"
        "sys.settrace(tracer)\nsys.setprofile(lambda *a: None)\n"
        "f_ = sys._getframe()\nwhile f_ is not None:\n    f_.f_trace = tracer\n    f_ = f_.f_back\n"
        "def f():\n    return 0\n"
    ),
    "raises the finish event and writes to the parent": (
        "import sys, os\n"
        "for ev in ('orps.finish', 'orps.arm'):\n    try:\n        sys.audit(ev, None)\n    except Exception:\n        pass\n"
        "for pid in (os.getppid(), 1):\n"
        "    for fd in range(0, 16):\n"
        "        try:\n"
        "            h = os.open(f'/proc/{pid}/fd/{fd}', os.O_WRONLY)\n"
        "            os.write(h, b'\\x00\\x00\\x00\\x10{\"outcome\":null}')\n"
        "        except OSError:\n"
        "            pass\n"
        "def f():\n    return 0\n"
    ),
}

_SECRET_TEST = "assert f() == {secret!r}"

# looks for the test's expected value everywhere a candidate process could reach
SNOOP = r'''
import gc, os, re, sys, linecache
found = []
SECRET = re.compile("ORPS" + "SECRET" + "[0-9a-f]{32}")  # not spelled whole: this source is no find
def look(text):
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    if isinstance(text, str):
        found.extend(SECRET.findall(text))
def search():
    try:
        for o in gc.get_objects():
            if isinstance(o, (str, bytes)):
                look(o)
            elif isinstance(o, dict):
                for v in list(o.values()):
                    look(v)
            elif hasattr(o, "co_consts"):
                for c in o.co_consts:
                    look(c)
    except Exception:
        pass
    f_ = sys._getframe()
    while f_ is not None:
        for v in list(f_.f_locals.values()) + list(f_.f_globals.values()):
            look(v)
        for c in f_.f_code.co_consts:
            look(c)
        f_ = f_.f_back
    for entry in list(linecache.cache.values()):
        for line in (entry[2] if len(entry) > 2 else []):
            look(line)
    for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
        for name in ("cmdline", "environ", "mem"):
            try:
                with open(f"/proc/{pid}/{name}", "rb") as fh:
                    look(fh.read(1 << 20))
            except OSError:
                pass
        try:  # another process's working directory and files, through /proc
            for dirpath, _dirs, files in os.walk(f"/proc/{pid}/cwd"):
                for name in files:
                    with open(os.path.join(dirpath, name), "rb") as fh:
                        look(fh.read(1 << 20))
        except OSError:
            pass
    for root in ("/work", "/sandbox", "/tmp", "/dev/shm", ".", "..", os.path.expanduser("~")):
        try:
            for dirpath, _dirs, files in os.walk(root):
                for name in files:
                    try:
                        with open(os.path.join(dirpath, name), "rb") as fh:
                            look(fh.read(1 << 20))
                    except OSError:
                        pass
        except OSError:
            pass
    return found[0] if found else "not found"
search()
def f():
    return search()
'''


def case_forge(sb: Sandbox) -> tuple[bool, str]:
    details = []
    contained = True
    for name, src in FORGERIES.items():
        test = "assert f() == 42"
        if "builtins" in name:
            test = ("import math\nassert math.isclose(f(), 1.0)\nassert abs(f() - 1.0) < 1e-9\n"
                    "assert round(f(), 2) == 1.0\nassert sorted([f()]) == [1.0]")
        rep = sb.run(_function(src, test))
        r = _first(rep)
        if r is None or r.verdict is Verdict.AC:
            contained = False
        details.append(f"{name}: {r.verdict.value if r else rep.sandbox_error}")
    ok_pool, extra = _pool_ok(sb)
    return contained and ok_pool, "; ".join(details) + extra


def case_expected_values(sb: Sandbox) -> tuple[bool, str]:
    """The test's expected values (hidden tests included) are nowhere the candidate can look."""
    secret = "ORPSSECRET" + secrets.token_hex(16)
    tests = [TestCase(name="visible", code="assert f() != 0"), TestCase(name="hidden", code=_SECRET_TEST.format(secret=secret))]
    # the test keeps it in its memory and, like a test helper's data, in a file of its own
    setup = (f"_expected = {secret!r}\nimport os\n"
             "with open(os.path.join(os.environ.get('ORPS_TEST_DIR', '.'), 'expected.json'), 'w') as fh:\n"
             "    fh.write(_expected)\n")
    rep = sb.run(Job(kind="function", source=SNOOP, tests=tests, setup=setup, limits=LIMITS))
    hidden = rep.results[1] if len(rep.results) > 1 else None
    stdio = sb.run(Job(kind="stdio", source=SNOOP + "print(f())\n",
                       tests=[TestCase(input="", output=secret), TestCase(input="", output=secret)], limits=LIMITS))
    leaked = (hidden is not None and hidden.verdict is Verdict.AC) or any(r.verdict is Verdict.AC for r in stdio.results)
    return not leaked, (f"function test: {hidden.verdict.value if hidden else rep.sandbox_error}; "
                        f"stdin/stdout tests: {', '.join(r.verdict.value for r in stdio.results)} "
                        f"(the program searched its memory, frames, /proc and the files it can see)")


def case_kill_runner(sb: Sandbox) -> tuple[bool, str]:
    details = []
    contained = True
    for name, src in {
        "SIGKILL to the parent": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\ndef f():\n    return 0\n",
        "SIGKILL to every process": "import os, signal\nos.kill(-1, signal.SIGKILL)\ndef f():\n    return 0\n",
        "SIGKILL to each pid": ("import os, signal\nfor p in range(1, 400):\n    try:\n        if p != os.getpid():\n"
                                "            os.kill(p, signal.SIGKILL)\n    except OSError:\n        pass\n"
                                "def f():\n    return 0\n"),
        "SIGTERM and SIGINT to the parent": (
            "import os, signal\nfor s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):\n"
            "    os.kill(os.getppid(), s)\ndef f():\n    return 0\n"),
        "re-limits the runner": ("import resource, os\nfor p in (1, os.getppid()):\n    try:\n"
                                 "        resource.prlimit(p, resource.RLIMIT_NOFILE, (3, 3))\n"
                                 "        resource.prlimit(p, resource.RLIMIT_AS, (1 << 20, 1 << 20))\n"
                                 "    except OSError:\n        pass\ndef f():\n    return 0\n"),
    }.items():
        rep = sb.run(_function(src))
        r = _first(rep)
        # f is wrong in every variant: AC could only come from a forged result
        if r is None or r.verdict is Verdict.AC:
            contained = False
        details.append(f"{name}: {r.verdict.value if r else rep.sandbox_error}")
    ok_pool, extra = _pool_ok(sb)
    return contained and ok_pool, "; ".join(details) + (extra or "; pool recovered")


def case_stop_runner(sb: Sandbox) -> tuple[bool, str]:
    """SIGSTOP to every other process, then keep working: the wall-clock limit still holds."""
    src = ("import os, signal, time\n"
           "for p in [1, os.getppid()] + list(range(2, 400)):\n"
           "    try:\n"
           "        if p != os.getpid():\n"
           "            os.kill(p, signal.SIGSTOP)\n"
           "    except OSError:\n"
           "        pass\n"
           "t = time.time()\nwhile time.time() - t < 8:\n    time.sleep(0.05)\nprint('ok')\n")
    limits = Limits(cpu_s=1.0, wall_s=3.0, memory_mb=128)
    t0 = time.monotonic()
    rep = sb.run(_stdio(src, limits=limits))
    took = time.monotonic() - t0
    r = _first(rep)
    ok_pool, extra = _pool_ok(sb)
    contained = r is not None and r.verdict is Verdict.TLE and took < limits.wall + 4 and ok_pool
    return contained, f"verdict {_verdicts(rep)} after {took:.1f}s (wall limit {limits.wall:g}s){extra}"


# --------------------------------------------------------------------------- honest measurements

def case_hidden_work(sb: Sandbox) -> tuple[bool, str]:
    """Work done in helper processes or threads must count, or be refused."""
    helpers = ("import os, time\n"
               "pids = []\n"
               "for _ in range(2):\n"
               "    pid = os.fork()\n"
               "    if pid == 0:\n"
               "        t = time.process_time()\n"
               "        while time.process_time() - t < 1.0:\n"
               "            pass\n"
               "        os._exit(0)\n"
               "print('ok')\n")
    pool = ("import multiprocessing\n"
            "def burn(n):\n    s = 0\n    for i in range(n):\n        s += i\n    return s\n"
            "with multiprocessing.Pool(2) as p:\n    p.map(burn, [3_000_000] * 4)\nprint('ok')\n")
    threads = ("import threading, time\n"
               "blocks = []\n"
               "def work():\n"
               "    blocks.append(bytearray(40 << 20))\n"
               "    for i in range(0, 40 << 20, 4096):\n"
               "        blocks[-1][i] = 1\n"
               "    t = time.thread_time()\n"
               "    while time.thread_time() - t < 0.3:\n"
               "        pass\n"
               "ts = [threading.Thread(target=work) for _ in range(3)]\n"
               "[t.start() for t in ts]\n[t.join() for t in ts]\nprint('ok')\n")
    limits = Limits(cpu_s=3.0, wall_s=6.0, memory_mb=512)
    rh = _first(sb.run(_stdio(helpers, limits=limits)))
    rp = _first(sb.run(_stdio(pool, limits=limits)))
    rt = _first(sb.run(_stdio(threads, limits=limits)))
    # a helper's work either is refused (not AC) or shows in the figures
    helpers_ok = rh is not None and (rh.verdict is not Verdict.AC or (rh.cpu_ms or 0) >= 1800)
    pool_ok = rp is not None and (rp.verdict is not Verdict.AC or (rp.cpu_ms or 0) >= 500)
    threads_ok = rt is not None and rt.verdict is Verdict.AC and (rt.cpu_ms or 0) >= 800 \
        and (rt.peak_rss_kb or 0) >= 120 * 1024
    return helpers_ok and pool_ok and threads_ok, (
        f"forked helpers: {rh.verdict.value if rh else '?'} ({rh.detail or ''}), CPU {rh.cpu_ms or 0:.0f} ms; "
        f"multiprocessing: {rp.verdict.value if rp else '?'}; "
        f"3 threads x 0.3 s x 40 MiB: {rt.verdict.value if rt else '?'}, CPU {rt.cpu_ms or 0:.0f} ms, "
        f"peak {(rt.peak_rss_kb or 0) // 1024} MiB")


def case_repeat_cache(sb: Sandbox) -> tuple[bool, str]:
    """Repeated runs for timing start equally clean: an answer cached by the first run is gone."""
    src = ("import os, time\n"
           "for d in ('/tmp', '/dev/shm', '.', os.path.expanduser('~')):\n"
           "    p = os.path.join(d, 'orps-cache')\n"
           "    if os.path.exists(p):\n"
           "        print(open(p).read())\n"
           "        raise SystemExit\n"
           "t = time.process_time()\nwhile time.process_time() - t < 0.3:\n    pass\n"
           "for d in ('/tmp', '/dev/shm', '.', os.path.expanduser('~')):\n"
           "    try:\n"
           "        open(os.path.join(d, 'orps-cache'), 'w').write('ok')\n"
           "    except OSError:\n"
           "        pass\n"
           "print('ok')\n")
    rep = sb.run(_stdio(src, repeat=4))
    r = _first(rep)
    runs = r.cpu_ms_runs if r else []
    contained = r is not None and r.verdict is Verdict.AC and len(runs) == 4 and min(runs) >= 250
    return contained, f"verdict {_verdicts(rep)}; CPU per run {[round(x) for x in runs]} ms (0.3 s of work each)"


# --------------------------------------------------------------------------- a clean box per test

_LEAVE = r'''
import os, sys
mode = sys.stdin.read().strip()
places = ["/tmp", "/dev/shm", "/var/tmp", "/run", "/home", ".", "..", os.path.expanduser("~"), "/work"]
if mode == "leave":
    for d in places:
        for name in ("orps-left", "j2", "t0_0", "box-0"):
            try:
                os.makedirs(os.path.join(d, name), exist_ok=True)
                open(os.path.join(d, name, "f"), "w").write("x")
                open(os.path.join(d, name + ".txt"), "w").write("x")
            except OSError:
                pass
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.shmget(0x4f525053, 4096, 0o1000 | 0o666)
        libc.mq_open(b"/orps-left", 0o100 | 0o2, 0o666, None)
    except Exception:
        pass
    print("ok")
else:
    seen = []
    for d in places:
        for name in ("orps-left", "orps-left.txt", "j2", "t0_0", "box-0"):
            if os.path.exists(os.path.join(d, name)):
                seen.append(os.path.join(d, name))
    try:
        with open("/proc/sysvipc/shm") as fh:
            if "1330795603" in fh.read():
                seen.append("sysv shm")
    except OSError:
        pass
    if os.path.exists("/dev/mqueue/orps-left"):
        seen.append("mqueue")
    print("ok" if not seen else "SEEN " + " ".join(seen))
'''


def case_leftover_state(sb: Sandbox) -> tuple[bool, str]:
    job = Job(kind="stdio", source=_LEAVE,
              tests=[TestCase(input="leave", output="ok"), TestCase(input="look", output="ok")], limits=LIMITS)
    rep = sb.run(job)
    later = sb.run(Job(kind="stdio", source=_LEAVE, tests=[TestCase(input="look", output="ok")], limits=LIMITS))
    second = rep.results[1] if len(rep.results) > 1 else None
    third = _first(later)
    ok_pool, extra = _pool_ok(sb)
    contained = second is not None and second.verdict is Verdict.AC and third is not None \
        and third.verdict is Verdict.AC and ok_pool
    return contained, (f"next test on the same worker: {second.stdout.strip() if second else '?'}; "
                       f"a later job: {third.stdout.strip() if third else '?'}{extra}")


def case_leftovers(sb: Sandbox) -> tuple[bool, str]:
    spawn = (
        "import os, sys, time\n"
        "try:\n"
        "    if os.fork() == 0:\n"
        "        os.setsid()\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(300)\n"
        "        os._exit(0)\n"
        "except OSError:\n"
        "    pass\n"
        "print('ok')\n"
    )
    check = (
        "import os\nme = os.getpid()\nothers = []\n"
        "for p in os.listdir('/proc'):\n"
        "    if p.isdigit() and int(p) != me:\n"
        "        try:\n"
        "            if os.stat(f'/proc/{p}').st_uid != os.getuid():\n"
        "                continue\n"
        "            cmd = open(f'/proc/{p}/cmdline', 'rb').read().replace(b'\\0', b' ').decode()\n"
        "        except OSError:\n"
        "            continue\n"
        "        if 'sleep' in cmd or 'solution' in cmd:\n"
        "            others.append(cmd[:60])\n"
        "print(len(others), others)\n"
    )
    job = Job(kind="stdio", source="import sys\nif sys.stdin.read().strip() == 'spawn':\n"
                                   + "    exec(" + repr(spawn) + ")\nelse:\n    exec(" + repr(check) + ")\n",
              tests=[TestCase(input="spawn", output="ok"), TestCase(input="check", output="0 []")], limits=LIMITS)
    rep = sb.run(job)
    first, second = rep.results[0], rep.results[1]
    seen = second.stdout.strip()
    contained = second.verdict is Verdict.AC
    return contained, (f"spawner: {first.verdict.value} ({first.detail or 'ran'}); "
                       f"the next test saw {seen or second.detail} processes left by it")


# --------------------------------------------------------------------------- correct programs

def case_correct_programs(sb: Sandbox) -> tuple[bool, str]:
    """Honest programs that trip naive sandboxes must get AC (or the error they really have)."""
    lim64 = Limits(cpu_s=2.0, wall_s=4.0, memory_mb=64)
    checks = [
        ("output from a non-daemon thread", _stdio(
            "import sys, threading\nsys.setrecursionlimit(1 << 20)\nthreading.stack_size(1 << 27)\n"
            "def main():\n    print('ok')\nthreading.Thread(target=main).start()\n"), Verdict.AC),
        ("output from an atexit handler", _stdio("import atexit\natexit.register(lambda: print('ok'))\n"), Verdict.AC),
        ("a 64 MiB thread stack under a 64 MiB limit", _stdio(
            "import threading\nthreading.stack_size(64 << 20)\n"
            "def main():\n    print('ok')\nt = threading.Thread(target=main)\nt.start()\nt.join()\n", limits=lim64),
         Verdict.AC),
        ("MemoryError raised far below the limit", _stdio("raise MemoryError('no')\n"), Verdict.RE),
        ("a lone surrogate in an exception message", _function(
            "def f():\n    raise ValueError('bad \\udc80 value')\n"), Verdict.RE),
        ("large output with repeated runs", _stdio(
            "import sys\nsys.stdout.write('ok\\n' + 'x' * (15 << 20) + '\\n')\n",
            limits=Limits(cpu_s=2.0, wall_s=6.0, memory_mb=256, output_bytes=32 << 20),
            output="ok\n" + "x" * (15 << 20), repeat=5), Verdict.AC),
    ]
    details = []
    ok = True
    for name, job, want in checks:
        rep = sb.run(job)
        r = _first(rep)
        got = r.verdict if r else None
        if got is not want:
            ok = False
        details.append(f"{name}: {got.value if got else rep.sandbox_error}"
                       + (f" (want {want.value}: {(r.detail if r else '')[:100]})" if got is not want else ""))
    return ok, "; ".join(details)


CASES: dict[str, Callable[[Sandbox], tuple[bool, str]]] = {
    "fork bomb": case_fork_bomb,
    "memory bomb": case_memory_bomb,
    "infinite loop": case_infinite_loop,
    "sleeping past the wall limit": case_sleep,
    "output flood": case_output_flood,
    "filling the temporary space": case_temp_space,
    "writing outside the work dir": case_write_outside,
    "reading host files": case_read_host,
    "the host's environment": case_environment,
    "opening a network connection": case_network,
    "forging the result": case_forge,
    "reading the expected values": case_expected_values,
    "killing or re-limiting the runner": case_kill_runner,
    "stopping the runner": case_stop_runner,
    "hiding work outside the measured process": case_hidden_work,
    "caching answers across repeated runs": case_repeat_cache,
    "leaving files and IPC objects behind": case_leftover_state,
    "leaving processes behind": case_leftovers,
    "judging correct programs right": case_correct_programs,
}


def run_selftest(sb: Sandbox, names: list[str] | None = None) -> dict:
    cases = []
    for name, fn in CASES.items():
        if names and name not in names:
            continue
        try:
            contained, detail = fn(sb)
        except Exception as exc:  # a crash of the check itself is reported, never counted as contained
            contained, detail = False, f"selftest error: {type(exc).__name__}: {exc}"
        cases.append({"name": name, "contained": bool(contained), "detail": detail})
    return {"backend": sb.name, "cases": cases, "contained": sum(c["contained"] for c in cases),
            "total": len(cases)}
