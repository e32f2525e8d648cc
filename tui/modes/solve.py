"""Solve mode in the TUI: `assistant.modes.solve.solve()` with its events and ranked candidates."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rich.text import Text

from assistant.engine.node import Execution
from assistant.engine.search import SearchConfig, SearchControl, SearchResult
from assistant.problems.model import Problem
from sandbox.api import TestCase

from ..format import fmt_ms
from ..runner import Resources
from .base import EventSink, ModeJob, Outcome, StoppableModel

if TYPE_CHECKING:
    from ..state import RunState


def refine_entry_point() -> Callable[..., Any] | None:
    """`assistant.modes.solve.refine`, the engine entry point "continue refining from a node":
    `config.rounds` more rounds with the beam seeded by one node, keeping the earlier nodes (and
    their ids) so the tree grows in place."""
    from assistant.modes import solve as solve_mode
    return getattr(solve_mode, "refine", None)


def _unranked(nodes: list, ids: list[str]) -> SearchResult:
    """A SearchResult shell around the snapshots so far, only to reuse `candidate_rows`."""
    by_id = {n.id: n for n in nodes}
    return SearchResult.model_construct(problem_id="", method="orps", model="", can_chat=True,
                                        nodes=[by_id[i] for i in ids], ranking=ids, best_node_id=None,
                                        stop_reason="", config=SearchConfig())


class SolveJob(ModeJob):
    mode = "solve"
    actions = frozenset({"rerun", "refine"})
    # (label, key, fixed width or None for auto): fixed widths keep the columns still during a live
    # run, and all but the complexity fit beside the tree at 80 columns
    columns = (("#", "rank", 2), ("id", "id", 3), ("pass", "pass", 5), ("gen", "gen", 5), ("CPU ms", "cpu", 6),
               ("MB", "mem", 4), ("critic", "critic", 6), ("complexity", "complexity", None))

    def __init__(self, problem: Problem, config: SearchConfig, model_spec: str, **kw: Any):
        super().__init__(problem, config, model_spec, **kw)
        if self.original is None and problem.starter_code:
            self.original = problem.starter_code
        # a replayed run keeps the trace's measurements only with the replay model itself
        self.graceful_stop = not model_spec.strip().lower().startswith("replay")
        self.control = SearchControl()  # pins and prunes made while the search runs steer its beam

    def request_stop(self) -> None:
        self.control.stop.set()
        super().request_stop()

    def can(self, action: str, state: RunState) -> bool | None:
        if action == "refine" and action in self.actions:
            if self.model_can_chat is False:
                return False  # a completion-only model gets no refinement, running or not
            if state.running:
                return None
            return state.result is not None and bool(state.result.raw.can_chat)
        return super().can(action, state)

    async def run(self, resources: Resources, on_event: EventSink) -> SearchResult:
        from assistant.modes.solve import solve

        model = await self.open_model(resources, on_event)
        try:
            sandbox = await self.open_sandbox(resources, on_event)
            engine_model = StoppableModel(model, self.stop) if self.graceful_stop else model
            return await solve(self.problem, engine_model, sandbox, self.config, on_event=on_event, trace=self.trace,
                               control=self.control, stream=True)
        finally:
            if not resources.owns(model):
                await model.aclose()

    def finish(self, raw: SearchResult) -> Outcome:
        return Outcome(raw, list(raw.ranking), raw.best_node_id, raw.stop_reason, list(raw.nodes))

    # ------------------------------------------------------------------ presentation

    def rows(self, state: RunState) -> list[dict[str, Any]]:
        from assistant.modes.solve import candidate_rows

        if state.result is not None:
            return candidate_rows(state.result.raw)
        ids = [n.id for n in state.nodes.values() if n.runnable]
        rows = candidate_rows(_unranked(list(state.nodes.values()), ids))
        for r in rows:
            r["rank"] = None
        return rows

    def cells(self, row: dict[str, Any]) -> list[Text]:
        ok = row["visible_total"] and row["visible_passed"] == row["visible_total"]
        passed = Text(f"{row['visible_passed']}/{row['visible_total']}",
                      style="green" if ok else "yellow" if row["visible_passed"] else "red")
        if row["compile_error"]:
            passed = Text("CE", style="bold blue")
        gen = f"{row['generated_passed']}/{row['generated_total']}" if row["generated_total"] else "-"
        mb = row["peak_memory_mb"]
        mem = "-" if not mb else f"{mb:.1f}" if mb < 100 else f"{mb:.0f}"
        score = f"{row['critic_score']}/5" if row["critic_score"] is not None else "-"
        return [passed, Text(gen), Text(fmt_ms(row["cpu_ms"]), justify="right"), Text(mem, justify="right"),
                Text(score), Text(row["complexity"] or "-")]

    def test_cases(self, state: RunState) -> list[TestCase]:
        cases = list(self.problem.visible_tests)
        if state.result is not None:
            cases += list(state.result.raw.generated_tests)
        return cases

    # ------------------------------------------------------------------ actions

    async def rerun(self, resources: Resources, code: str, outcome: Outcome | None) -> tuple[Execution, str]:
        """Run `code` again on the visible tests (and the run's generated tests, once known)."""
        sandbox = await resources.sandbox()
        visible = list(self.problem.visible_tests)
        generated = list(outcome.raw.generated_tests) if outcome is not None else []
        report = await sandbox.arun(self.problem.job(code, tests=visible + generated))
        return Execution.from_report(report, len(visible)), sandbox.name

    def refine_job(self, outcome: Outcome, node_id: str) -> ModeJob | None:
        entry = refine_entry_point()
        if entry is None:
            return None
        return RefineJob(self, outcome.raw, node_id, entry)


class RefineJob(SolveJob):
    """Continue a finished solve run from one of its nodes (needs the engine's `refine`)."""

    def __init__(self, base: SolveJob, previous: SearchResult, node_id: str, entry: Callable[..., Any]):
        super().__init__(base.problem, base.config, base.model_spec, original=base.original, trace=None,
                         label=f"refining from {node_id}")
        self.model_can_chat = base.model_can_chat
        self.previous = previous
        self.node_id = node_id
        self._entry = entry

    async def run(self, resources: Resources, on_event: EventSink) -> SearchResult:
        model = await self.open_model(resources, on_event)
        try:
            sandbox = await self.open_sandbox(resources, on_event)
            engine_model = StoppableModel(model, self.stop) if self.graceful_stop else model
            return await self._entry(self.problem, engine_model, sandbox, self.config, self.previous, self.node_id,
                                     on_event=on_event, control=self.control, stream=True)
        finally:
            if not resources.owns(model):
                await model.aclose()
