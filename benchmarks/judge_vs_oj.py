"""`orps judge` end to end vs online-judge-tools' `oj test -c "..."` on the same tests.

One oj-layout directory of T tests (`test/NAME.in` + `NAME.out`), solved in Python and in C++;
each round runs every contender once as a fresh command, interleaved, so load drifts hit all of
them:
- orps judge SOL -p DIR --sandbox local   (and --sandbox docker when an engine and the image answer)
- oj test -c "PYTHON SOL" -d DIR/test     (sequential, its default; and with -j 2)
- C++: orps judge sol.cpp (built once in the sandbox: the warm-up builds it, the timed runs find
  it in the build cache) vs oj test -c ./bin (the binary built on the host with the same g++
  flags, beforehand, as oj users do); the cold build (empty cache) and the host build are timed
  apart, once per round.
- start-up floors: `orps --version`, `oj --version` and `python -c pass`.
Every run must report all T tests passing (else the benchmark fails: a fast wrong judge is no
result). Prints JSON with the median wall time of each and orps/oj ratios measured in the same run;
exits 1 when a run fails or orps (the --goal-backend) is not faster than oj's default.
Needs online-judge-tools installed beside orps (`pip install online-judge-tools`).
Usage: python benchmarks/judge_vs_oj.py [--tests 24] [--rounds 5] [--lang python|cpp|all]
                                       [--goal-backend local|docker]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SOLUTION = """\
import sys

data = sys.stdin.buffer.read().split()
n = int(data[0])
best = current = int(data[1])
for x in map(int, data[2:1 + n]):
    current = max(x, current + x)
    best = max(best, current)
