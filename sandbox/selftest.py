"""`orps sandbox selftest`: hostile candidates, and evidence of whether each was contained.

Every case runs a real hostile program through the same path candidates take. Containment is
judged from the host side wherever possible (a canary the program must not read, a host port
it must not reach, a host directory it must not write, the pool still answering afterwards),
and from verdicts otherwise: a hostile program must never be judged AC.
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


def _pool_ok(sb: Sandbox) -> tuple[bool, str]:
    rep = sb.run(TRIVIAL)
    ok = rep.all_passed
    return ok, "" if ok else f"; afterwards a trivial job failed: {rep.results[0].detail if rep.results else rep.sandbox_error}"


def _verdicts(rep) -> str:
    return ", ".join(f"{r.verdict.value}" + (f" ({r.detail})" if r.detail else "") for r in rep.results) \
        or (rep.compile_error or rep.sandbox_error or "no result")


def _stdio(source: str, tests: int = 1, limits: Limits = LIMITS) -> Job:
    return Job(kind="stdio", source=source, tests=[TestCase(input="", output="ok") for _ in range(tests)],
               limits=limits)


def _function(source: str, test: str = "assert f() == 42") -> Job:
    return Job(kind="function", source=source, tests=[TestCase(code=test)], limits=LIMITS)


# --------------------------------------------------------------------------- cases

def case_fork_bomb(sb: Sandbox) -> tuple[bool, str]:
    src = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    t0 = time.monotonic()
    rep = sb.run(_stdio(src))
    took = time.monotonic() - t0
    ok_pool, extra = _pool_ok(sb)
    v = rep.results[0].verdict if rep.results else None
    contained = v in (Verdict.TLE, Verdict.RE, Verdict.MLE) and ok_pool and took < 30
    return contained, f"verdict {_verdicts(rep)} after {took:.1f}s{extra}"


def case_memory_bomb(sb: Sandbox) -> tuple[bool, str]:
    src = "blocks = []\nwhile True:\n    blocks.append(bytearray(16 << 20))\n"
    rep = sb.run(_stdio(src))
    ok_pool, extra = _pool_ok(sb)
    r = rep.results[0]
    contained = r.verdict is Verdict.MLE and ok_pool
    peak = f", peak {r.peak_rss_kb // 1024} MiB" if r.peak_rss_kb else ""
    return contained, f"verdict {_verdicts(rep)}{peak} (limit {LIMITS.memory_mb} MiB){extra}"


def case_infinite_loop(sb: Sandbox) -> tuple[bool, str]:
    t0 = time.monotonic()
    rep = sb.run(_stdio("while True:\n    pass\n"))
    took = time.monotonic() - t0
    r = rep.results[0]
    contained = r.verdict is Verdict.TLE and took < LIMITS.wall + 5
    return contained, f"verdict {_verdicts(rep)}, CPU {r.cpu_ms or 0:.0f} ms, returned after {took:.1f}s"


def case_sleep(sb: Sandbox) -> tuple[bool, str]:
    t0 = time.monotonic()
    rep = sb.run(_stdio("import time\ntime.sleep(120)\nprint('ok')\n"))
    took = time.monotonic() - t0
    r = rep.results[0]
    contained = r.verdict is Verdict.TLE and took < LIMITS.wall + 5
    return contained, f"verdict {_verdicts(rep)}, wall {r.wall_ms or 0:.0f} ms, returned after {took:.1f}s"


def case_output_flood(sb: Sandbox) -> tuple[bool, str]:
    rep = sb.run(_stdio("import sys\nline = 'x' * 4095 + '\\n'\nwhile True:\n    sys.stdout.write(line)\n"))
    r = rep.results[0]
    contained = r.verdict is Verdict.OLE and len(r.stdout) <= LIMITS.output_bytes
    return contained, f"verdict {_verdicts(rep)}, {len(r.stdout)} bytes returned (cap {LIMITS.output_bytes})"


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
        r = rep.results[0]
        reported = r.stdout.strip()
        escaped = on_host or ("WROTE []" not in reported)
        detail = f"program reports {reported or '(nothing)'}; host dir after: {on_host or 'empty'}"
        return not escaped, detail
    finally:
        shutil.rmtree(host_dir, ignore_errors=True)


def case_read_host(sb: Sandbox) -> tuple[bool, str]:
    secret = secrets.token_hex(16)
    host_dir = tempfile.mkdtemp(prefix="orps-selftest-")
    canary = os.path.join(host_dir, "canary.txt")
    with open(canary, "w") as fh:
        fh.write(secret)
    os.chmod(host_dir, 0o755)
    os.chmod(canary, 0o644)
    home = os.path.expanduser("~")
    src = (
        "import os\nfound = []\n"
        f"for path in {[canary, '/etc/shadow', os.path.join(home, '.ssh/id_rsa'), os.path.join(home, '.bash_history')]!r}:\n"
        "    try:\n"
        "        with open(path) as fh:\n"
        "            found.append((path, fh.read(200)))\n"
        "    except OSError:\n"
        "        pass\n"
        "print(found)\n"
    )
    try:
        rep = sb.run(_stdio(src))
        out = rep.results[0].stdout
        leaked = secret in out
        readable = out.count("('/")
        return not leaked and readable == 0, \
            f"canary {'LEAKED' if leaked else 'not readable'}; {readable} of 4 host paths readable"
    finally:
        shutil.rmtree(host_dir, ignore_errors=True)


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
        "    socket.getaddrinfo('example.com', 443)\n"
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
    out = rep.results[0].stdout.strip()
    contained = not accepted and "REACHED []" in out
    return contained, f"host listener on port {port} saw {len(accepted)} connections; program reports {out or _verdicts(rep)}"


FORGERIES = {
    "prints a fake result line": (
        "import json, sys\n"
        "for line in ['{\"type\":\"test\",\"index\":0,\"verdict\":\"AC\"}', 'PASSED', 'AC', json.dumps({'outcome': None})]:\n"
        "    print(line)\n"
        "def f():\n    return 0\n"
    ),
    "writes fake results to every descriptor": (
        "import os, json\n"
        "fake = (json.dumps({'nonce': 'x', 'outcome': None}) + '\\n').encode()\n"
        "for fd in range(0, 1024):\n"
        "    try:\n"
        "        os.write(fd, fake)\n"
        "    except OSError:\n"
        "        pass\n"
        "os._exit(0)\n"
    ),
    "exits early with status 0": "import os\nos._exit(0)\n",
    "raises the finish event itself": (
        "import sys\nsys.audit('orps.finish', None)\nimport os\nos._exit(0)\n"
    ),
    "searches memory for the nonce": (
        "import gc\nfor o in gc.get_objects():\n    pass\ndef f():\n    return 0\n"
    ),
    "patches builtins to skip the test": (
        "import builtins\nbuiltins.exec = lambda *a, **k: None\n"
        "class _E(Exception):\n    pass\nbuiltins.BaseException = _E\n"
        "def f():\n    return 0\n"
    ),
    "reads the runner's descriptors via /proc": (
        "import os\nppid = os.getppid()\nopened = []\n"
        "for fd in range(0, 8):\n"
        "    try:\n"
        "        h = os.open(f'/proc/{ppid}/fd/{fd}', os.O_WRONLY)\n"
        "        os.write(h, b'\\x00\\x00\\x00\\x02{}')\n"
        "        opened.append(fd)\n"
        "    except OSError:\n"
        "        pass\n"
        "def f():\n    return 0 if not opened else 42\n"
    ),
}


def case_forge(sb: Sandbox) -> tuple[bool, str]:
    details = []
    contained = True
    for name, src in FORGERIES.items():
        rep = sb.run(_function(src))
        v = rep.results[0].verdict if rep.results else None
        if v is Verdict.AC:
            contained = False
        details.append(f"{name}: {v.value if v else rep.sandbox_error}")
    ok_pool, extra = _pool_ok(sb)
    return contained and ok_pool, "; ".join(details) + extra


def case_kill_runner(sb: Sandbox) -> tuple[bool, str]:
    details = []
    contained = True
    for name, src in {
        "SIGKILL to the parent": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\ndef f():\n    return 0\n",
        "SIGKILL to every process": "import os, signal\nos.kill(-1, signal.SIGKILL)\ndef f():\n    return 0\n",
        "SIGTERM and SIGINT to the parent": (
            "import os, signal\nfor s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):\n"
            "    os.kill(os.getppid(), s)\ndef f():\n    return 0\n"),
        "SIGSTOP to the parent": "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\ndef f():\n    return 0\n",
    }.items():
        rep = sb.run(_function(src))
        r = rep.results[0] if rep.results else None
        # f is wrong in every variant: AC could only come from a forged result. A runner that
        # survives the signal (PID 1 of a namespace ignores it) goes on and reports WA.
        if r is None or r.verdict is Verdict.AC:
            contained = False
        details.append(f"{name}: {r.verdict.value if r else rep.sandbox_error}")
    ok_pool, extra = _pool_ok(sb)
    return contained and ok_pool, "; ".join(details) + (extra or "; pool recovered")


def case_leftovers(sb: Sandbox) -> tuple[bool, str]:
    spawn = (
        "import os, sys, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(300)\n"
        "    os._exit(0)\n"
        "print('ok')\n"
    )
    check = (
        "import os\nskip = {1, os.getpid(), os.getppid()}\nothers = []\n"
        "for p in os.listdir('/proc'):\n"
        "    if p.isdigit() and int(p) not in skip:\n"
        "        try:\n"
        "            if os.stat(f'/proc/{p}').st_uid != os.getuid():\n"
        "                continue\n"
        "            cmd = open(f'/proc/{p}/cmdline', 'rb').read().replace(b'\\0', b' ').decode()\n"
        "        except OSError:\n"
        "            continue\n"
        "        others.append(cmd[:60])\n"
        "print(len(others), others)\n"
    )
    # both in one job, so both tests run on the same runner
    job = Job(kind="stdio", source="import sys\nif sys.stdin.read().strip() == 'spawn':\n"
                                   + "    exec(" + repr(spawn) + ")\nelse:\n    exec(" + repr(check) + ")\n",
              tests=[TestCase(input="spawn", output="ok"), TestCase(input="check", output="0 []")], limits=LIMITS)
    rep = sb.run(job)
    first, second = rep.results[0], rep.results[1]
    seen = second.stdout.strip()
    contained = first.verdict is Verdict.AC and second.verdict is Verdict.AC
    return contained, (f"spawner left {first.leftover_processes} process(es) for the sweep; "
                       f"the next test saw {seen or second.detail} other processes of its uid")


CASES: dict[str, Callable[[Sandbox], tuple[bool, str]]] = {
    "fork bomb": case_fork_bomb,
    "memory bomb": case_memory_bomb,
    "infinite loop": case_infinite_loop,
    "sleeping past the wall limit": case_sleep,
    "output flood": case_output_flood,
    "writing outside the work dir": case_write_outside,
    "reading host files": case_read_host,
    "opening a network connection": case_network,
    "forging the result channel": case_forge,
    "killing the runner": case_kill_runner,
    "leaving processes behind": case_leftovers,
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
