"""Solve mode: run the search on a problem with a model and a sandbox, record a reproducible trace.

`solve()` is the engine's public entry point for every front end (CLI, TUI, bench). It records
every model request and answer, plus the run's measurements, in a trace; `replay:TRACE` answers
from that trace and re-uses its measurements, so a replayed run ranks candidates identically.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sandbox.core import Sandbox

from ..engine.budget import Budget
from ..engine.context import EngineContext, EventSink
from ..engine.search import Engine, SearchConfig, SearchControl, SearchResult
from ..models.base import ModelBackend
from ..problems.model import Problem
from ..engine.programmer import slug


def default_trace_path(runs_dir: Path, problem: Problem, method: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return runs_dir / f"{stamp}-{slug(problem.id)}-{method}.jsonl"


def recorded_measurements(trace: Path) -> dict:
    """What a trace measured (costs per program, timings per test), used when it is replayed."""
    costs: dict[str, float] = {}
    tests: dict[tuple[str, str], tuple[float | None, int | None]] = {}
    try:
        with trace.open(encoding="utf-8") as fh:
            for line in fh:
                if '"measurement"' not in line and '"timing"' not in line:
                    continue
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if rec.get("type") == "measurement" and isinstance(rec.get("cpu_ms"), (int, float)):
                    costs[rec["code_hash"]] = float(rec["cpu_ms"])
                elif rec.get("type") == "timing":
                    tests[(rec["code_hash"], rec["test"])] = (rec.get("cpu_ms"), rec.get("peak_rss_kb"))
    except OSError:
        return {}
    return {"cost": costs, "tests": tests}


async def solve(problem: Problem, model: ModelBackend, sandbox: Sandbox, config: SearchConfig,
                on_event: EventSink | None = None, trace: Path | None = None, stream: bool = False,
                control: SearchControl | None = None) -> SearchResult:
    """Search for solutions; the caller owns `model` and `sandbox` (and closes them).

    `control` lets a front end stop the search (it then ranks what it has) and pin or prune nodes."""
    return await _run(problem, model, sandbox, config, on_event, trace, stream, control, None, None)


async def refine(problem: Problem, model: ModelBackend, sandbox: Sandbox, config: SearchConfig,
                 previous: SearchResult, from_node: str, on_event: EventSink | None = None,
                 trace: Path | None = None, control: SearchControl | None = None,
                 stream: bool = False) -> SearchResult:
    """Continue a finished run: `config.rounds` more rounds with the beam seeded by `from_node`;
    the earlier nodes keep their ids and new ones follow, so the tree grows in place."""
    return await _run(problem, model, sandbox, config, on_event, trace, stream, control, previous, from_node)


async def _run(problem, model, sandbox, config, on_event, trace, stream, control, previous, from_node) -> SearchResult:
    from ..models import RecordingModel, ReplayModel, TraceWriter

    control = control or SearchControl()
    measurements: dict = {}
    if isinstance(model, ReplayModel):
        measurements = recorded_measurements(model.path)
    writer = None
    if trace is not None:
        writer = TraceWriter(trace, options={"problem": problem.id, "problem_source": problem.source,
                                             "language": problem.language,
                                             "config": config.model_dump(mode="json"),
                                             "sandbox": sandbox.name, "sandbox_image": sandbox.image_id})
        model = RecordingModel(model, writer)
    budget = Budget(max_calls=config.max_calls, max_tokens=config.max_tokens, max_wall_s=config.max_wall_s)
    ctx = EngineContext(model, sandbox, problem, budget, on_event=on_event, parallel=config.parallel, stream=stream,
                        stop=control.stop)
    engine = Engine(ctx, config, measurements=measurements, control=control, previous=previous)
    started = time.monotonic()
    try:
        result = await (engine.refine_from(from_node) if from_node is not None else engine.run())
    finally:
        if writer is not None:
            for code_hash, cpu_ms in sorted(engine.measured.items()):
                writer.write_record({"type": "measurement", "code_hash": code_hash, "cpu_ms": cpu_ms})
            for rec in engine.test_timings():
                writer.write_record({"type": "timing", **rec})
    if writer is not None:
        writer.write_record({"type": "result", "ranking": result.ranking, "best": result.best_node_id,
                             "stop_reason": result.stop_reason, "wall_s": round(time.monotonic() - started, 3)})
        writer.close()
    return result


def candidate_rows(result: SearchResult) -> list[dict[str, Any]]:
    """The ranked candidates as the CLI, the JSON output and the TUI show them."""
    rows = []
    for rank, node_id in enumerate(result.ranking, 1):
        n = result.node(node_id)
        ex = n.execution
        rows.append({
            "rank": rank,
            "id": n.id,
            "parent": n.parent_id,
            "round": n.round,
            "strategy": n.strategy,
            "visible_passed": ex.passed,
            "visible_total": ex.total,
            "generated_passed": ex.generated_passed,
            "generated_total": len(ex.generated),
            "verdicts": ex.verdicts(),
            "cpu_ms": round(n.final_cpu_ms if n.final_cpu_ms is not None else ex.cpu_ms, 3)
            if (n.final_cpu_ms is not None or ex.cpu_ms is not None) else None,
            "peak_memory_mb": round(ex.peak_rss_kb / 1024, 1) if ex.peak_rss_kb else None,
            "complexity": n.complexity,
            "critic_score": n.critique.score if n.critique else None,
            "critique": n.critique.summary(200) if n.critique else "",
            "compile_error": ex.compile_error,
            "language": n.language,
            "code": n.code,
        })
    return rows


def result_json(result: SearchResult, out: Path | None, trace: Path | None) -> dict[str, Any]:
    """The stable `orps solve --json` document (schema in the README)."""
    rows = candidate_rows(result)
    return {
        "schema": 1,
        "problem": result.problem_id,
        "method": result.method,
        "language": result.language,
        "model": result.model,
        "model_can_chat": result.can_chat,
        "unverified": result.unverified,
        "stop_reason": result.stop_reason,
        "best": rows[0] if rows else None,
        "candidates": rows,
        "invalid_replies": [{"id": n.id, "reason": n.invalid_reason} for n in result.nodes if n.status == "invalid"],
        "duplicates": [{"id": n.id, "of": n.duplicate_of} for n in result.nodes if n.status == "duplicate"],
        "suspect_tests": result.suspect_tests,
        "generated_tests": len(result.generated_tests),
        "counterexamples": result.counterexamples,
        "budget": result.budget,
        "timeline": result.timeline,
        "notices": result.notices,
        "output_file": str(out) if out else None,
        "trace": str(trace) if trace else None,
    }
