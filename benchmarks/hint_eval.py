"""Hint quality on real student-style bugs: QuixBugs and HumanEvalFix repair records as buggy programs.

Each record's `files` are written to an empty folder (the student's program is `files[program]`,
the tests are its pytest file, the statement is the record's `statement`); `orps hint` runs on it
with the same model as tutor and student (the built-in 270M base model unless --model says
otherwise) and the result is reported per item:
  repaired       the tutor found a repair that passes every test (and its token distance, next to
                 the distance of the dataset's own fix)
  levels         per hint level: who wrote it (tutor / template), drafts rejected by the guards,
                 student successes with the hint and without (k each), kept or not
  hints_kept     how many levels raised the student's success count
Before hinting, each item is checked: the buggy program must fail a test and the dataset's fixed
program must pass them all, both in the sandbox; an item that fails this check, or a run that
crashes, makes the script exit 1.

Usage: python benchmarks/hint_eval.py [--model SPEC] [--student-model SPEC] [--items ID,ID,...]
           [--k N] [--level N] [--sandbox auto|docker|local] [--datasets DIR] [--out FILE.json]
Prints one JSON document (progress on stderr). With the default model the figures are a
270M base-model result: a floor for the method, not a measure of what a real tutor model does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.models import open_model  # noqa: E402
from assistant.modes.hint import HintConfig, hint, hint_problem  # noqa: E402
from assistant.modes.hint.diff import token_distance  # noqa: E402
from sandbox import open_sandbox  # noqa: E402
from sandbox.config import SandboxSettings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATASETS = REPO.parent / "shared" / "datasets"
DEFAULT_ITEMS = ["quixbugs/gcd", "quixbugs/sieve", "quixbugs/pascal",
                 "HumanEvalFix/2", "HumanEvalFix/23", "HumanEvalFix/28"]
LABEL_270M = ("270M base-model result (Gemma 3 270M, completion-only, as tutor and student): a floor for the "
              "method, not what a capable tutor model does")


def load_records(datasets: Path) -> dict[str, dict]:
    records = {}
    for name in ("quixbugs.jsonl", "humanevalfix.jsonl"):
        path = datasets / "repair" / name
        if not path.is_file():
            raise SystemExit(f"{path}: not found (pass --datasets DIR)")
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rec = json.loads(line)
                records[rec["id"]] = rec
    return records


def materialize(rec: dict, folder: Path) -> tuple[Path, Path, Path]:
    """(program, tests file, statement) written from the record's files."""
    for rel, text in rec["files"].items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    program = folder / rec["program"]
    tests = folder / f"test_{Path(rec['program']).name}"
    if not tests.is_file():
        candidates = sorted(p for p in folder.glob("test_*.py"))
        if len(candidates) != 1:
            raise RuntimeError(f"{rec['id']}: cannot tell which file holds the tests")
        tests = candidates[0]
    statement = folder / "statement.md"
    statement.write_text(rec.get("statement") or "", encoding="utf-8")
    return program, tests, statement


async def sanity(sandbox, problem, buggy: str, fixed: str) -> str | None:
    """Why this item cannot be evaluated, or None."""
    bad = await sandbox.arun(problem.job(buggy))
    good = await sandbox.arun(problem.job(fixed))
    skipped = {r.name for r in good.results if r.error_type == "OrpsSkipped"}
    if bad.all_passed:
        return "the buggy program passes every test"
    failing_good = [r.name for r in good.results if not r.passed and r.name not in skipped]
    if good.compile_error or failing_good:
        return f"the dataset's fixed program fails {failing_good or good.compile_error}"
    return None


def summarize(rec: dict, result, fixed: str, buggy: str, wall_s: float) -> dict:
    levels = []
    for h in result.ladder:
        v = h.validation
        levels.append({"level": h.level, "name": h.name, "source": h.source, "words": h.words,
                       "drafts": h.drafts, "rejected": [r.reason for r in h.rejected],
                       "with_hint": v.with_hint if v else None, "without_hint": v.without_hint if v else None,
                       "k": v.k if v else None, "kept": h.kept, "text": h.text})
    return {
        "id": rec["id"],
        "tests": result.check.total,
        "failing_before": len(result.check.failing) + (result.check.total if result.check.compile_error else 0),
        "status": result.status,
        "repaired": result.repair is not None,
        "repair_distance": result.repair.distance if result.repair else None,
        "reference_fix_distance": token_distance(buggy, fixed),
        "repair_candidates": len(result.candidates),
        "repair_candidates_passing": sum(1 for c in result.candidates if c.total and c.passed == c.total),
        "hints_written": sum(1 for h in result.ladder if h.text),
        "hints_from_tutor": sum(1 for h in result.ladder if h.text and h.source == "tutor"),
        "hints_kept": sum(1 for h in result.ladder if h.kept),
        "without_hint": result.without_hint,
        "levels": levels,
        "tutor_calls": result.budget["tutor"]["calls"],
        "student_calls": (result.budget.get("student") or {}).get("calls", 0),
        "wall_s": round(wall_s, 1),
    }


