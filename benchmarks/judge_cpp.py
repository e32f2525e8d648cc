"""Judge accuracy with C++: C++ references for Code Jam problems of the shared stdio set must pass
every hidden test; a wrong, a slow and a crashing variant of each must get WA, TLE and RE.

The programs ship beside this script (benchmarks/cpp_gcj/PROBLEM/{reference,wrong,slow,crash}.cpp,
each with a comment saying what it does); the problems and their tests are the dataset's records
(stdio/gcj.jsonl, matched by the directory name). The archive's time limits (20-480 s) were
download windows, so every test runs under --time-limit (2 s CPU by default). A variant's verdict
is the first failing test's; the reference's build time and the cached rebuild are reported too.
Prints JSON; exits 1 on any verdict other than the expected one.
Usage: python benchmarks/judge_cpp.py [--datasets DIR] [--time-limit S] [--sandbox docker|local]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.problems.loaders import problem_from_record  # noqa: E402
from sandbox import Sandbox, open_sandbox  # noqa: E402

HERE = Path(__file__).resolve().parent
PROGRAMS = HERE / "cpp_gcj"
DEFAULT_DATASETS = HERE.parents[1] / "shared" / "datasets"
EXPECTED = {"reference": "AC", "wrong": "WA", "slow": "TLE", "crash": "RE"}


def records(datasets: Path) -> dict[str, dict]:
    rows = [json.loads(line) for line in (datasets / "stdio" / "gcj.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    return {row["id"].rsplit("/", 1)[-1]: row for row in rows}


def judge_one(sb: Sandbox, problem, variant: str, source: str) -> dict:
    should_pass = variant == "reference"
    job = problem.job(source, tests=problem.hidden_tests, language="cpp", stop_on_failure=not should_pass)
    t0 = time.monotonic()
    rep = sb.run(job)
    wall = time.monotonic() - t0
    bad = next((r for r in rep.results if not r.passed), None)
    if rep.compile_error:
        verdict = "CE"
    elif rep.sandbox_error:
        verdict = "sandbox error"
    else:
        verdict = "AC" if bad is None and rep.all_passed else (bad.verdict.value if bad else "?")
    return {"variant": variant, "expected": EXPECTED[variant], "verdict": verdict,
            "ok": verdict == EXPECTED[variant], "passed": f"{rep.passed}/{rep.total}",
            "detail": ((bad.detail if bad else "") or rep.compile_error or rep.sandbox_error or "")[:200],
            "compile_ms": None if rep.compile_ms is None else round(rep.compile_ms, 1),
            "compile_cached": rep.compile_cached, "wall_s": round(wall, 2),
            "max_cpu_ms": max((r.cpu_ms for r in rep.results if r.cpu_ms is not None), default=None)}


def run(datasets: Path, sb: Sandbox, time_limit: float, workers: int) -> dict:
    by_slug = records(datasets)
    cases = []
    for folder in sorted(p for p in PROGRAMS.iterdir() if p.is_dir()):
        row = by_slug.get(folder.name)
        if row is None:
            raise SystemExit(f"{folder.name}: no record of that name in {datasets}/stdio/gcj.jsonl")
        problem = problem_from_record(row, "gcj.jsonl").with_limits(time_s=time_limit)
        for variant in EXPECTED:
            cases.append((folder.name, problem, variant, (folder / f"{variant}.cpp").read_text(encoding="utf-8")))
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda c: (c[0], judge_one(sb, c[1], c[2], c[3])), cases))
    elapsed = time.monotonic() - t0
    # the build cache: the same reference again is not rebuilt
    first = cases[0]
    again = judge_one(sb, first[1], "reference", first[3])
    problems: dict[str, dict] = {}
    for name, r in results:
        problems.setdefault(name, {"id": by_slug[name]["id"], "hidden_tests": len(by_slug[name]["hidden"])})[r["variant"]] = r
    table = {v: {"as_expected": sum(p[v]["ok"] for p in problems.values()), "of": len(problems)} for v in EXPECTED}
    builds = [r["compile_ms"] for _, r in results if r["compile_ms"] is not None and not r["compile_cached"]]
    return {
        "backend": sb.name, "time_limit_s": time_limit, "problems": len(problems),
        "verdicts": table,
        "references_ac": f"{table['reference']['as_expected']}/{len(problems)}",
        "compile_ms_median": round(statistics.median(builds), 1) if builds else None,
        "compile_cached_ms": again["compile_ms"], "compile_cached": again["compile_cached"],
        "elapsed_s": round(elapsed, 1),
        "mismatches": [{"problem": name, **r} for name, r in results if not r["ok"]],
        "results": problems,
        "all_as_expected": all(r["ok"] for _, r in results) and again["ok"],
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    ap.add_argument("--time-limit", type=float, default=2.0, help="CPU seconds per test")
    ap.add_argument("--sandbox", choices=["docker", "local", "auto"], default="auto")
    args = ap.parse_args()
    if not (args.datasets / "stdio" / "gcj.jsonl").is_file():
        print(f"{args.datasets}: no stdio/gcj.jsonl", file=sys.stderr)
        return 2
    with open_sandbox(backend=args.sandbox, warn=lambda m: print("WARNING:", m, file=sys.stderr)) as sb:
        result = run(args.datasets, sb, args.time_limit, workers=sb.backend.pool.size)
    print(json.dumps(result, indent=2))
    return 0 if result["all_as_expected"] else 1


if __name__ == "__main__":
    sys.exit(main())
