"""How much sandbox time hides behind generation, with a real model and the real sandbox.

Solves a few dataset records with `solve()` (default: the first 4 HumanEval records, best-of-N,
6 model calls, 2 concurrent requests, the built-in model) and reports, per problem and overall,
the engine's own Timeline figures: model and sandbox busy seconds and `sandbox_hidden_share`
(share of sandbox busy time during which the model was generating). Goal: >= 0.8 overall
(sandbox-time weighted). Exits 1 when it is missed.

The sandbox is wrapped to label each job it runs, so the report also splits sandbox time by
phase: candidate runs (during the search), final measurements of the finalists (repeat > 1) and
the complexity estimate of the pick (scaled inputs); the phases after the last generation cannot
overlap it, which is where a missed goal comes from.
Usage: python benchmarks/overlap.py [--dataset FILE.jsonl] [--limit 4] [--method bon] [--budget 6]
       [--parallel 2] [--model embedded] [--sandbox auto|docker|local]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.bench import select_records  # noqa: E402
from assistant.config import load_settings  # noqa: E402
from assistant.engine.context import Timeline  # noqa: E402
from assistant.engine.search import SearchConfig  # noqa: E402
from assistant.errors import UserError  # noqa: E402
from assistant.models import ModelError, open_model  # noqa: E402
from assistant.modes.solve import solve  # noqa: E402
from sandbox import open_sandbox  # noqa: E402

GOAL = 0.8
DEFAULT_DATASET = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "function" / "humaneval.jsonl"


class LabelledSandbox:
    """The real sandbox, with each job's busy interval recorded under a phase label."""

    def __init__(self, inner, visible_names: set[str]):
        self.inner = inner
        self.visible_names = visible_names
        self.jobs: list[tuple[str, float, float]] = []

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def image_id(self):
        return self.inner.image_id

    def phase(self, job) -> str:
        on_problem_tests = bool(job.tests) and all(
            t.name in self.visible_names or t.name.startswith(("gen-", "counterexample-")) for t in job.tests)
        if on_problem_tests:
            return "final_measurements" if job.repeat > 1 else "candidate_runs"
        return "complexity_and_other"  # scaled inputs (complexity estimate), generated-test validation

    async def arun(self, job, on_result=None):
        t0 = time.monotonic()
        try:
            return await self.inner.arun(job, on_result)
        finally:
            self.jobs.append((self.phase(job), t0, time.monotonic()))


class TimedModel:
    """The real model, with each call's busy interval recorded (for the phase split only)."""

    def __init__(self, inner):
        self._inner = inner
        self.calls: list[tuple[float, float]] = []

    def __getattr__(self, name):
        return getattr(self._inner, name)

    async def complete(self, prompt, options, on_text=None):
        t0 = time.monotonic()
        try:
            return await self._inner.complete(prompt, options, on_text)
        finally:
            self.calls.append((t0, time.monotonic()))

    async def chat(self, messages, options, on_text=None):
        t0 = time.monotonic()
        try:
            return await self._inner.chat(messages, options, on_text)
        finally:
            self.calls.append((t0, time.monotonic()))


def phase_split(jobs: list[tuple[str, float, float]], model_calls: list[tuple[float, float]]) -> dict:
    out = {}
    for phase in ("candidate_runs", "final_measurements", "complexity_and_other"):
        tl = Timeline(model=list(model_calls), sandbox=[(a, b) for p, a, b in jobs if p == phase])
        busy = tl.totals()["sandbox_busy_s"]
        share = tl.sandbox_hidden_share()
        out[phase] = {"jobs": sum(1 for p, _, _ in jobs if p == phase), "sandbox_busy_s": round(busy, 3),
                      "hidden_share": round(share, 3) if share is not None else None}
    return out


async def run(args) -> dict:
    selection = select_records(args.dataset, limit=args.limit)
    if not selection.problems:
        raise UserError(f"{args.dataset}: no function or stdio records with hidden tests in the first {args.limit}")
    model = TimedModel(open_model(args.model))
    inner = open_sandbox(load_settings().sandbox, args.sandbox, warn=lambda m: print(m, file=sys.stderr))
    config = SearchConfig(method=args.method, max_calls=args.budget, parallel=args.parallel)
    problems = []
    try:
        for problem in selection.problems:
            sb = LabelledSandbox(inner, {t.name for t in problem.visible_tests})
            model.calls = []
            t0 = time.monotonic()
            result = await solve(problem, model, sb, config)
            tl = result.timeline
            share = tl.get("sandbox_hidden_share")
            problems.append({
                "id": problem.id, "wall_s": round(time.monotonic() - t0, 2), "calls": result.budget["calls"],
                "nodes": len(result.nodes), "model_busy_s": round(tl["model_busy_s"], 3),
                "sandbox_busy_s": round(tl["sandbox_busy_s"], 3),
                "sandbox_hidden_share": round(share, 3) if share is not None else None,
                "phases": phase_split(sb.jobs, model.calls)})
            print(f"{problem.id}: hidden share {problems[-1]['sandbox_hidden_share']}, "
                  f"sandbox {problems[-1]['sandbox_busy_s']}s, model {problems[-1]['model_busy_s']}s",
                  file=sys.stderr)
    finally:
        await model.aclose()
        inner.close()
    sandbox_total = sum(p["sandbox_busy_s"] for p in problems)
    hidden_total = sum(p["sandbox_busy_s"] * (p["sandbox_hidden_share"] or 0.0) for p in problems)
    share = hidden_total / sandbox_total if sandbox_total > 0 else None
    phases = {}
    for phase in ("candidate_runs", "final_measurements", "complexity_and_other"):
        busy = sum(p["phases"][phase]["sandbox_busy_s"] for p in problems)
        hidden = sum(p["phases"][phase]["sandbox_busy_s"] * (p["phases"][phase]["hidden_share"] or 0.0)
                     for p in problems)
        phases[phase] = {"sandbox_busy_s": round(busy, 3), "hidden_share": round(hidden / busy, 3) if busy else None}
    return {
        "model": model.spec, "note": "270M base model" if model.spec == "embedded" else None,
        "sandbox": inner.name, "method": args.method, "budget": args.budget, "parallel": args.parallel,
        "dataset": Path(args.dataset).name, "problems": problems,
        "model_busy_s": round(sum(p["model_busy_s"] for p in problems), 3),
        "sandbox_busy_s": round(sandbox_total, 3),
        "sandbox_hidden_share": round(share, 3) if share is not None else None,
        "sandbox_hidden_share_by_phase": phases,
        "goal": GOAL, "goal_met": share is not None and share >= GOAL,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    ap.add_argument("--limit", type=int, default=4)
    ap.add_argument("--method", default="bon", choices=["orps", "bon", "cot", "reflexion"])
    ap.add_argument("--budget", type=int, default=6)
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--model", default="embedded")
    ap.add_argument("--sandbox", default=None, choices=["auto", "docker", "local"])
    args = ap.parse_args()
    try:
        report = asyncio.run(run(args))
    except (UserError, ModelError) as exc:
        print(f"overlap: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report, indent=2))
    return 0 if report["goal_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