async def evaluate(args) -> dict:
    records = load_records(Path(args.datasets))
    ids = args.items.split(",") if args.items else DEFAULT_ITEMS
    unknown = [i for i in ids if i not in records]
    if unknown:
        raise SystemExit(f"unknown item ids: {', '.join(unknown)}")
    sandbox = open_sandbox(SandboxSettings(), args.sandbox, warn=lambda m: print(m, file=sys.stderr))
    tutor = open_model(args.model)
    student = open_model(args.student_model) if args.student_model and args.student_model != args.model else None
    config = HintConfig(max_level=args.level, k=args.k, repair_samples=args.repair_samples, repair_rounds=0,
                        retries=args.retries, completion_max_tokens=args.completion_max_tokens,
                        hint_completion_max_tokens=96, seed=args.seed)
    items, errors = [], []
    started = time.monotonic()
    try:
        for rid in ids:
            rec = records[rid]
            t0 = time.monotonic()
            print(f"[{time.monotonic() - started:6.0f}s] {rid} ...", file=sys.stderr, flush=True)
            with tempfile.TemporaryDirectory(prefix="orps-hint-eval-") as tmp:
                program, tests, statement = materialize(rec, Path(tmp))
                buggy = program.read_text(encoding="utf-8")
                fixed = rec["fixed_files"][rec["program"]]
                try:
                    problem = await hint_problem(str(statement), str(tests), str(program), sandbox, buggy)
                    why = await sanity(sandbox, problem, buggy, fixed)
                    if why:
                        errors.append({"id": rid, "error": f"invalid item: {why}"})
                        continue
                    result = await hint(buggy, problem, tutor, student, sandbox, config)
                except Exception as exc:  # a crash is a failure of this benchmark, reported per item
                    errors.append({"id": rid, "error": f"{type(exc).__name__}: {exc}"})
                    continue
            items.append(summarize(rec, result, fixed, buggy, time.monotonic() - t0))
            row = items[-1]
            print(f"    repaired={row['repaired']} hints kept {row['hints_kept']}/{row['hints_written']} "
                  f"({row['wall_s']}s)", file=sys.stderr, flush=True)
    finally:
        await tutor.aclose()
        if student is not None:
            await student.aclose()
        sandbox.close()
    validated = [lv for it in items for lv in it["levels"] if lv["kept"] is not None]
    doc = {
        "benchmark": "hint_eval",
        "label": LABEL_270M if args.model.split("?")[0] == "embedded" else f"tutor {args.model}",
        "tutor_model": tutor.spec,
        "student_model": (student or tutor).spec,
        "sandbox": sandbox.name,
        "config": {"k": args.k, "max_level": args.level, "repair_samples": args.repair_samples,
                   "retries": args.retries, "seed": args.seed},
        "items": items,
        "errors": errors,
        "totals": {
            "items": len(items),
            "repaired": sum(it["repaired"] for it in items),
            "hints_written": sum(it["hints_written"] for it in items),
            "hints_from_tutor": sum(it["hints_from_tutor"] for it in items),
            "hints_validated": len(validated),
            "hints_kept": sum(1 for lv in validated if lv["kept"]),
            "student_successes_with_hint": sum(lv["with_hint"] for lv in validated),
            "student_successes_without_hint": sum(lv["without_hint"] for lv in validated),
            "student_tries_each_way": sum(lv["k"] for lv in validated),
            "wall_s": round(time.monotonic() - started, 1),
        },
    }
    return doc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="embedded", help="tutor model spec (default: the built-in 270M model)")
    parser.add_argument("--student-model", default=None, help="student model spec (default: the tutor model)")
    parser.add_argument("--items", default=None, help="comma-separated record ids")
    parser.add_argument("--k", type=int, default=2, help="student repairs with each hint and without")
    parser.add_argument("--level", type=int, default=2, choices=[1, 2, 3, 4], help="ladder levels to write")
    parser.add_argument("--repair-samples", type=int, default=5)
    parser.add_argument("--retries", type=int, default=1)
    parser.add_argument("--completion-max-tokens", type=int, default=192)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sandbox", choices=["auto", "docker", "local"], default="auto")
    parser.add_argument("--datasets", default=str(DEFAULT_DATASETS))
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args()
    doc = asyncio.run(evaluate(args))
    text = json.dumps(doc, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 1 if doc["errors"] or not doc["items"] else 0


if __name__ == "__main__":
    sys.exit(main())
