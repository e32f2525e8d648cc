"""Judge accuracy on real benchmark data: references must pass, known-buggy programs must fail.

- HumanEval: every reference solution passes its hidden tests;
- HumanEvalFix: every buggy program fails the HumanEval hidden tests of its problem;
- HumanEval+, MBPP+ (with --plus): every reference passes its (many, type-sensitive) hidden tests;
- LBPP: every reference passes its hidden tests, except records whose `requires` lists a
  third-party package the sandbox image does not have (the dataset README flags them).
Function tests run in the trusted evaluator, which calls into the candidate's process; each set
also counts the tests that needed live objects: objects of the solution's own classes (or
generators, closures) kept behind handles, and test objects (callbacks, test helpers' objects)
lent to the solution by proxy.
Prints JSON with per-set counts and every mismatch; exits 1 on any mismatch.
Usage: python benchmarks/judge_accuracy.py [--datasets DIR] [--limit N] [--plus] [--sandbox docker|local]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.problems.loaders import problem_from_record  # noqa: E402
from sandbox import Sandbox, open_sandbox  # noqa: E402

DEFAULT_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


def read_jsonl(path: Path, limit: int | None = None) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows[:limit] if limit else rows


def available_packages(sb: Sandbox, names: set[str]) -> set[str]:
    """Which of these packages the sandbox's interpreter can import (asked of the sandbox itself)."""
    from sandbox import Job, TestCase
    found = set()
    for name in sorted(names):
        rep = sb.run(Job(kind="function", source="", tests=[TestCase(code=f"import {name}")]))
        if rep.all_passed:
            found.add(name)
    return found


def check_set(sb: Sandbox, cases: list[tuple[str, object, str, bool]], workers: int) -> dict:
    """cases: (id, problem, source, should_pass) -> counts and mismatches, run concurrently."""

    def one(case):
        rid, problem, source, should_pass = case
        job = problem.job(source, tests=problem.hidden_tests, stop_on_failure=not should_pass)
        rep = sb.run(job)
        ok = rep.all_passed == should_pass
        first_bad = next((r for r in rep.results if not r.passed), None)
        return rid, ok, rep, first_bad

    t0 = time.monotonic()
    mismatches = []
    verdicts: dict[str, int] = {}
    live = {"tests_with_solution_objects": 0, "tests_with_test_objects": 0, "records_with_live_objects": 0}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for rid, ok, rep, first_bad in pool.map(one, cases):
            for key, n in rep.verdict_counts().items():
                verdicts[key] = verdicts.get(key, 0) + n
            objects = sum(1 for r in rep.results if r.harness.get("objects"))
            lent = sum(1 for r in rep.results if r.harness.get("test_objects"))
            live["tests_with_solution_objects"] += objects
            live["tests_with_test_objects"] += lent
            live["records_with_live_objects"] += bool(objects or lent)
            if not ok:
                mismatches.append({"id": rid, "passed": f"{rep.passed}/{rep.total}",
                                   "first_failure": (f"{first_bad.verdict.value}: {first_bad.detail}"[:300]
                                                     if first_bad else rep.compile_error or rep.sandbox_error)})
    return {"records": len(cases), "as_expected": len(cases) - len(mismatches), "mismatches": mismatches,
            "test_verdicts": verdicts, "live_objects": live, "seconds": round(time.monotonic() - t0, 1)}


def humaneval_cases(datasets: Path, limit: int | None):
    for row in read_jsonl(datasets / "function" / "humaneval.jsonl", limit):
        yield row["id"], problem_from_record(row, "humaneval.jsonl"), row["reference_solution"], True


def reference_cases(datasets: Path, name: str, limit: int | None):
    for row in read_jsonl(datasets / "function" / name, limit):
        yield row["id"], problem_from_record(row, name), row["reference_solution"], True


def humanevalfix_cases(datasets: Path, limit: int | None):
    problems = {row["id"]: row for row in read_jsonl(datasets / "function" / "humaneval.jsonl")}
    for row in read_jsonl(datasets / "repair" / "humanevalfix.jsonl", limit):
        he_id = row["id"].replace("HumanEvalFix/", "HumanEval/")
        problem = problem_from_record(problems[he_id], "humaneval.jsonl")
        yield row["id"], problem, row["files"][row["program"]], False


# Records a function test across two processes cannot judge, by design, and why (counted, shown)
UNSUPPORTED = {
    "lbpp/33": "the solution traces the test's own function (frame.f_code is func.__code__); "
               "functions a test passes to the solution run in the test's process",
}


def lbpp_cases(datasets: Path, limit: int | None, have: set[str]):
    skipped = []
    cases = []
    for row in read_jsonl(datasets / "function" / "lbpp.jsonl", limit):
        if row["id"] in UNSUPPORTED:
            skipped.append({"id": row["id"], "missing": [], "unsupported": UNSUPPORTED[row["id"]]})
            continue
        missing = [p for p in row.get("requires") or [] if p not in have]
        if missing:
            skipped.append({"id": row["id"], "missing": missing})
            continue
        cases.append((row["id"], problem_from_record(row, "lbpp.jsonl"), row["reference_solution"], True))
    return cases, skipped


def run(datasets: Path, sb: Sandbox, limit: int | None = None, workers: int = 2, plus: bool = False) -> dict:
    lbpp_requires = {p for row in read_jsonl(datasets / "function" / "lbpp.jsonl", limit)
                     for p in row.get("requires") or []}
    have = available_packages(sb, lbpp_requires)
    lbpp, skipped = lbpp_cases(datasets, limit, have)
    result = {
        "backend": sb.name,
        "humaneval_references_pass_hidden": check_set(sb, list(humaneval_cases(datasets, limit)), workers),
        "humanevalfix_buggy_fail_hidden": check_set(sb, list(humanevalfix_cases(datasets, limit)), workers),
        "lbpp_references_pass_hidden": check_set(sb, lbpp, workers),
    }
    result["lbpp_references_pass_hidden"]["skipped_missing_dependency"] = skipped
    if plus:
        for name in ("humaneval_plus.jsonl", "mbpp_plus.jsonl", "mbpp_v2.jsonl"):
            key = name.removesuffix(".jsonl") + "_references_pass_hidden"
            result[key] = check_set(sb, list(reference_cases(datasets, name, limit)), workers)
    result["all_as_expected"] = all(not v["mismatches"] for k, v in result.items() if isinstance(v, dict))
    return result


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    ap.add_argument("--limit", type=int, default=None, help="first N records of each set")
    ap.add_argument("--sandbox", choices=["docker", "local", "auto"], default="auto")
    ap.add_argument("--plus", action="store_true", help="also HumanEval+, MBPP+ and MBPP v2 (about 30k tests)")
    args = ap.parse_args()
    if not args.datasets.is_dir():
        print(f"{args.datasets}: no datasets directory", file=sys.stderr)
        return 2
    with open_sandbox(backend=args.sandbox, warn=lambda m: print("WARNING:", m, file=sys.stderr)) as sb:
        result = run(args.datasets, sb, args.limit, workers=sb.backend.pool.size, plus=args.plus)
    print(json.dumps(result, indent=2))
    return 0 if result["all_as_expected"] else 1


if __name__ == "__main__":
    sys.exit(main())
