"""`orps fix` on QuixBugs and HumanEvalFix: how many buggy repositories a model repairs.

Each repair record becomes a tiny git repository (buggy program + its pytest tests); `orps fix`
runs on it exactly as a user would run it (snapshot, environment, baseline, localization, patch
search in the sandbox), with the given model and budget. A record counts as fixed when the top
ranked patch makes every failing test pass with no regression, as measured in the sandbox; the
check is then repeated independently: the patch is applied to the repository (`--apply 1`) and
the record's whole test suite is run again in the sandbox.

The default model is the embedded Gemma 3 270M *base* model (completion-only): it gets the
"fixed version" completion prompt, no critic, no refinement. Its numbers are labelled as such.

`--oracle` measures the pipeline instead of a model: the record's known fix is fed in as the
model's answer (search/replace blocks, beside two decoys: the fix plus one line, and a function
that raises). A record passes only if that patch is found (run, fixing every failing test with no
regression), ranked first, and applied exactly: after `--apply 1` the repository's files equal the
record's fixed files byte for byte and its whole suite passes in the sandbox. Anything below 100%
is a pipeline bug, and the script exits 1.

Prints one JSON document; exits 1 when a record could not be evaluated (infrastructure error).

Usage: python benchmarks/fix_repairs.py [--sets quixbugs,humanevalfix] [--limit N] [--offset K]
       [--model SPEC | --oracle] [--budget CALLS] [--timeout S] [--sandbox docker|local] [--out FILE]
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

from assistant.errors import UserError  # noqa: E402
from assistant.models import open_model  # noqa: E402
from assistant.modes.fix import FixConfig, prepared, run_fix, save_run  # noqa: E402
from assistant.modes.fix.oracle import oracle_model  # noqa: E402
from assistant.modes.fix.run import apply_candidate  # noqa: E402
from assistant.modes.fix.pytest_run import PytestOptions, pytest_job, read_report  # noqa: E402
from assistant.modes.fix.workspace import apply_patch, materialize  # noqa: E402
from sandbox import SandboxSettings  # noqa: E402

DEFAULT_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
FILES = {"quixbugs": "repair/quixbugs.jsonl", "humanevalfix": "repair/humanevalfix.jsonl"}


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def label(spec: str, can_chat: bool) -> str:
    if spec.startswith("embedded") and ":" not in spec.split("?")[0]:
        return ("Gemma 3 270M base model (embedded llama.cpp, Q4_K_M): a 270M completion-only base model, "
                "no critic, no refinement")
    return f"{spec} ({'chat' if can_chat else 'completion-only'})"


async def verify_applied(repo: Path, prep, result, timeout: float) -> bool:
    """Apply the top patch to the repository itself, then run the whole suite on the applied files."""
    best = result.patches[result.best_node_id]
    apply_patch(repo, best.changes)
    return await suite_passes(prep, repo, list(best.changes), timeout)


async def one(record: dict, model, settings: SandboxSettings, sandbox: str, config: FixConfig, work: Path) -> dict:
    repo = materialize(record["files"], work / record["id"].replace("/", "_"))
    t0 = time.monotonic()
    row = {"id": record["id"], "failing_tests": len(record["failing_tests"]), "hangs": bool(record.get("hangs"))}
    with prepared(repo, settings, sandbox) as prep:
        result = await run_fix(prep, model, config)
        row.update(status=result.status, targets=len(result.targets), candidates=len(result.ranking),
                   invalid=sum(n.status == "invalid" for n in result.nodes),
                   calls=result.budget.get("calls"), tokens=result.budget.get("tokens"))
        if result.best_node_id:
            rep = result.reports[result.best_node_id]
            row.update(best_targets_fixed=len(rep.targets_fixed), best_regressions=len(rep.regressions),
                       best_diff_lines=result.patches[result.best_node_id].size)
        fixed = result.status == "fixed"
        if fixed:
            row["verified_after_apply"] = await verify_applied(repo, prep, result, config.pytest.per_test_timeout)
            fixed = row["verified_after_apply"]
            row["diff"] = result.patches[result.best_node_id].diff
    row["fixed"] = fixed
    row["wall_s"] = round(time.monotonic() - t0, 1)
    return row


async def suite_passes(prep, repo: Path, paths: list[str], timeout: float) -> bool:
    files = {p: (repo / p).read_text(encoding="utf-8") for p in paths}
    run = read_report(await prep.sandbox.arun(pytest_job(prep.env, [], files, PytestOptions(per_test_timeout=timeout))),
                      [])
    return bool(run.tests) and all(t.ok for t in run.tests)


async def one_oracle(record: dict, settings: SandboxSettings, sandbox: str, config: FixConfig, work: Path) -> dict:
    """The known fix as the model's answer: found, ranked first, applied exactly?"""
    repo = materialize(record["files"], work / record["id"].replace("/", "_"))
    t0 = time.monotonic()
    row = {"id": record["id"], "failing_tests": len(record["failing_tests"]), "hangs": bool(record.get("hangs"))}
    fixed_files = record["fixed_files"]
    with prepared(repo, settings, sandbox) as prep:
        result = await run_fix(prep, oracle_model(record), config)
        known = [nid for nid in result.ranking
                 if all(result.patches[nid].changes.get(p, (None, record["files"].get(p)))[1] == new
                        for p, new in fixed_files.items())]
        row.update(status=result.status, targets=len(result.targets), candidates=len(result.ranking),
                   invalid=[n.invalid_reason for n in result.nodes if n.status == "invalid"],
                   found=bool(known), rank=result.ranking.index(known[0]) + 1 if known else None)
        if known:
            rep = result.reports[known[0]]
            row.update(known_fix_targets_fixed=f"{len(rep.targets_fixed)}/{len(result.targets)}",
                       known_fix_regressions=rep.regressions if rep.suite_ran else None)
        row["ranked_first"] = bool(known) and result.best_node_id == known[0] and result.status == "fixed"
        exact = False
        if row["ranked_first"]:
            runs_dir = work / "runs"
            save_run(result, runs_dir)
            _cand, applied = apply_candidate(runs_dir, repo, 1)
            exact = all((repo / p).read_text(encoding="utf-8") == new for p, new in fixed_files.items())
            row["applied_exactly"] = exact
            row["suite_passes_after_apply"] = exact and await suite_passes(prep, repo, applied.files,
                                                                            config.pytest.per_test_timeout)
    row["fixed"] = bool(row["ranked_first"] and exact and row.get("suite_passes_after_apply"))
    row["wall_s"] = round(time.monotonic() - t0, 1)
    return row


