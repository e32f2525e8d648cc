"""Hint mode in the TUI: `HintSession` (check the program, find the smallest repair), then one
validated hint per key press. The repair stays hidden unless asked for (it is the answer)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text

from assistant.engine.node import Node
from assistant.textsafe import printable
from assistant.problems.model import Problem

from ..runner import Resources
from .base import EventSink, ModeJob, Outcome, StoppableModel

if TYPE_CHECKING:
    from ..state import RunState

HIDDEN = "the repair is hidden in hint mode (it is the answer); press v to show it"


class HintJob(ModeJob):
    mode = "hint"
    actions = frozenset({"hint", "reveal"})
    tests_label = "tests"
    columns = (("#", "rank", 2), ("id", "id", 3), ("pass", "pass", 5), ("edit", "distance", 5),
               ("status", "status", None))

    def __init__(self, program: str, problem: Problem, config: Any, model_spec: str,
                 student_spec: str | None = None, program_name: str = "program.py"):
        super().__init__(problem, config, model_spec, original=program, label=f"hints for {program_name}")
        self.program = program
        self.program_name = program_name
        self.student_spec = student_spec
        self.session = None
        self.show_repair = False

    @property
    def method(self) -> str:
        return f"k={self.config.k}"

    @property
    def max_rounds(self) -> int | None:
        return self.config.repair_rounds

    def can(self, action: str, state: RunState) -> bool | None:
        if action not in self.actions:
            return False
        if state.running or state.busy:
            return None
        raw = state.result.raw if state.result is not None else None
        if raw is None:
            return False
        if action == "hint":  # a failing program with levels left
            return not raw.check.all_passed and len(raw.ladder) < 4
        return raw.repair is not None  # reveal: there is a repair to show

    async def run(self, resources: Resources, on_event: EventSink) -> Any:
        from assistant.modes.hint import HintSession

        tutor = await self.open_model(resources, on_event)
        student = await self.open_model(resources, on_event, self.student_spec) if self.student_spec else None
        sandbox = await self.open_sandbox(resources, on_event)
        self.session = HintSession(self.program, self.problem, StoppableModel(tutor, self.stop),
                                   StoppableModel(student, self.stop) if student is not None else None, sandbox,
                                   self.config, on_event, stream=True)
        return await self.session.prepare()

    def finish(self, raw: Any) -> Outcome:
        passing = sorted((c for c in raw.candidates if c.total and c.passed == c.total and c.distance is not None),
                         key=lambda c: c.distance)
        if raw.status == "correct":
            stop = f"the program already passes all {raw.check.total} tests: no hint needed"
        else:
            stop = (f"{raw.check.passed}/{raw.check.total} tests pass; "
                    + (f"smallest repair changes {raw.repair.distance} tokens" if raw.repair else "no repair found")
                    + "; press h for the first hint")
        return Outcome(raw, [c.id for c in passing], raw.repair.node_id if raw.repair else None, stop, [])

    # ------------------------------------------------------------------ presentation

    def rows(self, state: RunState) -> list[dict[str, Any]]:
        ranking = state.result.ranking if state.result is not None else []
        distance = {c.id: c.distance for c in state.result.raw.candidates} if state.result is not None else {}
        rows = []
        for node in state.nodes.values():
            if not node.runnable:
                continue
            ex = node.execution
            rows.append({"rank": ranking.index(node.id) + 1 if node.id in ranking else None, "id": node.id,
                         "passed": ex.passed, "total": ex.total, "distance": distance.get(node.id),
                         "status": "repair" if state.result is not None and node.id == state.result.best_node_id
                         else "passes" if ex.total and ex.passed == ex.total else "fails"})
        rows.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0))
        return rows

    def cells(self, row: dict[str, Any]) -> list[Text]:
        ok = row["total"] and row["passed"] == row["total"]
        return [Text(f"{row['passed']}/{row['total']}", style="green" if ok else "red"),
                Text(str(row["distance"]) if row["distance"] is not None else "-", justify="right"),
                Text(row["status"], style="bold green" if row["status"] == "repair" else "")]

    def code(self, node: Node) -> tuple[str, str] | str:
        if not self.show_repair:
            return HIDDEN
        return super().code(node)

    def export(self, node: Node) -> tuple[str, str] | str:
        if not self.show_repair:
            return HIDDEN
        return super().export(node)

    def diff_text(self, node: Node) -> str | None:
        return (node.code or None) if self.show_repair else None

    def diff_vs_original(self, node: Node) -> tuple[str, str] | str:
        if not self.show_repair:
            return HIDDEN
        return self.program, node.code

    # ------------------------------------------------------------------ hints

    async def next_hint(self, resources: Resources) -> str | None:
        if self.session is None or self.session.result is None:
            return None
        entry = await self.session.next_level()
        if entry is None:
            self.session.finish()
            return None
        if not entry.text:
            return f"hint {entry.level} ({entry.name}): no hint passed the guards"
        kept = "" if entry.kept is None else " (kept by validation)" if entry.kept else " (not kept: it did not help)"
        return f"hint {entry.level} ({entry.name}){kept}: {entry.text}"

    def hints_markdown(self) -> str:
        result = self.session.result if self.session is not None else None
        if result is None:
            return "_the program is being checked_"
        if result.check.all_passed:
            return "The program passes every test: no hint needed."
        parts = [f"**{result.check.passed}/{result.check.total} tests pass.** Press **h** for the next hint."]
        for h in result.ladder:
            parts.append(f"### Hint {h.level}: {h.name}")
            parts.append(h.text or "_no hint passed the guards (leak, length, repetition)_")
            v = h.validation
            if v is not None:
                verdict = "kept" if v.kept else "not kept"
                parts.append(f"_validation: the student model repaired the program {v.with_hint}/{v.k} times "
                             f"with this hint and {v.without_hint}/{v.k} without ({verdict})_")
        if len(result.ladder) >= 4:
            parts.append("_every level is shown_")
        return printable("\n\n".join(parts) + "\n")
