"""C++ in the sandbox: per-test cost against running the same program bare, and build times.

Interleaved in one run (rounds alternate the contenders, so load drifts hit both):
- sandbox: a job of T tests of an a+b C++ program on the warm pool (built once, before timing);
  cost = wall / T;
- bare: the same source built on the host with the same flags, T `subprocess.run`s of the binary;
- build: the first build of a fresh source in the sandbox (compile_ms), and a job whose build
  comes from the cache (its wall time, and the report's compile_ms).
Prints JSON; exits 1 when ratio = sandbox_ms / bare_ms misses the goal (<= 1.5).
Usage: python benchmarks/cpp_overhead.py [--rounds 10] [--tests 20] [--backend docker|local]
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
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sandbox import Job, Limits, Sandbox, SandboxSettings, TestCase  # noqa: E402
from sandbox.languages import language  # noqa: E402

PROGRAM = "#include <cstdio>\nint main(){ long long a, b; if (scanf(\"%lld %lld\", &a, &b) == 2) printf(\"%lld\\n\", a + b); }\n"
GOAL = 1.5


def make_job(n: int, source: str = PROGRAM) -> Job:
    return Job(kind="stdio", language="cpp", source=source,
               tests=[TestCase(input=f"{i} {i + 1}\n", output=str(2 * i + 1)) for i in range(n)],
               limits=Limits(cpu_s=2, memory_mb=128))


def sandbox_round(sb: Sandbox, n: int) -> float:
    t0 = time.perf_counter()
    rep = sb.run(make_job(n))
    elapsed = (time.perf_counter() - t0) / n * 1000
    assert rep.all_passed, rep.compile_error or rep.results[:1]
    return elapsed


def bare_round(binary: str, n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        out = subprocess.run([binary], input=f"{i} {i + 1}\n", capture_output=True, text=True)
        assert out.stdout.strip() == str(2 * i + 1), out
    return (time.perf_counter() - t0) / n * 1000


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--tests", type=int, default=20)
    ap.add_argument("--backend", choices=["docker", "local"], default="docker")
    args = ap.parse_args()
    if not shutil.which("g++"):
        print("g++ is not installed on the host: no bare baseline", file=sys.stderr)
        return 2
    settings = SandboxSettings(pool_size=1)
    if args.backend == "docker":
        from sandbox.docker_backend import DockerBackend
        sb = Sandbox(DockerBackend(settings))
    else:
        from sandbox.local_backend import LocalBackend
        sb = Sandbox(LocalBackend(settings))
    lang = language("cpp")
    with tempfile.TemporaryDirectory() as tmp, sb:
        Path(tmp, lang.source).write_text(PROGRAM)
        subprocess.run(lang.compile_command(), cwd=tmp, check=True, capture_output=True)
        binary = os.path.join(tmp, lang.binary)
        sb.start()
        fresh = PROGRAM.replace("int main()", f"/* {time.time_ns()} */ int main()")
        first = sb.run(make_job(1, fresh))
        t0 = time.perf_counter()
        hit = sb.run(make_job(1, fresh))
        hit_ms = (time.perf_counter() - t0) * 1000
        sandbox_round(sb, 5)  # warm-up
        sandbox_ms, bare_ms = [], []
        for r in range(args.rounds):
            if r % 2 == 0:
                sandbox_ms.append(sandbox_round(sb, args.tests))
                bare_ms.append(bare_round(binary, args.tests))
            else:
                bare_ms.append(bare_round(binary, args.tests))
                sandbox_ms.append(sandbox_round(sb, args.tests))
    sandbox_med, bare_med = statistics.median(sandbox_ms), statistics.median(bare_ms)
    ratio = sandbox_med / bare_med
    result = {
        "backend": args.backend,
        "program": "C++ a+b (g++ " + " ".join(lang.compile[1:4]) + ")",
        "rounds": args.rounds,
        "tests_per_round": args.tests,
        "sandbox_ms_per_test": round(sandbox_med, 3),
        "bare_binary_ms_per_test": round(bare_med, 3),
        "ratio": round(ratio, 3),
        "goal_ratio_at_most": GOAL,
        "meets_goal": ratio <= GOAL,
        "first_compile_ms": first.compile_ms,
        "first_compile_cached": first.compile_cached,
        "cached_build_job_ms": round(hit_ms, 1),
        "cached_build_compile_ms": hit.compile_ms,
        "cached_build_was_cached": hit.compile_cached,
        "sandbox_ms_per_test_all_rounds": [round(x, 3) for x in sandbox_ms],
        "bare_ms_per_test_all_rounds": [round(x, 3) for x in bare_ms],
    }
    print(json.dumps(result, indent=2))
    return 0 if result["meets_goal"] else 1


if __name__ == "__main__":
    sys.exit(main())
