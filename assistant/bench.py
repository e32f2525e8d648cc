"""Benchmark a search method on a dataset: solve with visible tests, score the pick on HIDDEN tests.

For every function or stdio record the search (`solve()`) runs with the chosen method, model and
call budget; only the record's visible tests (and the engine's own generated tests) steer it and
pick the final candidate. The pick is then scored on the record's hidden tests only:

- passed: every hidden test passes; hidden ratio: the share that passes;
- efficiency: when the pick passes and the record has a reference solution, both run on the
  hidden tests with `repeat=3` in the same sandbox (median CPU time per test, summed); the ratio
  candidate / reference is capped at 10x. It is never divided by a pass rate: it exists only
  for solved problems;
- model calls, tokens and wall time of the search.

Results are appended to a JSONL file, one line per problem, keyed by dataset + id + method +
model + budget, so an interrupted run resumes where it stopped. Each problem's run trace is
written next to the results (RESULTS.traces/). `aggregate()` and `markdown_table()` turn result
lines (from one or several files) into one row per configuration.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sandbox.core import Sandbox

from . import __version__
from .engine.programmer import slug
from .engine.search import SearchConfig
from .errors import UserError
from .models.base import ModelBackend
from .problems.loaders import _id_hint, _parse_jsonl, problem_from_record
from .problems.model import Problem

SCHEMA = 1
EFFICIENCY_CAP = 10.0
SCORE_REPEAT = 3


# --------------------------------------------------------------------------- selecting records

@dataclass
class Selection:
    """The records a bench run works on, and the ones it cannot score (with the reason)."""

    dataset: Path
    display: str
    problems: list[Problem] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)

    @property
    def skipped_reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for s in self.skipped:
            counts[s["reason"]] = counts.get(s["reason"], 0) + 1
        return counts


def parse_ids(text: str | None) -> list[str] | None:
    """`--ids A,B,C` -> ["A", "B", "C"]; None when not given; a UserError when it names nothing."""
    if text is None:
        return None
    ids = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not ids:
        raise UserError(f"--ids {text!r}: no record id given (use --ids ID1,ID2,...)")
    return ids


def select_records(path: Path, limit: int | None = None, ids: list[str] | None = None,
                   display: str | None = None) -> Selection:
    """The dataset's records to benchmark, in file order.

    `ids` keeps only those records (every id must exist); `limit` then keeps the first N records
    (skipped ones count: "the first 20 records"). Repair records, records without hidden tests
    and records that are not valid problems are skipped with a reason."""
    name = display or str(path)
    if limit is not None and limit < 1:
        raise UserError(f"--limit {limit}: must be at least 1")
    if path.is_dir():
        raise UserError(f"{name}: is a directory, not a dataset file (JSON Lines)")
    if not path.exists():
        raise UserError(f"{name}: no such file")
    rows = [(lineno, obj) for lineno, obj in _parse_jsonl(path, name)]
    if not rows:
        raise UserError(f"{name}: the dataset file has no records")
    all_ids = [str(obj["id"]) for _, obj in rows if obj.get("id") is not None]
    if ids is not None:
        missing = [i for i in ids if i not in set(all_ids)]
        if missing:
            raise UserError(f"{name}: no record with id '{missing[0]}'"
                            + (f" (and {len(missing) - 1} more unknown ids)" if len(missing) > 1 else "")
                            + f" ({len(all_ids)} records; {_id_hint(missing[0], all_ids)})")
        wanted = set(ids)
        rows = [(n, obj) for n, obj in rows if str(obj.get("id")) in wanted]
    if limit is not None:
        rows = rows[:limit]
    sel = Selection(dataset=path.resolve(), display=name)
    seen: set[str] = set()
    for lineno, obj in rows:
        rid = obj.get("id")
        if rid is None:
            sel.skipped.append({"id": f"line {lineno}", "reason": "no 'id' field"})
            continue
        rid = str(rid)
        kind = obj.get("kind")
        if rid in seen:
            sel.skipped.append({"id": rid, "reason": "duplicate id (the first record with it is used)"})
            continue
        seen.add(rid)
        if kind == "repair":
            sel.skipped.append({"id": rid, "reason": "repair record (benchmark it with `orps fix`)"})
            continue
        if kind not in ("function", "stdio"):
            sel.skipped.append({"id": rid, "reason": f"kind {kind!r} is not function or stdio"})
            continue
        try:
            problem = problem_from_record(obj, f"{name}#{rid}")
        except UserError as exc:
            sel.skipped.append({"id": rid, "reason": f"not a valid record: {exc}"})
            continue
        if not problem.hidden_tests:
            sel.skipped.append({"id": rid, "reason": "no hidden tests to score on"})
            continue
        sel.problems.append(problem)
    return sel


# --------------------------------------------------------------------------- results file

def config_key(dataset: Path | str, method: str, model: str, budget: int | None) -> list[Any]:
    return [str(dataset), method, model, budget]


def result_key(dataset: Path | str, problem_id: str, method: str, model: str, budget: int | None) -> str:
    """The resume key of one problem's result: dataset + id + method + model + budget."""
    return json.dumps([str(dataset), problem_id, method, model, budget], ensure_ascii=False)