print(best)
"""

SOLUTION_CPP = r"""#include <bits/stdc++.h>
int main() {
    int n; std::cin >> n;
    long long x; std::cin >> x;
    long long best = x, current = x;
    for (int i = 1; i < n; i++) {
        std::cin >> x;
        current = std::max(x, current + x);
        best = std::max(best, current);
    }
    std::cout << best << '\n';
}
"""


def best_sum(xs: list[int]) -> int:
    """The largest sum of a non-empty run of consecutive numbers, the slow way."""
    prefix = [0]
    for x in xs:
        prefix.append(prefix[-1] + x)
    return max(prefix[j] - prefix[i] for i in range(len(xs)) for j in range(i + 1, len(xs) + 1))


def make_problem(root: Path, tests: int) -> Path:
    """An oj directory: the maximum subarray sum of 1 to 300 numbers."""
    rng = random.Random(2024)
    test_dir = root / "max-subarray" / "test"
    test_dir.mkdir(parents=True)
    for i in range(1, tests + 1):
        xs = [rng.randint(-1000, 1000) for _ in range(rng.randint(1, 300))]
        (test_dir / f"case-{i}.in").write_text(f"{len(xs)}\n{' '.join(map(str, xs))}\n")
        (test_dir / f"case-{i}.out").write_text(f"{best_sum(xs)}\n")
    return test_dir.parent


def tool(name: str) -> str | None:
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else shutil.which(name)


def timed(argv: list[str], cwd: Path, check, env: dict | None = None) -> float:
    t0 = time.perf_counter()
    out = subprocess.run(argv, cwd=cwd, capture_output=True, text=True,
                         env={**os.environ, **env} if env else None)
    wall = time.perf_counter() - t0
    problem = check(out)
    if problem:
        raise RuntimeError(f"{' '.join(argv[:3])}...: {problem}\nstdout: {out.stdout[-600:]}\nstderr: {out.stderr[-600:]}")
    return wall


def orps_passed(tests: int):
    def check(out: subprocess.CompletedProcess) -> str | None:
        if out.returncode != 0:
            return f"exit {out.returncode}"
        try:
            doc = json.loads(out.stdout)
        except json.JSONDecodeError:
            return "no JSON"
        return None if doc["passed"] == doc["total"] == tests else f"passed {doc['passed']}/{doc['total']}"
    return check


def oj_passed(tests: int):
    def check(out: subprocess.CompletedProcess) -> str | None:
        text = out.stdout + out.stderr
        return None if out.returncode == 0 and f"test success: {tests} cases" in text else f"exit {out.returncode}"
    return check


def ok(out: subprocess.CompletedProcess) -> str | None:
    return None if out.returncode == 0 else f"exit {out.returncode}"


def docker_ready() -> bool:
    try:
        from tests.conftest import docker_ready as ready
    except ImportError:
        return False
    return ready() is None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tests", type=int, default=24)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--lang", choices=["python", "cpp", "all"], default="all")
    ap.add_argument("--goal-backend", choices=["local", "docker"], default="local",
                    help="the orps backend that must beat oj for exit status 0")
    args = ap.parse_args()
    orps, oj = tool("orps"), tool("oj")
    if orps is None or oj is None:
        print(json.dumps({"error": f"needs both commands on PATH (orps: {orps}, oj: {oj}); "
                                   "pip install online-judge-tools"}))
        return 1
    backends = ["local"] + (["docker"] if docker_ready() else [])
    if args.goal_backend not in backends:
        print(json.dumps({"error": f"backend {args.goal_backend} is not available"}))
        return 1
    langs = ["python", "cpp"] if args.lang == "all" else [args.lang]
    gpp = shutil.which("g++")
    if "cpp" in langs and gpp is None:
        print(json.dumps({"error": "C++ needs g++ on the host (for oj's binary)"}))
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        problem = make_problem(root, args.tests)
        contenders: dict[str, tuple[list[str], object, dict | None]] = {}
        if "python" in langs:
            sol = root / "sol.py"
            sol.write_text(SOLUTION)
            run_py = f"{sys.executable} {sol}"
            for b in backends:
                contenders[f"python:orps_judge_{b}"] = (
                    [orps, "judge", str(sol), "-p", str(problem), "--sandbox", b, "--json"], orps_passed(args.tests), None)
            contenders["python:oj_test"] = ([oj, "test", "-c", run_py, "-d", str(problem / "test")],
                                            oj_passed(args.tests), None)
            contenders["python:oj_test_j2"] = ([oj, "test", "-c", run_py, "-d", str(problem / "test"), "-j", "2"],
                                               oj_passed(args.tests), None)
        if "cpp" in langs:
            from sandbox.languages import language
            cpp = language("cpp")
            src = root / "solution.cpp"
            src.write_text(SOLUTION_CPP)
            binary = root / "bin"
            # the benchmark's own program, built on the host for oj (orps builds it in the sandbox)
            host_build = [gpp, *[f for f in cpp.compile[1:] if f not in ("-o", "solution", "solution.cpp")],
                          "-o", str(binary), str(src)]
            timed(host_build, root, ok)  # oj needs the binary before its first run
            warm_cache = {"ORPS_BUILD_CACHE": str(root / "builds")}
            for b in backends:
                contenders[f"cpp:orps_judge_{b}"] = (
                    [orps, "judge", str(src), "-p", str(problem), "--sandbox", b, "--json"], orps_passed(args.tests),
                    warm_cache)
            contenders["cpp:oj_test"] = ([oj, "test", "-c", str(binary), "-d", str(problem / "test")],
                                         oj_passed(args.tests), None)
            contenders["cpp:oj_test_j2"] = ([oj, "test", "-c", str(binary), "-d", str(problem / "test"), "-j", "2"],
                                            oj_passed(args.tests), None)
            contenders["cpp:host_build"] = (host_build, ok, None)
            contenders["cpp:orps_judge_local_cold_build"] = (
                [orps, "judge", str(src), "-p", str(problem), "--sandbox", "local", "--json"], orps_passed(args.tests),
                {"ORPS_BUILD_CACHE": "off"})
        contenders["orps_version"] = ([orps, "--version"], ok, None)
        contenders["oj_version"] = ([oj, "--version"], ok, None)
        contenders["python_start"] = ([sys.executable, "-c", "pass"], ok, None)
        for argv, check, env in contenders.values():  # warm-up: page cache, builds, oj's update check
            timed(argv, root, check, env)
        times: dict[str, list[float]] = {name: [] for name in contenders}
        try:
            for _ in range(args.rounds):
                for name, (argv, check, env) in contenders.items():
                    times[name].append(timed(argv, root, check, env))
        except RuntimeError as exc:
            print(json.dumps({"error": str(exc)}))
            return 1
    median = {name: round(statistics.median(ts), 3) for name, ts in times.items()}
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    report = {
        "benchmark": "judge_vs_oj", "tests": args.tests, "rounds": args.rounds, "python": sys.executable,
        "load_average_after": load,
        "median_wall_s": median,
        "per_test_ms_beyond_startup": {
            name: round((median[name] - median["orps_version" if ":orps" in name else "oj_version"])
                        / args.tests * 1000, 2) for name in median if ":orps_judge" in name or ":oj_test" in name},
        "ratio_orps_over_oj": {f"{lang}:{b}": round(median[f"{lang}:orps_judge_{b}"] / median[f"{lang}:oj_test"], 3)
                               for lang in langs for b in backends},
        "ratio_orps_over_oj_j2": {f"{lang}:{b}": round(median[f"{lang}:orps_judge_{b}"] / median[f"{lang}:oj_test_j2"], 3)
                                  for lang in langs for b in backends},
        "goal": f"orps judge --sandbox {args.goal_backend} faster than oj test (ratio < 1), in every language",
    }
    report["goal_met"] = all(report["ratio_orps_over_oj"][f"{lang}:{args.goal_backend}"] < 1 for lang in langs)
    print(json.dumps(report, indent=2))
    return 0 if report["goal_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
