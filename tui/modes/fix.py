"""Fix mode in the TUI: `assistant.modes.fix` (prepare -> run_fix) with ranked patches to apply."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text

from assistant.engine.events import Notice
from assistant.engine.node import Node

from ..runner import Resources
from .base import EventSink, ModeJob, Outcome, StoppableModel

if TYPE_CHECKING:
    from ..state import RunState


class FixJob(ModeJob):
    mode = "fix"
    actions = frozenset({"apply"})
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

    async def run(self, resources: Resources, on_event: EventSink) -> Any:
        from assistant.modes.fix import prepare, run_fix, save_run

        def progress(text: str) -> None:
            on_event(Notice(level="info", message=text))

        prep = await asyncio.to_thread(prepare, self.repo, resources.sandbox_settings, resources.sandbox_choice,
                                       resources.warn, progress)
        try:
            model = await resources.model(self.model_spec)
            try:
                result = await run_fix(prep, StoppableModel(model, self.stop), self.config, tests=self.tests,
                                       keyword=self.keyword, on_event=on_event, trace=self.trace)
            finally:
                if not resources.owns(model):
                    await model.aclose()
        finally:
            await asyncio.to_thread(prep.close)
        if result.ranking:  # what `apply` applies from, as `orps fix --apply N` does
            self.saved = await asyncio.to_thread(save_run, result, self.runs_dir)
        return result

    def finish(self, raw: Any) -> Outcome:
        stop = raw.stop_reason
        if raw.status in ("fixed", "partial", "not_fixed") and raw.ranking:
            stop += {"fixed": " · fixed", "partial": " · partly fixed", "not_fixed": " · not fixed"}[raw.status]
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
            rows.append({"rank": None, "id": node.id, "targets_fixed": ex.passed, "targets_total": ex.total,
                         "regressions": None, "suite_passed": None, "suite_total": None,
                         "diff_lines": _changed_lines(node.diff), "suite_time_s": None,
                         "critic_score": node.critique.score if node.critique else None})
        return rows

    def cells(self, row: dict[str, Any]) -> list[Text]:
        ok = row["targets_fixed"] == row["targets_total"]
        targets = Text(f"{row['targets_fixed']}/{row['targets_total']}",
                       style="green" if ok else "yellow" if row["targets_fixed"] else "red")
        reg = row["regressions"]
        regressions = Text("-") if reg is None else Text(str(len(reg)), style="red" if reg else "green")
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
        from assistant.errors import UserError
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