def _record_config(rec: dict[str, Any]) -> list[Any]:
    return config_key(rec.get("dataset", ""), rec.get("method", ""), rec.get("model", ""), rec.get("budget"))


@dataclass
class ResultsFile:
    """An append-only JSONL file of per-problem results (one complete line per problem)."""

    path: Path
    ignored_lines: int = 0

    def load(self) -> list[dict[str, Any]]:
        """Every complete result line; a torn last line (a run killed mid-write) is ignored."""
        self.ignored_lines = 0
        if not self.path.exists():
            return []
        if self.path.is_dir():
            raise UserError(f"{self.path}: is a directory, not a results file")
        out = []
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"{self.path}: cannot read the results file ({exc})") from None
        for line in text.split("\n"):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                self.ignored_lines += 1
                continue
            if isinstance(rec, dict) and rec.get("type") == "bench_result" and "key" in rec:
                out.append(rec)
            else:
                self.ignored_lines += 1
        return out

    def append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self.path.open("a+b") as fh:
            fh.seek(0, os.SEEK_END)
            if fh.tell() > 0:  # after a torn line, start on a fresh one
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    line = "\n" + line
            fh.write(line.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())

    def drop(self, keep: Callable[[dict[str, Any]], bool]) -> int:
        """Rewrite the file with only the records `keep` accepts; returns how many were dropped."""
        records = self.load()
        kept = [r for r in records if keep(r)]
        if len(kept) == len(records) and not self.ignored_lines:
            return 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in kept),
                       encoding="utf-8")
        tmp.replace(self.path)
        return len(records) - len(kept)


def traces_dir(results: Path) -> Path:
    """Run traces of a results file live beside it: RESULTS.traces/."""
    return results.with_name(results.name.removesuffix(".jsonl") + ".traces")


def trace_path(results: Path, key: str, problem_id: str, method: str) -> Path:
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:8]
    return traces_dir(results) / f"{slug(problem_id)}-{method}-{digest}.jsonl"


def default_results_path(base: Path, dataset: Path, method: str, model: str, budget: int | None) -> Path:
    """A stable name per configuration, so running the same command again resumes."""
    return base / f"{slug(dataset.stem)}-{method}-{slug(model)}-b{budget if budget is not None else 'none'}.jsonl"


# --------------------------------------------------------------------------- scoring

