"""The run screen: the live search tree, ranked candidates and a detail pane, with actions."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import traceback
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, RichLog, TabbedContent, Tree

from assistant.engine.events import Event, ModelText
from assistant.errors import UserError

from ..modes.base import ModeJob
from ..state import Rerun, RunState
from ..widgets.candidate_table import CandidateTable
from ..widgets.code_view import CodeView
from ..widgets.critique_view import CritiqueView
from ..widgets.detail_pane import TABS, DetailPane
from ..widgets.diff_view import BASES, DiffView
from ..widgets.metrics_chart import MetricsChart
from ..widgets.run_status import RunStatusBar
from ..widgets.search_tree import SearchTree
from ..widgets.test_verdicts import TestVerdicts
from .dialogs import ConfirmScreen, PathScreen

log = logging.getLogger(__name__)


def error_line(exc: BaseException) -> str:
    """One clear line: a user error as it is, anything else with its type."""
    from sandbox.api import SandboxError
    text = str(exc).strip()
    if not isinstance(exc, (UserError, SandboxError)):
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text.splitlines()[0] if text else "unknown error"


def event_line(event: Event) -> Text | None:
    """The run log's line for an event (as the CLI prints progress)."""
    t = Text(f"{event.t:6.1f}s ", style="dim")
    kind = event.type
    if kind == "node_created":
        origin = f"from {event.parent_id}" if event.parent_id else "new"
        if event.invalid:
            return t.append(f"{event.node_id} ({origin}, round {event.round}): no program - {event.invalid}", "red")
        if event.duplicate_of:
            return t.append(f"{event.node_id} ({origin}): same program as {event.duplicate_of}, not rerun")
        return t.append(f"{event.node_id} ({origin}, round {event.round}): {event.strategy}")
    if kind == "node_executed":
        cpu = f", {event.cpu_ms:.1f} ms CPU" if event.cpu_ms is not None else ""
        gen = f", generated {event.generated_passed}/{event.generated_total}" if event.generated_total else ""
        ce = " compile error" if event.compile_error else ""
        return t.append(f"{event.node_id} ran: {event.passed}/{event.total} passed{gen}{cpu}{ce}")
    if kind == "node_critiqued":
        score = f"{event.score}/5" if event.score is not None else "no score"
        return t.append(f"{event.node_id} critic {score}: {event.summary}")
    if kind == "node_pruned":
        return t.append(f"{event.node_id} pruned: {event.reason}", "dim")
    if kind == "round_done":
        return t.append(f"round {event.round} done: best {event.best_node_id} ({event.best_pass_ratio:.0%} visible), "
                        f"beam {', '.join(event.beam)}", "bold")
    if kind == "notice":
        style = {"warning": "yellow", "error": "red"}.get(event.level, "cyan")
        return t.append(f"{event.level}: {event.message}", style)
    if kind == "finished":
        return t.append(f"finished: {event.stop_reason}", "bold")
    return None


