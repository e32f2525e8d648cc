"""The run screen: the live search tree, ranked candidates and a detail pane, with actions.

While the engine works, the status line says what it is doing (the node being written, tokens/s)
and the Live tab (and the Code tab, until there is a candidate) shows the model's text as it
streams. Actions are offered only when they can work (the mode job says, from the run and the
model's capabilities); an action that fails leaves the finished run as it was, with one line.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import re
import time
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, RichLog, Static, TabbedContent, Tree

from assistant.engine.events import Event, ModelText
from assistant.errors import UserError
from assistant.textsafe import printable

from ..modes.base import ModeJob
from ..state import LiveFeed, Rerun, RunState
from ..widgets.candidate_table import CandidateTable
from ..widgets.code_view import CodeView
from ..widgets.critique_view import CritiqueView
from ..widgets.detail_pane import TABS, DetailPane
from ..widgets.diff_view import BASES, DiffView
from ..widgets.live_view import LiveView, stream_text
from ..widgets.metrics_chart import MetricsChart
from ..widgets.run_status import RunStatusBar
from ..widgets.search_tree import SearchTree
from ..widgets.test_verdicts import TestVerdicts
from .dialogs import ConfirmScreen, PathScreen
from .plain import PlainNotify

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
            return t.append(f"{event.node_id} ({origin}, round {event.round}): no program - {printable(event.invalid)}",
                            "red")
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
        return t.append(f"{event.node_id} critic {score}: {printable(event.summary)}")
    if kind == "node_pruned":
        return t.append(f"{event.node_id} pruned: {printable(event.reason)}", "dim")
    if kind == "round_done":
        return t.append(f"round {event.round} done: best {event.best_node_id} ({event.best_pass_ratio:.0%} visible), "
                        f"beam {', '.join(event.beam)}", "bold")
    if kind == "notice":
        style = {"warning": "yellow", "error": "red"}.get(event.level, "cyan")
        return t.append(f"{event.level}: {printable(event.message)}", style)
    if kind in ("activity", "hint_stage"):
        return t.append(printable(event.message), "cyan")
    if kind == "hint_validated":
        verdict = "kept" if event.kept else "not kept"
        return t.append(f"hint {event.level}: student repaired it {event.with_hint}/{event.k} times with it, "
                        f"{event.without_hint}/{event.k} without ({verdict})")
    if kind == "finished":
        return t.append(f"finished: {printable(event.stop_reason)}", "bold")
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


def notice_kind(message: str) -> str:
    """Notices that differ only in node ids and numbers are one kind (one toast, the rest in the log)."""
    return re.sub(r"\bn\d+\b|\d+", "#", message)


MAX_TOASTS = 4          # warning toasts per run; the Log tab has every notice
PALETTE_KEY_WIDTH = 14  # the footer's "^p palette" at its right end


class RunScreen(PlainNotify, Screen):
    # in the order the footer shows them; FOOTER_DROP leave it first when it is narrow
    BINDINGS = [
        Binding("escape", "stop", "Stop"),
        Binding("escape", "back", "Back"),
        Binding("f", "refine", "Refine"),
        Binding("a", "apply", "Apply"),
        Binding("h", "hint", "Hint"),
        Binding("v", "reveal", "Repair"),
        Binding("d", "cycle_diff", "Diff"),
        Binding("z", "zoom", "Zoom"),
        Binding("w", "save", "Save"),
        Binding("c", "copy", "Copy"),
        Binding("r", "rerun", "Re-run"),
        Binding("p", "pin", "Pin"),
        Binding("x", "prune", "Prune"),
        *[Binding(str(i), f"tab('{tab}')", label, show=False) for i, (tab, label) in enumerate(TABS, 1)],
        Binding("0", "tab('hints')", "Hints", show=False),
    ]
    FOOTER_DROP = ("prune", "pin", "rerun", "copy", "save")
    JOB_ACTIONS = frozenset({"apply", "hint", "rerun", "refine", "reveal"})

    def __init__(self, job: ModeJob, **kw) -> None:
        super().__init__(**kw)
        self.job = job
        self.state = RunState()
        self.selected: str | None = None
        self._future: concurrent.futures.Future | None = None
        self.live = LiveFeed()
        self.quitting: str | None = None   # set by the app while it shuts down
        self._before_refine: tuple[ModeJob, Any, Any] | None = None
        self._notice_kinds: dict[str, int] = {}
        self._toasts = 0
        self._hidden_notices = 0
        self.sub_title = self._subtitle()

    def _subtitle(self) -> str:
        spec = self.job.model_spec
        if spec.startswith("replay:"):
            spec = "replay:" + Path(spec[len("replay:"):]).name
        parts = [self.job.mode, self.job.title, self.job.label or spec, self.job.method]
        return printable(" · ".join(parts))

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
            from textual.containers import VerticalScroll
            from textual.widgets import Markdown, TabPane
            pane = TabPane("Hints", VerticalScroll(Markdown(self.job.hints_markdown(), id="hints-md"),
                                                   Static("", id="hints-live"), classes="hints-scroll"), id="hints")
            self.query_one("#detail-tabs", TabbedContent).add_pane(pane, before="code")
        self.query_one(CandidateTable).focus()
        self._refresh_status()
        self.set_interval(0.25, self._tick)
        self.start()

    def on_resize(self) -> None:
        self._refresh_status()
        self.refresh_bindings()  # the footer keeps fewer keys when narrow

    @property
    def active_bindings(self):
        """The footer's keys: when they do not fit, the less used ones leave it, in FOOTER_DROP
        order (they stay bound, in the help screen and in the command palette)."""
        bindings = super().active_bindings
        room = self.size.width - PALETTE_KEY_WIDTH
        for action in self.FOOTER_DROP:
            if self._footer_width(bindings) <= room:
                break
            bindings = {key: b for key, b in bindings.items() if b.binding.action != action}
        return bindings

    def _footer_width(self, bindings) -> int:
        """Cells the footer needs for these keys: " key description " each, one per action."""
        actions, width = set(), 0
        for active in bindings.values():
            b = active.binding
            if b.show and b.action not in actions:
                actions.add(b.action)
                width += len(self.app.get_key_display(b)) + len(b.description) + 3
        return width

    # ------------------------------------------------------------------ the run

    def start(self) -> None:
        self.state.status = "starting"
        self.state.error = None
        self.state.activity = None
        self.state.max_rounds = self.job.max_rounds
        self.run_worker(self._run(), exclusive=True, group="engine", exit_on_error=False)
        self.refresh_bindings()

    def _on_engine_thread_event(self, event: Event) -> None:
        """The engine's callback (its own thread): streamed text is collected, the rest posted."""
        if isinstance(event, ModelText):
            self.live.add(event)
            return
        self.post_message(EngineEvent(event.model_copy(deep=True)))

    async def _run(self) -> None:
        app = self.app
        self._future = app.engine.submit(self.job.run(app.resources, self._on_engine_thread_event))
        try:
            result = await asyncio.wrap_future(self._future)
        except (asyncio.CancelledError, concurrent.futures.CancelledError):
            self.post_message(RunEnded(None, cancelled=True))
            return
        except Exception as exc:  # one line on screen and in the Log tab; the traceback goes to the log file
            if not isinstance(exc, UserError):
                log.error("%s run failed", self.job.mode, exc_info=exc)
            self.post_message(RunEnded(None, error=error_line(exc)))
            return
        self.post_message(RunEnded(result))

    def _tick(self) -> None:
        """A few times a second: streamed text in, the status line and the live views out."""
        pieces = self.live.drain()
        if pieces:
            self.state.add_text(pieces)
        if pieces or self.state.running or self.state.busy:
            self._refresh_status()
        if pieces:
            self._refresh_live()

    def _refresh_live(self) -> None:
        live, latest = self.state.live_streams(), self.state.latest_stream()
        self.query_one(LiveView).show(live, latest)
        if self.selected is None and latest is not None:
            # no candidate yet: the code tab shows the model writing the first ones
            self.query_one("#code-view", CodeView).show_text(stream_text(live[0] if live else latest, bool(live)))
        if self.job.supports("hint"):
            text = stream_text(live[0], True, 12) if (live and self.state.busy) else ""
            self.query_one("#hints-live", Static).update(text)

    def _notice(self, event) -> None:
        """A toast per kind of notice, a few warnings per run at most; the Log tab has them all."""
        kind = notice_kind(event.message)
        seen = self._notice_kinds.get(kind, 0)
        self._notice_kinds[kind] = seen + 1
        severity = {"warning": "warning", "error": "error"}.get(event.level, "information")
        if seen or (severity != "error" and self._toasts >= MAX_TOASTS):
            self._hidden_notices += 1
            return
        if severity != "information":
            self._toasts += 1
        self.notify(printable(event.message), severity=severity, timeout=8 if severity != "information" else 4)

    @on(EngineEvent)
    def _on_engine_event(self, message: EngineEvent) -> None:
        event = message.event
        changed = self.state.apply(event)
        line = event_line(event)
        if line is not None:
            self._log_text(line)
        if event.type == "notice":
            self._notice(event)
        tree = self.query_one(SearchTree)
        if changed is not None:
            tree.update_node(self.state, changed)
            if self.selected is None:
                self.select(changed)
        if changed is not None or event.type in ("round_done", "finished"):
            self._refresh_table()
            self._refresh_metrics()
        if changed is not None and changed == self.selected:
            self._refresh_detail()
        if event.type == "activity" and self.job.model_can_chat is not None:
            self.refresh_bindings()  # the model is open: its capabilities decide what is offered
        self._refresh_status()

    @on(RunEnded)
    def _on_run_ended(self, message: RunEnded) -> None:
        before, self._before_refine = self._before_refine, None
        outcome = None
        error = message.error
        if message.result is not None:
            try:
                outcome = self.job.finish(message.result)
            except Exception as exc:  # a result the screen cannot show is an error, not a crash
                log.error("the %s result cannot be shown", self.job.mode, exc_info=exc)
                error = error_line(exc)
        if outcome is not None:
            self.state.set_result(outcome)
            best = outcome.best_node_id
            self.notify(f"{self.job.mode} finished: {printable(outcome.stop_reason)}"
                        + (f"; best {best}" if best else "; no runnable candidate"),
                        severity="information" if best else "warning")
            if best:
                self.select(best, move_cursor=True)
        elif before is not None:
            self._restore(before, "cancelled" if message.cancelled else error or "failed")
        elif message.cancelled:
            self.state.status = "cancelled"
            kept = sum(1 for n in self.state.nodes.values() if n.runnable)
            self.notify(f"search cancelled: {kept} candidates kept, unranked", severity="warning")
        else:
            self.state.status = "failed"
            self.state.error = error
            self._log_text(Text(f"failed: {error}", style="red"))
            self.notify(error or "the run failed", severity="error", timeout=12)
        for stream in self.state.streams.values():
            stream.done = True
        self.state.activity = None
        if self._hidden_notices:
            self.notify(f"{self._hidden_notices} more notices of this run are in the Log tab (6)")
            self._hidden_notices = 0
        self.query_one(SearchTree).refresh_all(self.state)
        self._refresh_table()
        self._refresh_metrics()
        self._refresh_detail()
        self._refresh_status()
        self._refresh_hints()
        self._refresh_live()
        if self.job.supports("hint") and outcome is not None:
            self.job.stop.reset()  # a stop ended this step; the next hint may call the model again
            self.query_one(DetailPane).active = "hints"
        self.refresh_bindings()

    def _restore(self, before: tuple[ModeJob, Any, Any], reason: str) -> None:
        """A refinement that failed or was cancelled: the finished run it started from is kept."""
        job, result, finished = before
        from_node = getattr(self.job, "node_id", "?")
        self.job = job
        self.state.result, self.state.finished = result, finished
        self.state.status, self.state.error = "finished", None
        self.sub_title = self._subtitle()
        line = f"refining from {from_node} ended: {reason}; the finished run is kept"
        self._log_text(Text(line, style="yellow"))
        self.notify(line, severity="warning" if reason == "cancelled" else "error", timeout=12)

    def show_quitting(self, reason: str) -> None:
        self.quitting = reason
        self._refresh_status()

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

    def _refresh_metrics(self) -> None:
        self.query_one(MetricsChart).show(self.job.metric_series(self.state))

    def _refresh_status(self) -> None:
        self.query_one(RunStatusBar).show(self.state, self.job.max_rounds, stopping=self.quitting)

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
            latest = self.state.latest_stream()
            if latest is not None:
                live = self.state.live_streams()
                code_view.show_text(stream_text(live[0] if live else latest, bool(live)))
            else:
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
        self.query_one(TestVerdicts).show(node.id, execution, source, self.job.test_cases(self.state),
                                          self.job.extra_outcomes(self.state, node.id), self.job.tests_label)

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        working = self.state.running or self.state.busy is not None
        if action == "stop":
            return working
        if action == "back":
            return not working
        if action == "tab" and parameters == ("hints",):
            return self.job.supports("hint")
        if action in self.JOB_ACTIONS:
            return self.job.can(action, self.state)
        return True

    def unavailable_reason(self, action: str) -> str | None:
        """Why an action of this mode is not offered (the help screen says it); None: not this mode's."""
        if action in self.JOB_ACTIONS and self.job.supports(action):
            return "not with this run or model"
        return None

    def _selected_node(self, need_code: bool = True):
        node = self.state.node(self.selected)
        if node is None:
            self.notify("select a candidate first", severity="warning")
            return None
        if need_code and not node.code:
            self.notify(f"{node.id} has no program", severity="warning")
            return None
        return node

    def action_stop(self) -> None:
        """First escape: interrupt the model and rank what there is; second: cancel at once."""
        if self.state.busy is not None and not self.state.running:
            self.job.request_stop()  # e.g. a hint being written: it ends with what it has
            self.notify(f"stopping: {self.state.busy}", severity="warning")
            return
        if not self.state.running or self._future is None:
            return
        if self.job.graceful_stop and self.state.status != "stopping":
            self.job.request_stop()
            self.state.status = "stopping"
            self.notify("stopping: the model's calls are interrupted and the candidates so far will be ranked "
                        "(escape again to cancel at once)", severity="warning")
        else:
            self._future.cancel()
        self._refresh_status()

    def action_back(self) -> None:
        self.app.action_home()

    def action_tab(self, tab: str) -> None:
        self.query_one(DetailPane).active = tab

    def action_cycle_diff(self) -> None:
        diff, pane = self.query_one(DiffView), self.query_one(DetailPane)
        if pane.active == "diff":  # the first press shows the diff, the next ones change its base
            diff.base = BASES[(BASES.index(diff.base) + 1) % len(BASES)]
        pane.active = "diff"
        self._refresh_detail()

    def action_zoom(self, pane: str = "") -> None:
        """Zoom the focused pane (tree, candidates or details) to the whole screen, or back.
        `pane` ("tree", "candidates", "detail") names one instead (the command palette)."""
        if self.maximized is not None and not pane:
            self.minimize()
            return
        panes = {"tree": SearchTree, "candidates": CandidateTable, "detail": DetailPane}
        if pane:
            target = self.query_one(panes[pane])
        else:
            target = self.focused
            while target is not None and not isinstance(target, tuple(panes.values())):
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

    def _busy(self, what: str | None) -> None:
        """An action after the run (re-run, apply, hint) is working, or done."""
        self.state.busy = what
        if what is None:
            self.state.activity = None
        self._refresh_status()
        self.refresh_bindings()

    def action_rerun(self) -> None:
        node = self._selected_node()
        if node is None or self.job.can("rerun", self.state) is not True:
            return
        self.notify(f"re-running {node.id} in the sandbox")
        self.run_worker(self._rerun(node.id, node.code), group="rerun", exit_on_error=False)

    async def _rerun(self, node_id: str, code: str) -> None:
        self._busy(f"re-running {node_id} in the sandbox")
        future = self.app.engine.submit(self.job.rerun(self.app.resources, code, self.state.result))
        try:
            execution, sandbox_name = await asyncio.wrap_future(future)
        except (asyncio.CancelledError, concurrent.futures.CancelledError):
            return
        except Exception as exc:
            self.notify(f"re-run of {node_id} failed: {error_line(exc)}", severity="error")
            return
        finally:
            self._busy(None)
        self.state.reruns[node_id] = Rerun(execution, sandbox_name)
        self.query_one(SearchTree).update_node(self.state, node_id)
        self._refresh_metrics()
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
        allowed = self.job.can("refine", self.state)
        if allowed is not True:
            why = ("the search is still running" if allowed is None else
                   "refining needs a finished run with a chat model (a completion-only model gets no refinement)")
            self.notify(why, severity="warning")
            return
        job = self.job.refine_job(self.state.result, node.id)
        if job is None:
            self.notify("this mode cannot continue from a node", severity="warning")
            return
        self._before_refine = (self.job, self.state.result, self.state.finished)
        self.job = job
        self.state.result = None
        self.state.finished = None
        self.sub_title = self._subtitle()
        self.start()

    def action_apply(self) -> None:
        node = self._selected_node(need_code=False)
        if node is None or self.job.can("apply", self.state) is not True:
            return
        if node.id not in self.state.result.ranking:
            self.notify("only a ranked candidate of a finished run can be applied", severity="warning")
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.run_worker(self._apply(node.id), group="apply", exit_on_error=False)

        self.app.push_screen(ConfirmScreen(f"Apply {node.id}'s patch?", self.job.apply_summary(node.id, self.state.result),
                                           yes="Apply"), confirmed)

    async def _apply(self, node_id: str) -> None:
        self._busy(f"applying {node_id}")
        future = self.app.engine.submit(self.job.apply(self.app.resources, node_id, self.state.result))
        try:
            message = await asyncio.wrap_future(future)
        except (asyncio.CancelledError, concurrent.futures.CancelledError):
            return
        except Exception as exc:
            self.notify(f"applying {node_id} failed: {error_line(exc)}", severity="error")
            return
        finally:
            self._busy(None)
        self.notify(message)
        self._log_text(Text(message, style="bold"))

    def action_hint(self) -> None:
        if self.job.can("hint", self.state) is not True:
            return
        self.job.stop.reset()
        self.run_worker(self._hint(), group="hint", exclusive=True, exit_on_error=False)

    def action_reveal(self) -> None:
        if self.job.can("reveal", self.state) is True:
            self.job.show_repair = not self.job.show_repair
            self._refresh_detail()
            self.notify("the repair is shown" if self.job.show_repair else "the repair is hidden")

    def _refresh_hints(self) -> None:
        if self.job.supports("hint"):
            from textual.widgets import Markdown
            self.query_one("#hints-md", Markdown).update(self.job.hints_markdown())

    async def _hint(self) -> None:
        self._busy("writing and validating the next hint")
        self.query_one(DetailPane).active = "hints"
        future = self.app.engine.submit(self.job.next_hint(self.app.resources))
        try:
            hint = await asyncio.wrap_future(future)
        except (asyncio.CancelledError, concurrent.futures.CancelledError):
            return
        except Exception as exc:
            self.notify(f"no hint: {error_line(exc)}", severity="error")
            return
        finally:
            self.job.stop.reset()
            for stream in self.state.streams.values():
                stream.done = True
            self._busy(None)
            self.query_one("#hints-live", Static).update("")
        self._refresh_hints()
        if hint is None:
            self.notify("no more hints", severity="warning")
            return
        self._log_text(Text(printable(hint)))
        self.notify(printable(hint), timeout=20)