async def score_pick(problem: Problem, code: str | None, sandbox: Sandbox,
                     repeat: int = SCORE_REPEAT) -> dict[str, Any]:
    """Score a final pick on the problem's hidden tests, and its CPU time against the reference.

    The efficiency ratio (candidate CPU / reference CPU over the hidden tests, medians of `repeat`
    runs, both in this sandbox) is computed only when the pick passes every hidden test; it is
    capped at 10x and never mixed with the pass rate."""
    hidden = list(problem.hidden_tests)
    out: dict[str, Any] = {"passed": False, "hidden_passed": 0, "hidden_total": len(hidden), "hidden_ratio": 0.0,
                           "hidden_verdicts": {}, "compile_error": None, "cpu_ms": None, "reference_cpu_ms": None,
                           "efficiency": None, "efficiency_raw": None, "efficiency_capped": False,
                           "efficiency_note": None}
    if not code or not hidden:
        return out
    report = await sandbox.arun(problem.job(code, tests=hidden, repeat=repeat))
    out["hidden_passed"] = report.passed
    out["hidden_ratio"] = report.passed / len(hidden)
    out["hidden_verdicts"] = report.verdict_counts()
    out["compile_error"] = report.compile_error
    out["passed"] = report.all_passed and report.total == len(hidden)
    if report.sandbox_error:
        out["sandbox_error"] = report.sandbox_error
    if not out["passed"]:
        return out
    cand_cpu = report.cpu_ms_total()
    out["cpu_ms"] = round(cand_cpu, 3) if cand_cpu is not None else None
    if not problem.reference_solution:
        out["efficiency_note"] = "no reference solution"
        return out
    ref = await sandbox.arun(problem.job(problem.reference_solution, tests=hidden, repeat=repeat))
    ref_cpu = ref.cpu_ms_total()
    out["reference_cpu_ms"] = round(ref_cpu, 3) if ref_cpu is not None else None
    if not ref.all_passed:
        out["efficiency_note"] = f"the reference passes only {ref.passed}/{len(hidden)} hidden tests in this sandbox"
    elif cand_cpu is None or ref_cpu is None:
        out["efficiency_note"] = "CPU time not measured"
    elif ref_cpu <= 0:
        out["efficiency_note"] = "the reference's CPU time is below the timer's resolution"
    else:
        raw = cand_cpu / ref_cpu
        out["efficiency_raw"] = round(raw, 4)
        out["efficiency"] = round(min(raw, EFFICIENCY_CAP), 4)
        out["efficiency_capped"] = raw > EFFICIENCY_CAP
    return out


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


async def bench_problem(problem: Problem, model: ModelBackend, sandbox: Sandbox, config: SearchConfig,
                        dataset: Path, trace: Path | None = None, on_event=None) -> dict[str, Any]:
    """Solve one problem (visible tests only) and score the pick on its hidden tests: one result line."""
    from .modes.solve import solve

    started = time.monotonic()
    result = await solve(problem, model, sandbox, config, on_event=on_event, trace=trace)
    search_wall = time.monotonic() - started
    best = result.best
    code = best.code if best is not None and best.code else None
    t0 = time.monotonic()
    score = await score_pick(problem, code, sandbox)
    score_wall = time.monotonic() - t0
    b = result.budget
    ex = best.execution if best is not None else None
    return {
        "type": "bench_result", "schema": SCHEMA,
        "key": result_key(dataset, problem.id, config.method, model.spec, config.max_calls),
        "dataset": str(dataset), "dataset_name": dataset.name, "id": problem.id, "kind": problem.kind,
        "method": config.method, "model": model.spec, "budget": config.max_calls, "seed": config.seed,
        "no_candidate": code is None,
        **score,
        "pick": best.id if best is not None else None,
        "pick_visible": f"{ex.passed}/{ex.total}" if ex is not None else None,
        "nodes": len(result.nodes),
        "calls": b.get("calls", 0), "tokens": b.get("tokens", 0), "prompt_tokens": b.get("prompt_tokens", 0),
        "completion_tokens": b.get("completion_tokens", 0),
        "wall_s": round(search_wall, 3), "score_wall_s": round(score_wall, 3),
        "timeline": result.timeline, "stop_reason": result.stop_reason,
        "trace": None, "sandbox": sandbox.name, "orps_version": __version__, "finished": _now_iso(),
    }


# --------------------------------------------------------------------------- a bench run

@dataclass
class BenchRun:
    """What one `orps bench` run did: results for the selected problems (resumed + new)."""

    selection: Selection
    results_path: Path
    method: str
    model: str
    budget: int | None
    records: list[dict[str, Any]] = field(default_factory=list)
    resumed: int = 0
    ran: int = 0
    dropped: int = 0
    ignored_lines: int = 0

    def summary(self) -> dict[str, Any]:
        rows = aggregate(self.records)
        if rows:
            return rows[0]
        return empty_row(self.selection.dataset, self.method, self.model, self.budget)

    def document(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "dataset": str(self.selection.dataset),
            "method": self.method, "model": self.model, "budget": self.budget,
            "results_file": str(self.results_path),
            "traces_dir": str(traces_dir(self.results_path)),
            "selected": len(self.selection.problems) + len(self.selection.skipped),
            "benchmarked": len(self.selection.problems),
            "resumed": self.resumed, "ran": self.ran, "dropped_by_fresh": self.dropped,
            "skipped_count": len(self.selection.skipped),
            "skipped_reasons": self.selection.skipped_reasons,
            "skipped": self.selection.skipped,
            "summary": self.summary(),
            "problems": self.records,
        }


