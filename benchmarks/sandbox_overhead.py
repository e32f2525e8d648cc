"""Per-test cost of the warm Docker sandbox vs a bare `python3` subprocess per test.

Interleaved in one run on one machine (rounds alternate the contenders, so load drifts hit both):
- sandbox: the warm pool runs a job of T tests of a trivial stdin/stdout program; cost = wall / T;
- bare: T fresh `python3 solution.py` subprocesses, unsandboxed; cost = wall / T;
- docker-run: one `docker run --rm -i` per test (the naive way to isolate), fewer samples;
- pool throughput: 2*pool_size concurrent jobs, tests per second over the whole pool;
- function tests: the same count of `assert add(a, b) == c` tests of a one-line function (the
  test runs in its own evaluator process and calls into the candidate's), per test.
Prints JSON; exits 1 when ratio = sandbox_ms / bare_ms misses the goal (<= 0.5).
Usage: python benchmarks/sandbox_overhead.py [--rounds 10] [--tests 20] [--backend docker|local]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox import Job, Limits, Sandbox, SandboxSettings, TestCase  # noqa: E402

PROGRAM = "a, b = map(int, input().split())\nprint(a + b)\n"
GOAL = 0.5


FUNCTION = "def add(a, b):\n    return a + b\n"


def make_function_job(n: int) -> Job:
    return Job(kind="function", source=FUNCTION,
               tests=[TestCase(code=f"assert add({i}, {i + 1}) == {2 * i + 1}") for i in range(n)],
               limits=Limits(cpu_s=2, memory_mb=128))


def function_round(sb: Sandbox, n: int) -> float:
    job = make_function_job(n)
    t0 = time.perf_counter()
    rep = sb.run(job)
    elapsed = (time.perf_counter() - t0) / n * 1000
    assert rep.all_passed, rep.results[:1]
    return elapsed


def make_job(n: int) -> Job:
    return Job(kind="stdio", source=PROGRAM,
               tests=[TestCase(input=f"{i} {i + 1}\n", output=str(2 * i + 1)) for i in range(n)],
               limits=Limits(cpu_s=2, memory_mb=128))


def interpreters() -> list[str]:
    found: list[str] = []
    for cand in (sys.executable, getattr(sys, "_base_executable", None), shutil.which("python3"),
                 "/usr/bin/python3", "/usr/local/bin/python3"):
        if cand and os.path.exists(cand) and cand not in found:
            found.append(cand)
    return found


def bare_round(path: str, n: int, python: str) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        out = subprocess.run([python, path], input=f"{i} {i + 1}\n", capture_output=True, text=True)
        assert out.stdout.strip() == str(2 * i + 1), out
    return (time.perf_counter() - t0) / n * 1000


def sandbox_round(sb: Sandbox, n: int) -> float:
    job = make_job(n)
    t0 = time.perf_counter()
    rep = sb.run(job)
    elapsed = (time.perf_counter() - t0) / n * 1000
    assert rep.all_passed, rep.results[:1]
    return elapsed


def docker_run_once(image: str, path: str) -> float:
    t0 = time.perf_counter()
    out = subprocess.run(["docker", "run", "--rm", "-i", "--network", "none", "-v", f"{path}:/s.py:ro", image,
                          "python3", "/s.py"], input="2 3\n", capture_output=True, text=True)
    assert out.stdout.strip() == "5", out.stderr
    return (time.perf_counter() - t0) * 1000


def throughput(sb: Sandbox, jobs: int, n: int) -> float:
    done = []

    def worker():
        rep = sb.run(make_job(n))
        done.append(rep.all_passed)

    threads = [threading.Thread(target=worker) for _ in range(jobs)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    assert all(done)
    return jobs * n / elapsed


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--tests", type=int, default=20)
    ap.add_argument("--backend", choices=["docker", "local"], default="docker")
    ap.add_argument("--docker-run-samples", type=int, default=5)
    args = ap.parse_args()

    settings = SandboxSettings(pool_size=max(1, min(os.cpu_count() or 1, 8)))
    if args.backend == "docker":
        from sandbox.docker_backend import DockerBackend
        sb = Sandbox(DockerBackend(settings))
    else:
        from sandbox.local_backend import LocalBackend
        sb = Sandbox(LocalBackend(settings))
    with tempfile.TemporaryDirectory() as tmp, sb:
        path = os.path.join(tmp, "solution.py")
        Path(path).write_text(PROGRAM)
        os.chmod(tmp, 0o755)
        os.chmod(path, 0o644)
        sb.start()
        sandbox_round(sb, 5)  # warm-up: first job on each worker
        # the baseline is the fastest plain `python3 solution.py` this machine offers (a venv's
        # interpreter starts slower than the system one; comparing with it would flatter us)
        startup = {py: bare_round(path, 5, py) for py in interpreters()}
        python = min(startup, key=startup.get)
        sandbox_ms, bare_ms, docker_ms, function_ms = [], [], [], []
        for r in range(args.rounds):
            if r % 2 == 0:
                sandbox_ms.append(sandbox_round(sb, args.tests))
                bare_ms.append(bare_round(path, args.tests, python))
                function_ms.append(function_round(sb, args.tests))
            else:
                function_ms.append(function_round(sb, args.tests))
                bare_ms.append(bare_round(path, args.tests, python))
                sandbox_ms.append(sandbox_round(sb, args.tests))
            if args.backend == "docker" and r < args.docker_run_samples:
                docker_ms.append(docker_run_once(settings.image, path))
        single = [sandbox_round(sb, 1) for _ in range(10)]
        tput = throughput(sb, 2 * settings.pool_size, args.tests)
        bare_tput = 1000 / statistics.median(bare_ms)

    sandbox_med, bare_med = statistics.median(sandbox_ms), statistics.median(bare_ms)
    ratio = sandbox_med / bare_med
    result = {
        "backend": args.backend,
        "program": "stdin/stdout a+b",
        "rounds": args.rounds,
        "tests_per_round": args.tests,
        "cpus": os.cpu_count(),
        "sandbox_ms_per_test": round(sandbox_med, 3),
        "bare_python_ms_per_test": round(bare_med, 3),
        "bare_interpreter": python,
        "bare_startup_ms_by_interpreter": {k: round(v, 1) for k, v in startup.items()},
        "ratio": round(ratio, 3),
        "goal_ratio_at_most": GOAL,
        "meets_goal": ratio <= GOAL,
        "sandbox_ms_per_test_all_rounds": [round(x, 3) for x in sandbox_ms],
        "bare_ms_per_test_all_rounds": [round(x, 3) for x in bare_ms],
        "single_test_job_ms": round(statistics.median(single), 3),
        "function_ms_per_test": round(statistics.median(function_ms), 3),
        "function_ratio_to_bare_python": round(statistics.median(function_ms) / bare_med, 3),
        "function_ms_per_test_all_rounds": [round(x, 3) for x in function_ms],
        "pool_size": settings.pool_size,
        "pool_throughput_tests_per_s": round(tput, 1),
        "bare_sequential_tests_per_s": round(bare_tput, 1),
    }
    if docker_ms:
        result["docker_run_ms_per_test"] = round(statistics.median(docker_ms), 1)
        result["docker_run_vs_sandbox"] = round(statistics.median(docker_ms) / sandbox_med, 1)
    print(json.dumps(result, indent=2))
    return 0 if result["meets_goal"] else 1


if __name__ == "__main__":
    sys.exit(main())