async def main_async(args) -> int:
    if args.oracle:
        model = None
        config = FixConfig(initial=3, rounds=0, max_calls=8, parallel=2,
                           pytest=PytestOptions(per_test_timeout=args.timeout))
        label_text = ("oracle: the known fix fed in as the model's answer (beside two decoys); measures the "
                      "pipeline, not a model")
    else:
        model = open_model(args.model)
        config = FixConfig(max_calls=args.budget, parallel=1, rounds=args.rounds, initial=args.initial,
                           completion_targets=1, pytest=PytestOptions(per_test_timeout=args.timeout))
        label_text = label(args.model, bool(model.can_chat))
    settings = SandboxSettings(pool_size=args.pool)
    report: dict = {"benchmark": "fix_repairs", "mode": "oracle" if args.oracle else "model", "label": label_text,
                    "model": model.spec if model else "oracle", "model_can_chat": bool(model.can_chat) if model else True,
                    "budget_calls_per_record": config.max_calls, "per_test_timeout_s": args.timeout,
                    "sandbox": args.sandbox, "sets": {}}
    errors = 0
    t_all = time.monotonic()
    out_path = Path(args.out) if args.out else None
    try:
        with tempfile.TemporaryDirectory(prefix="orps-fix-bench-") as tmp:
            for name in args.sets.split(","):
                records = read_jsonl(Path(args.datasets) / FILES[name])
                chosen = records[args.offset: args.offset + args.limit if args.limit else None]
                rows = []
                for rec in chosen:
                    try:
                        if args.oracle:
                            row = await one_oracle(rec, settings, args.sandbox, config, Path(tmp))
                        else:
                            row = await one(rec, model, settings, args.sandbox, config, Path(tmp))
                    except UserError as exc:
                        errors += 1
                        row = {"id": rec["id"], "fixed": False, "error": str(exc)}
                    rows.append(row)
                    print(json.dumps({k: v for k, v in row.items() if k != "diff"}), file=sys.stderr, flush=True)
                    fixed = sum(r["fixed"] for r in rows)
                    report["sets"][name] = {"fixed": fixed, "total": len(rows), "of_records": len(records),
                                            "slice": f"records {args.offset}..{args.offset + len(rows) - 1}",
                                            "records": rows}
                    if out_path:
                        out_path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    finally:
        if model is not None:
            await model.aclose()
    report["fixed"] = sum(s["fixed"] for s in report["sets"].values())
    report["total"] = sum(s["total"] for s in report["sets"].values())
    report["wall_s"] = round(time.monotonic() - t_all, 1)
    report["errors"] = errors
    if args.oracle:
        rows = [r for s in report["sets"].values() for r in s["records"]]
        report["oracle"] = {key: sum(bool(r.get(key)) for r in rows) for key in
                            ("found", "ranked_first", "applied_exactly", "suite_passes_after_apply")}
        report["oracle"]["total"] = len(rows)
        report["oracle"]["failures"] = [r["id"] for r in rows if not r["fixed"]]
    text = json.dumps(report, indent=2)
    if out_path:
        out_path.write_text(text, encoding="utf-8")
    print(text)
    if args.oracle and report["fixed"] != report["total"]:
        return 1
    return 1 if errors else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default=str(DEFAULT_DATASETS))
    ap.add_argument("--sets", default="quixbugs,humanevalfix")
    ap.add_argument("--limit", type=int, default=10, help="records per set (0 = all)")
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--model", default="embedded")
    ap.add_argument("--oracle", action="store_true",
                    help="feed each record's known fix in as the model's answer (measures the pipeline)")
    ap.add_argument("--budget", type=int, default=3, help="model calls per record")
    ap.add_argument("--initial", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=10.0, help="per-test timeout, seconds")
    ap.add_argument("--sandbox", choices=["docker", "local", "auto"], default="auto")
    ap.add_argument("--pool", type=int, default=2)
    ap.add_argument("--out", help="also write the JSON here (updated after every record)")
    args = ap.parse_args()
    if not (Path(args.datasets) / FILES["quixbugs"]).is_file():
        print(json.dumps({"error": f"{args.datasets}: repair datasets not found"}))
        return 2
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