ProblemCallback = Callable[[int, int, Problem, "dict[str, Any] | None", bool], None]


async def run_bench(selection: Selection, model: ModelBackend, sandbox: Sandbox, config: SearchConfig,
                    results_path: Path, fresh: bool = False, on_start: Callable[[int, int, Problem], None] | None = None,
                    on_done: ProblemCallback | None = None) -> BenchRun:
    """Benchmark every selected problem, skipping those already in the results file (unless `fresh`).

    `on_start(i, n, problem)` fires before a problem runs; `on_done(i, n, problem, record, resumed)`
    after it (or when it is taken from the file)."""
    results = ResultsFile(results_path)
    mine = config_key(selection.dataset, config.method, model.spec, config.max_calls)
    run = BenchRun(selection=selection, results_path=results_path, method=config.method, model=model.spec,
                   budget=config.max_calls)
    if fresh:
        run.dropped = results.drop(lambda r: _record_config(r) != mine)
    done = {r["key"]: r for r in results.load()}
    run.ignored_lines = results.ignored_lines
    n = len(selection.problems)
    for i, problem in enumerate(selection.problems, 1):
        key = result_key(selection.dataset, problem.id, config.method, model.spec, config.max_calls)
        if key in done:
            run.records.append(done[key])
            run.resumed += 1
            if on_done is not None:
                on_done(i, n, problem, done[key], True)
            continue
        if on_start is not None:
            on_start(i, n, problem)
        trace = trace_path(results_path, key, problem.id, config.method)
        record = await bench_problem(problem, model, sandbox, config, selection.dataset, trace=trace)
        try:
            record["trace"] = str(trace.relative_to(results_path.parent))
        except ValueError:
            record["trace"] = str(trace)
        results.append(record)
        run.records.append(record)
        run.ran += 1
        if on_done is not None:
            on_done(i, n, problem, record, False)
    return run


# --------------------------------------------------------------------------- aggregates and reports

def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 4) if values else None


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 4) if values else None


def empty_row(dataset: Path | str, method: str, model: str, budget: int | None) -> dict[str, Any]:
    return aggregate_group(str(dataset), method, model, budget, [])