class EngineEvent(Message):
    """An engine event, posted from the engine thread."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class RunEnded(Message):
    def __init__(self, result: Any, error: str | None = None, cancelled: bool = False) -> None:
        super().__init__()
        self.result, self.error, self.cancelled = result, error, cancelled


class RunScreen(Screen):
    BINDINGS = [
        Binding("escape", "stop_or_back", "Stop/Back"),
        Binding("w", "save", "Save"),
        Binding("c", "copy", "Copy"),
        Binding("r", "rerun", "Re-run"),
        Binding("p", "pin", "Pin"),
        Binding("x", "prune", "Prune"),
        Binding("f", "refine", "Refine"),
        Binding("a", "apply", "Apply"),
        Binding("h", "hint", "Next hint"),
        Binding("v", "reveal", "Show repair"),
        Binding("d", "cycle_diff", "Diff base"),
        Binding("z", "zoom", "Zoom"),
        *[Binding(str(i), f"tab('{tab}')", label, show=False) for i, (tab, label) in enumerate(TABS, 1)],
    ]

    def __init__(self, job: ModeJob, **kw) -> None:
        super().__init__(**kw)
        self.job = job
        self.state = RunState()
        self.selected: str | None = None
        self._future: concurrent.futures.Future | None = None
        self.sub_title = self._subtitle()

    def _subtitle(self) -> str:
        spec = self.job.model_spec
        if spec.startswith("replay:"):
            spec = "replay:" + Path(spec[len("replay:"):]).name
        parts = [self.job.mode, self.job.title, self.job.label or spec, self.job.method]
        return " · ".join(parts)

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        yield RunStatusBar(id="run-status")
        with Horizontal(id="run-body"):
            yield SearchTree(self.job.title, id="search-tree")
            with Vertical(id="run-right"):
                yield CandidateTable(self.job, id="candidates")
                yield DetailPane(id="detail")
        yield Footer()

    def on_mount(self) -> None:
        if self.job.supports("hint"):
            from textual.widgets import Markdown, TabPane
            from textual.containers import VerticalScroll
            pane = TabPane("Hints", VerticalScroll(Markdown(self.job.hints_markdown(), id="hints-md"),
                                                   classes="hints-scroll"), id="hints")
            self.query_one("#detail-tabs", TabbedContent).add_pane(pane, before="code")
        self.query_one(CandidateTable).focus()
        self._refresh_status()
        self.start()

    def on_resize(self) -> None:
        self._refresh_status()

    # ------------------------------------------------------------------ the run

    def start(self) -> None:
        self.state.status = "starting"
        self.state.error = None
        self.state.max_rounds = self.job.max_rounds
        self.run_worker(self._run(), exclusive=True, group="engine", exit_on_error=False)

    async def _run(self) -> None:
        def on_event(event: Event) -> None:  # the engine thread
            if isinstance(event, ModelText):
                return
            self.post_message(EngineEvent(event.model_copy(deep=True)))

        app = self.app
        self._future = app.engine.submit(self.job.run(app.resources, on_event))
        try:
            result = await asyncio.wrap_future(self._future)
        except (asyncio.CancelledError, concurrent.futures.CancelledError):
            self.post_message(RunEnded(None, cancelled=True))
            return
        except Exception as exc:  # shown as one line; the traceback goes to the run log
            self.post_message(RunEnded(None, error=error_line(exc)))
            if not isinstance(exc, UserError):
                self._log_text(Text("".join(traceback.format_exception(exc)), style="red"))
            return
        self.post_message(RunEnded(result))

    @on(EngineEvent)
    def _on_engine_event(self, message: EngineEvent) -> None:
        event = message.event
        changed = self.state.apply(event)
        line = event_line(event)
        if line is not None:
            self._log_text(line)
        if event.type == "notice":
            severity = {"warning": "warning", "error": "error"}.get(event.level, "information")
            self.notify(event.message, severity=severity, timeout=8 if severity != "information" else 4)
        tree = self.query_one(SearchTree)
        if changed is not None:
            tree.update_node(self.state, changed)
            if self.selected is None:
                self.select(changed)
        if changed is not None or event.type in ("round_done", "finished"):
            self._refresh_table()
            self.query_one(MetricsChart).show(self.state)
        if changed is not None and changed == self.selected:
            self._refresh_detail()
        self._refresh_status()

    @on(RunEnded)
    def _on_run_ended(self, message: RunEnded) -> None:
        if message.result is not None:
            try:
                outcome = self.job.finish(message.result)
            except Exception as exc:  # a result the screen cannot show is an error, not a crash
                self.state.status = "failed"
                self.state.error = error_line(exc)
                self.notify(self.state.error, severity="error")
                return
            self.state.set_result(outcome)
            best = outcome.best_node_id
            self.notify(f"{self.job.mode} finished: {outcome.stop_reason}"
                        + (f"; best {best}" if best else "; no runnable candidate"),
                        severity="information" if best else "warning")
            if best:
                self.select(best, move_cursor=True)
        elif message.cancelled:
            self.state.status = "cancelled"
            kept = sum(1 for n in self.state.nodes.values() if n.runnable)
            self.notify(f"search cancelled: {kept} candidates kept, unranked", severity="warning")
        else:
            self.state.status = "failed"
            self.state.error = message.error
            self.notify(message.error or "the run failed", severity="error", timeout=12)
        self.query_one(SearchTree).refresh_all(self.state)
        self._refresh_table()
        self.query_one(MetricsChart).show(self.state)
        self._refresh_detail()
        self._refresh_status()
        self._refresh_hints()
        if self.job.supports("hint") and message.result is not None:
            self.query_one(DetailPane).active = "hints"
        self.refresh_bindings()

    # ------------------------------------------------------------------ selection and refresh

    def select(self, node_id: str | None, move_cursor: bool = False) -> None:
        if node_id is None or node_id not in self.state.nodes:
            return
        changed = node_id != self.selected
        self.selected = node_id
        if move_cursor:
            table = self.query_one(CandidateTable)
            if node_id in table.row_ids and table.selected_id() != node_id:
                table.move_cursor(row=table.row_ids.index(node_id), animate=False)
            self.query_one(SearchTree).select_node_id(node_id)
        if changed or move_cursor:
            self._refresh_detail()

    @on(DataTable.RowHighlighted, "#candidates")
    def _on_candidate_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key is not None and event.row_key.value:
            self.select(event.row_key.value)

    @on(Tree.NodeHighlighted, "#search-tree")
    def _on_tree_highlighted(self, event: Tree.NodeHighlighted) -> None:
        if event.node.data:
            self.select(event.node.data)

    def _refresh_table(self) -> None:
        self.query_one(CandidateTable).show(self.state, keep=self.selected)

    def _refresh_status(self) -> None:
        self.query_one(RunStatusBar).show(self.state, self.job.max_rounds)

    def _log_text(self, text: Text) -> None:
        self.query_one("#run-log", RichLog).write(text)

    def _diff(self, node_id: str) -> tuple[str | None, str | None, str | None, str]:
        """(base name, base text, node text, why none) for the diff tab's current base."""
        node = self.state.nodes[node_id]
        base = self.query_one(DiffView).base
        mine = self.job.diff_text(node)
        if base == "original":
            pair = self.job.diff_vs_original(node)
            if isinstance(pair, str):
                return None, None, None, pair
            return "original", pair[0], pair[1], ""
        if base == "parent":
            other = self.state.node(node.parent_id)
            if other is None:
                return None, None, None, "a first-round candidate: no parent to compare with"
        else:
            other = self.state.node(self.state.best_node_id)
            if other is None:
                return None, None, None, "no best candidate yet"
            if other.id == node_id:
                return None, None, None, "this is the best candidate"
        theirs = self.job.diff_text(other)
        if mine is None or theirs is None:
            return None, None, None, "nothing to compare in this mode"
        return other.id, theirs, mine, ""

    def _refresh_detail(self) -> None:
        node = self.state.node(self.selected)
        code_view = self.query_one("#code-view", CodeView)
        diff_view = self.query_one(DiffView)
        if node is None:
            code_view.show_message("select a candidate")
            diff_view.show(None, None, None, None)
            self.query_one(CritiqueView).show(None)
            self.query_one(TestVerdicts).show(None, None)
            return
        code = self.job.code(node)
        if isinstance(code, str):
            code_view.show_message(code)
        else:
            code_view.show(*code)
        base_name, base_text, text, why = self._diff(node.id)
        diff_view.show(node.id, text, base_name, base_text, why)
        self.query_one(CritiqueView).show(node, self.state.pruned.get(node.id))
        execution, source = self.state.execution(node.id)
        self.query_one(TestVerdicts).show(node.id, execution, source, self.job.test_cases(self.state))

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action in ("apply", "hint", "rerun", "refine", "reveal") and not self.job.supports(action):
            return False
        if action == "refine" and self.state.running:
            return None  # shown, disabled while the search runs
        return True

    def _selected_node(self, need_code: bool = True):
        node = self.state.node(self.selected)
        if node is None:
            self.notify("select a candidate first", severity="warning")
            return None
        if need_code and not node.code:
            self.notify(f"{node.id} has no program", severity="warning")
            return None
        return node

    def action_stop_or_back(self) -> None:
        if self.state.running and self._future is not None:
            if self.job.graceful_stop and self.state.status != "stopping":
                self.job.stop.set()
                self.state.status = "stopping"
                self.notify("stopping: no new model calls; the candidates so far will be ranked "
                            "(escape again to cancel at once)", severity="warning")
            else:
                self._future.cancel()
            self._refresh_status()
            return
        self.app.action_home()

    def action_tab(self, tab: str) -> None:
        self.query_one(DetailPane).active = tab

    def action_cycle_diff(self) -> None:
        diff, pane = self.query_one(DiffView), self.query_one(DetailPane)
        if pane.active == "diff":  # the first press shows the diff, the next ones change its base
            diff.base = BASES[(BASES.index(diff.base) + 1) % len(BASES)]
        pane.active = "diff"
        self._refresh_detail()

    def action_zoom(self) -> None:
        if self.maximized is not None:
            self.minimize()
            return
        widget = self.focused
        target = widget
        while target is not None and not isinstance(target, (SearchTree, CandidateTable, DetailPane)):
            target = target.parent
        self.maximize(target or self.query_one(DetailPane), container=False)

    def _export(self):
        node = self._selected_node(need_code=False)
        if node is None:
            return None, None
        export = self.job.export(node)
        if isinstance(export, str):
            self.notify(export, severity="warning")
            return None, None
        return node, export

    def action_copy(self) -> None:
        node, export = self._export()
        if node is None:
            return
        self.app.copy_to_clipboard(export[0])
        self.notify(f"{node.id} copied to the clipboard ({len(export[0].splitlines())} lines)")

    def action_save(self) -> None:
        node, export = self._export()
        if node is None:
            return
        text, default = export

        def chosen(path: str | None) -> None:
            if path:
                self._save_to(Path(path).expanduser(), node.id, text)

        self.app.push_screen(PathScreen(f"Save {node.id} to", default), chosen)

    def _save_to(self, path: Path, node_id: str, code: str, overwrite: bool = False) -> None:
        if path.exists() and not overwrite:
            def confirmed(yes: bool | None) -> None:
                if yes:
                    self._save_to(path, node_id, code, overwrite=True)
            self.app.push_screen(ConfirmScreen(f"{path} exists. Overwrite it?", yes="Overwrite"), confirmed)
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(code, encoding="utf-8")
        except OSError as exc:
            self.notify(f"{path}: cannot write ({exc.strerror or exc})", severity="error")
            return
        self.notify(f"{node_id} saved to {path}")

    def action_pin(self) -> None:
        node = self._selected_node(need_code=False)
        if node is None:
            return
        self.state.pinned.symmetric_difference_update({node.id})
        self.state.hidden.discard(node.id)
        steering = self._steer(node.id)
        self._after_mark(node.id)
        if node.id in self.state.pinned:
            self.notify(f"{node.id} pinned: listed first" + ("; the search keeps it in its beam" if steering else ""))
        else:
            self.notify(f"{node.id} unpinned")

    def action_prune(self) -> None:
        node = self._selected_node(need_code=False)
        if node is None:
            return
        self.state.hidden.symmetric_difference_update({node.id})
        self.state.pinned.discard(node.id)
        steering = self._steer(node.id)
        self._after_mark(node.id)
        if node.id in self.state.hidden:
            self.notify(f"{node.id} pruned: dimmed, listed last" +
                        ("; the search will not refine it" if steering else " (the search has ended)"))
        else:
            self.notify(f"{node.id} restored")

    def _steer(self, node_id: str) -> bool:
        """While the engine runs, pins and prunes steer its beam (SearchControl); True if they did."""
        control = getattr(self.job, "control", None)
        if control is None or self.state.status not in ("running", "stopping"):
            return False
        for marks, chosen in ((control.pinned, self.state.pinned), (control.pruned, self.state.hidden)):
            if node_id in chosen:
                marks.add(node_id)
            else:
                marks.discard(node_id)
        return True

    def _after_mark(self, node_id: str) -> None:
        self.query_one(SearchTree).update_node(self.state, node_id)
        self._refresh_table()

    def action_rerun(self) -> None:
        node = self._selected_node()
        if node is None or not self.job.supports("rerun"):
            return
        self.notify(f"re-running {node.id} in the sandbox")
        self.run_worker(self._rerun(node.id, node.code), group="rerun", exit_on_error=False)

    async def _rerun(self, node_id: str, code: str) -> None:
        future = self.app.engine.submit(self.job.rerun(self.app.resources, code, self.state.result))
        try:
            execution, sandbox_name = await asyncio.wrap_future(future)
        except Exception as exc:
            self.notify(f"re-run of {node_id} failed: {error_line(exc)}", severity="error")
            return
        self.state.reruns[node_id] = Rerun(execution, sandbox_name)
        self.query_one(SearchTree).update_node(self.state, node_id)
        self.query_one(MetricsChart).show(self.state)
        if node_id == self.selected:
            self._refresh_detail()
        cpu = f", {execution.cpu_ms:.1f} ms CPU" if execution.cpu_ms is not None else ""
        gen = f", {execution.generated_passed}/{len(execution.generated)} generated" if execution.generated else ""
        self.notify(f"{node_id} re-run: {execution.passed}/{execution.total} visible{gen}{cpu}")
        self._log_text(Text(f"re-run {node_id} ({sandbox_name} sandbox): {execution.passed}/{execution.total} "
                            f"visible{gen}{cpu}"))

    def action_refine(self) -> None:
        node = self._selected_node()
        if node is None:
            return
        if self.state.running:
            self.notify("the search is still running", severity="warning")
            return
        if self.state.result is None:
            self.notify("refining needs a finished run (this one was cancelled or failed)", severity="warning")
            return
        job = self.job.refine_job(self.state.result, node.id)
        if job is None:
            self.notify("continuing from a node needs the engine entry point assistant.modes.solve.refine, "
                        "which this version does not have", severity="error")
            return
        self.job = job
        self.state.result = None
        self.state.finished = None
        self.sub_title = self._subtitle()
        self.start()

    def action_apply(self) -> None:
        node = self._selected_node(need_code=False)
        if node is None or not self.job.supports("apply"):
            return
        if self.state.result is None or node.id not in self.state.result.ranking:
            self.notify("only a ranked candidate of a finished run can be applied", severity="warning")
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.run_worker(self._apply(node.id), group="apply", exit_on_error=False)

        self.app.push_screen(ConfirmScreen(f"Apply {node.id}'s patch?", self.job.apply_summary(node.id, self.state.result),
                                           yes="Apply"), confirmed)

    async def _apply(self, node_id: str) -> None:
        future = self.app.engine.submit(self.job.apply(self.app.resources, node_id, self.state.result))
        try:
            message = await asyncio.wrap_future(future)
        except Exception as exc:
            self.notify(f"applying {node_id} failed: {error_line(exc)}", severity="error")
            return
        self.notify(message)
        self._log_text(Text(message, style="bold"))

    def action_hint(self) -> None:
        if not self.job.supports("hint"):
            return
        if self.state.result is None:
            self.notify("hints come once the program is checked and a repair is found", severity="warning")
            return
        self.notify("writing and validating the next hint")
        self.run_worker(self._hint(), group="hint", exclusive=True, exit_on_error=False)

    def action_reveal(self) -> None:
        if self.job.supports("reveal"):
            self.job.show_repair = not self.job.show_repair
            self._refresh_detail()
            self.notify("the repair is shown" if self.job.show_repair else "the repair is hidden")

    def _refresh_hints(self) -> None:
        if self.job.supports("hint"):
            from textual.widgets import Markdown
            self.query_one("#hints-md", Markdown).update(self.job.hints_markdown())

    async def _hint(self) -> None:
        future = self.app.engine.submit(self.job.next_hint(self.app.resources))
        try:
            hint = await asyncio.wrap_future(future)
        except Exception as exc:
            self.notify(f"no hint: {error_line(exc)}", severity="error")
            return
        self._refresh_hints()
        if hint is None:
            self.notify("no more hints", severity="warning")
            return
        self._log_text(Text(hint))
        self.query_one(DetailPane).active = "hints"
        self.notify(hint, timeout=20)
