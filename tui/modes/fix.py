"""Fix mode in the TUI: `assistant.modes.fix` (prepare -> run_fix) with ranked patches to apply."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text

from assistant.engine.node import Node, TestOutcome
from assistant.errors import UserError

from ..runner import Resources
from .base import Activity, EventSink, ModeJob, Outcome, StoppableModel

if TYPE_CHECKING:
    from ..state import RunState


class FixJob(ModeJob):
    mode = "fix"
    actions = frozenset({"apply"})
    tests_label = "target tests"
    columns = (("#", "rank", 2), ("id", "id", 3), ("tests", "targets", 5), ("regr", "regressions", 4),
               ("suite", "suite", 5), ("lines", "lines", 5), ("time s", "time", 6), ("critic", "critic", 5))

    def __init__(self, repo: Path, config: Any, model_spec: str, runs_dir: Path, tests: list[str] | None = None,
                 keyword: str | None = None, trace: Path | None = None):
        super().__init__(None, config, model_spec, trace=trace)
        self.repo = Path(repo)
        self.runs_dir = Path(runs_dir)
        self.tests = list(tests or [])
        self.keyword = keyword
        self.saved: Path | None = None

    @property
    def title(self) -> str:
        return self.repo.resolve().name

    @property
    def method(self) -> str:
        return "patch search"

    def can(self, action: str, state: RunState) -> bool | None:
        if action == "apply" and action in self.actions:
            if state.running:
                return None
            return state.result is not None and bool(state.result.ranking)  # a patch to apply
        return super().can(action, state)

    async def run(self, resources: Resources, on_event: EventSink) -> Any:
        from assistant.modes.fix import prepare, run_fix, save_run

        abandoned = threading.Event()

        def progress(text: str) -> None:  # the preparing thread: a cancelled run stops at its next step
            if abandoned.is_set():
                raise UserError("the fix run was cancelled while it prepared the repository")
            on_event(Activity(message=text))

        closing: list[int] = []

        def keep(prep) -> None:  # closed at exit at the latest, even if this run is cancelled meanwhile
            closing.append(resources.close_later(prep.close))

        on_event(Activity(message=f"copying {self.repo} and finding its failing tests"))
        try:
            prep = await resources.open_in_thread(
                lambda: prepare(self.repo, resources.sandbox_settings, resources.sandbox_choice, resources.warn,
                                progress), keep)
        except asyncio.CancelledError:
            abandoned.set()
            raise
        try:
            model = await self.open_model(resources, on_event)
            try:
                result = await run_fix(prep, StoppableModel(model, self.stop), self.config, tests=self.tests,
                                       keyword=self.keyword, on_event=on_event, trace=self.trace, stream=True)
            finally:
                if not resources.owns(model):
                    await model.aclose()
        finally:
            for key in closing:
                resources.forget(key)
            await asyncio.to_thread(prep.close)
        if result.ranking:  # what `apply` applies from, as `orps fix --apply N` does
            self.saved = await asyncio.to_thread(save_run, result, self.runs_dir)
        return result

    def finish(self, raw: Any) -> Outcome:
        stop = raw.stop_reason
        if raw.status in ("fixed", "partial", "not_fixed") and raw.ranking:  # the verdict first: it is what matters
            stop = {"fixed": "fixed", "partial": "partly fixed", "not_fixed": "not fixed"}[raw.status] + " · " + stop
        return Outcome(raw, list(raw.ranking), raw.best_node_id, stop, list(raw.nodes))

    # ------------------------------------------------------------------ presentation

    def rows(self, state: RunState) -> list[dict[str, Any]]:
        from assistant.modes.fix import candidate_rows

        if state.result is not None:
            return candidate_rows(state.result.raw)
        rows = []
        for node in state.nodes.values():
            if not node.runnable:
                continue
            ex = node.execution
            event = state.executed.get(node.id)  # the run event counts regressions before the result lists them
            rows.append({"rank": None, "id": node.id, "targets_fixed": ex.passed, "targets_total": ex.total,
                         "regressions": event.regressions if event is not None else None,
                         "suite_passed": None, "suite_total": None,
                         "diff_lines": _changed_lines(node.diff), "suite_time_s": None,
                         "critic_score": node.critique.score if node.critique else None})
        return rows

    def cells(self, row: dict[str, Any]) -> list[Text]:
        ok = row["targets_fixed"] == row["targets_total"]
        targets = Text(f"{row['targets_fixed']}/{row['targets_total']}",
                       style="green" if ok else "yellow" if row["targets_fixed"] else "red")
        reg = _count(row["regressions"])
        regressions = Text("-") if reg is None else Text(str(reg), style="red" if reg else "green")
        suite = f"{row['suite_passed']}/{row['suite_total']}" if row["suite_total"] is not None else "-"
        t = f"{row['suite_time_s']:.2f}" if row["suite_time_s"] is not None else "-"
        score = f"{row['critic_score']}/5" if row["critic_score"] is not None else "-"
        return [targets, regressions, Text(suite, justify="right"), Text(str(row["diff_lines"]), justify="right"),
                Text(t, justify="right"), Text(score)]

    def code(self, node: Node) -> tuple[str, str] | str:
        if node.diff:
            return node.diff, "diff"
        if node.status == "invalid":
            return f"{node.id}: the edit could not be used: {node.invalid_reason}"
        return f"{node.id}: no patch"

    def export(self, node: Node) -> tuple[str, str] | str:
        if not node.diff:
            return f"{node.id} has no patch"
        return node.diff, f"{self.title}-{node.id}.patch"

    def diff_text(self, node: Node) -> str | None:
        return node.diff

    def diff_vs_original(self, node: Node) -> tuple[str, str] | str:
        return "a patch is itself the diff against your files: the Code tab shows it"

    def test_cases(self, state: RunState) -> list:
        return []

    def extra_outcomes(self, state: RunState, node_id: str) -> tuple[str, list[TestOutcome]]:
        """The suite run of a patch: its regressions (passed before, fail now) and new failures."""
        report = state.result.raw.reports.get(node_id) if state.result is not None else None
        if report is None:
            event = state.executed.get(node_id)
            if event is not None and event.regressions is not None:
                return f"suite: {event.regressions} regressions", []
            return "", []
        if not report.suite_ran:
            return "suite not run (no target test passes with this patch)", []
        outcomes = [TestOutcome(name=tid, verdict="WA", detail="regression: passed before the patch, fails now",
                                traceback=report.failures.get(tid)) for tid in report.regressions]
        outcomes += [TestOutcome(name=tid, verdict="RE", detail="could not run before the patch, fails now",
                                 traceback=report.failures.get(tid)) for tid in report.new_failures]
        summary = f"suite {report.suite_passed}/{report.suite_total} pass, {len(report.regressions)} regressions"
        if report.new_failures:
            summary += f", {len(report.new_failures)} new failures"
        if report.suite_time_s is not None:
            summary += f", {report.suite_time_s:.2f} s"
        return summary, outcomes

    def metric_series(self, state: RunState) -> list:
        from ..widgets.metrics_chart import Series

        fixed, times, lines = [], [], []
        for row in self.rows(state):
            total = row["targets_total"] or 0
            ratio = row["targets_fixed"] / total if total else 0.0
            reg = _count(row["regressions"])
            style = "green" if ratio == 1 and not reg else "yellow" if ratio else "red"
            fixed.append((row["id"], ratio, f"{row['targets_fixed']}/{total}"
                          + (f", {reg} regressions" if reg else ""), style))
            t = row["suite_time_s"]
            times.append((row["id"], t, f"{t:.2f} s" if t is not None else "not run", style))
            lines.append((row["id"], float(row["diff_lines"]), f"{row['diff_lines']} lines", style))
        return [Series("target tests fixed per patch", fixed, ratio=True),
                Series("whole-suite time per patch", times),
                Series("changed lines per patch", lines)]

    # ------------------------------------------------------------------ apply

    def _row(self, node_id: str, outcome: Outcome) -> tuple[int, dict[str, Any]]:
        from assistant.modes.fix import candidate_rows

        rows = candidate_rows(outcome.raw)
        row = next(r for r in rows if r["id"] == node_id)
        return row["rank"], row

    def apply_summary(self, node_id: str, outcome: Outcome) -> str:
        rank, row = self._row(node_id, outcome)
        reg = row["regressions"]
        regressions = "not checked" if reg is None else str(len(reg))
        return (f"Writes {', '.join(row['files'])} in {self.repo} ({row['diff_lines']} changed lines). "
                f"Target tests fixed {row['targets_fixed']}/{row['targets_total']}, regressions {regressions}. "
                "Nothing is written if a file changed since the run.")

    async def apply(self, resources: Resources, node_id: str, outcome: Outcome) -> str:
        from assistant.modes.fix import apply_candidate, load_run

        rank, _ = self._row(node_id, outcome)
        saved = await asyncio.to_thread(load_run, self.runs_dir, self.repo)
        ranked = [c.get("id") for c in saved.get("candidates") or []]
        if len(ranked) < rank or ranked[rank - 1] != node_id:  # another `orps fix` run was saved since
            raise UserError(f"the saved run of {self.repo} changed since this search; nothing was applied - "
                            "run the search again")
        cand, applied = await asyncio.to_thread(apply_candidate, self.runs_dir, self.repo, rank)
        warned = "".join(f"; warning: {w}" for w in applied.warnings)
        return f"applied {node_id} (rank {rank}) to {', '.join(applied.files)}{warned}"


def _changed_lines(diff: str | None) -> int:
    if not diff:
        return 0
    return sum(1 for ln in diff.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---")))


def _count(regressions: list[str] | int | None) -> int | None:
    """Regressions as a number: the result lists them, a run event only counts them."""
    return len(regressions) if isinstance(regressions, list) else regressions