def aggregate_group(dataset: str, method: str, model: str, budget: int | None,
                    records: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(records)
    solved = [r for r in records if r.get("passed")]
    effs = [float(r["efficiency"]) for r in solved if isinstance(r.get("efficiency"), (int, float))]
    calls = [int(r.get("calls") or 0) for r in records]
    tokens = [int(r.get("tokens") or 0) for r in records]
    walls = [float(r.get("wall_s") or 0.0) for r in records]
    return {
        "dataset": dataset, "dataset_name": Path(dataset).name if dataset else "",
        "method": method, "model": model, "budget": budget,
        "problems": n, "solved": len(solved),
        "pass_at_1": round(len(solved) / n, 4) if n else None,
        "hidden_pass_ratio_mean": _mean([float(r.get("hidden_ratio") or 0.0) for r in records]),
        "efficiency_mean": _mean(effs), "efficiency_median": _median(effs), "efficiency_n": len(effs),
        "efficiency_capped": sum(1 for r in solved if r.get("efficiency_capped")),
        "no_candidate": sum(1 for r in records if r.get("no_candidate")),
        "calls_total": sum(calls), "calls_mean": _mean([float(c) for c in calls]),
        "tokens_total": sum(tokens), "tokens_mean": _mean([float(t) for t in tokens]),
        "wall_s_total": round(sum(walls), 3), "wall_s_mean": _mean(walls),
        "ids": [r.get("id") for r in records],
    }


def aggregate(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (dataset, method, model, budget), in first-seen order; the last line per key wins."""
    by_key: dict[str, dict[str, Any]] = {}
    for rec in records:
        by_key[rec["key"]] = rec
    groups: dict[str, list[dict[str, Any]]] = {}
    for rec in by_key.values():
        groups.setdefault(json.dumps(_record_config(rec)), []).append(rec)
    rows = []
    for cfg_json, recs in groups.items():
        dataset, method, model, budget = json.loads(cfg_json)
        rows.append(aggregate_group(dataset, method, model, budget, recs))
    return rows


def report_notes(rows: list[dict[str, Any]]) -> list[str]:
    """What a reader must know before comparing the rows."""
    notes = []
    if len(rows) > 1:
        sets = {(r["dataset"], tuple(sorted(map(str, r["ids"])))) for r in rows}
        if len(sets) > 1:
            notes.append("rows cover different problems: compare pass@1 only on the same problem set")
        budgets = {r["budget"] for r in rows if r["method"] != "cot"}
        if len(budgets) > 1:
            notes.append("methods ran with different call budgets: compare methods at the same number of "
                         "model calls (see the calls columns)")
        models = {r["model"] for r in rows}
        if len(models) > 1:
            notes.append("rows use different models")
    if any(r["efficiency_capped"] for r in rows):
        notes.append(f"efficiency ratios are capped at {EFFICIENCY_CAP:g}x")
    return notes


def load_results(paths: list[Path]) -> list[dict[str, Any]]:
    """Result lines from one or more results files; a missing or empty file is a UserError."""
    if not paths:
        raise UserError("--report needs at least one results file (orps bench --report RESULTS.jsonl ...)")
    records: list[dict[str, Any]] = []
    for path in paths:
        if not path.exists():
            raise UserError(f"{path}: no such results file")
        rf = ResultsFile(path)
        found = rf.load()
        if not found:
            raise UserError(f"{path}: no bench results in this file"
                            + (f" ({rf.ignored_lines} lines are not bench results)" if rf.ignored_lines else ""))
        records.extend(found)
    return records


def report_document(paths: list[Path]) -> dict[str, Any]:
    rows = aggregate(load_results(paths))
    return {"schema": SCHEMA, "files": [str(p) for p in paths], "rows": rows, "notes": report_notes(rows)}


def _fmt(value: Any, spec: str = "", suffix: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:{spec}}{suffix}"


def markdown_table(rows: list[dict[str, Any]], notes: list[str] | None = None, title: str | None = None) -> str:
    """The comparison table: one row per method (and model, budget, dataset)."""
    several_datasets = len({r["dataset"] for r in rows}) > 1
    head = (["dataset"] if several_datasets else []) + [
        "method", "model", "budget", "problems", "pass@1", "hidden pass ratio", "efficiency mean",
        "efficiency median", "solved with ratio", "no candidate", "calls (total / mean)",
        "tokens (total / mean)", "wall s (total / mean)"]
    lines = []
    if title:
        lines += [title, ""]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join(" --- " if i < (3 if several_datasets else 2) else " ---: " for i in range(len(head))) + "|")
    for r in rows:
        cells = ([r["dataset_name"]] if several_datasets else []) + [
            r["method"], r["model"], _fmt(r["budget"]), str(r["problems"]),
            f"{r['solved']}/{r['problems']} = {r['pass_at_1']:.1%}" if r["problems"] else "-",
            _fmt(r["hidden_pass_ratio_mean"], ".3f"),
            _fmt(r["efficiency_mean"], ".2f", "x"), _fmt(r["efficiency_median"], ".2f", "x"),
            str(r["efficiency_n"]), str(r["no_candidate"]),
            f"{r['calls_total']} / {_fmt(r['calls_mean'], '.1f')}",
            f"{r['tokens_total']} / {_fmt(r['tokens_mean'], '.0f')}",
            f"{r['wall_s_total']:.0f} / {_fmt(r['wall_s_mean'], '.1f')}"]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    for note in notes or []:
        lines.append("")
        lines.append(f"Note: {note}.")
    return "\n".join(lines) + "\n"


__all__ = ["BenchRun", "EFFICIENCY_CAP", "ResultsFile", "SCORE_REPEAT", "Selection", "aggregate", "bench_problem",
           "default_results_path", "load_results", "markdown_table", "parse_ids", "report_document",
           "report_notes", "result_key", "run_bench", "score_pick", "select_records", "trace_path", "traces_dir"]
