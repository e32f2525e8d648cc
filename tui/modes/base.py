"""The mode job interface: a *mode job* takes an `on_event` callback and returns a result.

The run screen knows capabilities, not modes. Every job streams the engine's events (node
created / executed / critiqued / pruned, rounds, budget, notices, finished) and returns a
result (`finish` turns it into an `Outcome`); optional capabilities are declared in `actions`:

    "rerun"   run a candidate again in the sandbox          (`rerun`)
    "refine"  continue the search from a chosen node         (`refine_job`)
    "apply"   apply a candidate patch to the user's files    (`apply`, fix mode)
    "hint"    reveal the next hint of a ladder               (`next_hint`, hint mode)

A job also says how its candidates are shown (table columns and cells, the code and diff of a
node, the tests behind its verdicts): the widgets stay the same for solve, fix and hint.
"""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from rich.text import Text

from assistant.engine.budget import BudgetExhausted
from assistant.engine.events import Event
from assistant.engine.node import Execution, Node, TestOutcome
from assistant.models.base import (Completion, DelegatingModel, GenerationOptions, Message, ModelBackend,
                                   TextCallback)
from assistant.problems.model import Problem

from sandbox.api import TestCase

from ..runner import Resources

if TYPE_CHECKING:
    from ..state import RunState
    from ..widgets.metrics_chart import Series

EventSink = Callable[[Event], None]
Column = tuple[str, str, int | None]  # label, key, fixed width (None: as wide as the content)


@dataclass
class Outcome:
    """A finished run as the screen needs it; `raw` is the mode's own result."""

    raw: Any
    ranking: list[str]
    best_node_id: str | None
    stop_reason: str
    nodes: list[Node] = field(default_factory=list)


class StopSwitch:
    """Set by the UI thread, read by the engine thread: "start no new model call".

    Listeners (`on_set`) are called, on the setting thread, each time the switch turns on; `reset`
    turns it off for the next piece of work (hint mode writes hints after its run has stopped)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def set(self) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    def reset(self) -> None:
        self._event.clear()

    def on_set(self, listener: Callable[[], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    def __bool__(self) -> bool:
        return self._event.is_set()


class StoppableModel(DelegatingModel):
    """Passes calls through until the user stops the run; then interrupts the calls in flight
    and refuses new ones.

    Both end as the engine's own "no model call may start" signal (`BudgetExhausted`), so a run
    ends the way it ends on a spent budget: the candidates so far are still ranked. An interrupted
    call is cancelled in its backend (the embedded model stops inside llama.cpp, HTTP requests are
    dropped), so stopping does not wait for a long generation to finish."""

    STOPPED = "stopped by the user"

    def __init__(self, inner: ModelBackend, stop: StopSwitch):
        super().__init__(inner)
        self.stop = stop
        self._calls: set[asyncio.Task] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        stop.on_set(self._interrupt_from_any_thread)

    def _interrupt_from_any_thread(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._interrupt)

    def _interrupt(self) -> None:
        for task in list(self._calls):
            task.cancel()

    async def _guarded(self, call: Coroutine[Any, Any, Completion]) -> Completion:
        if self.stop:
            call.close()
            raise BudgetExhausted(self.STOPPED)
        self._loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(call)
        self._calls.add(task)
        try:
            return await task
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if self.stop and task.cancelled() and not (me is not None and me.cancelling()):
                raise BudgetExhausted(self.STOPPED) from None  # interrupted by the stop, not cancelled
            raise
        finally:
            self._calls.discard(task)

    async def chat(self, messages: list[Message], options: GenerationOptions,
                   on_text: TextCallback | None = None) -> Completion:
        return await self._guarded(self.inner.chat(messages, options, on_text))

    async def complete(self, prompt: str, options: GenerationOptions,
                       on_text: TextCallback | None = None) -> Completion:
        return await self._guarded(self.inner.complete(prompt, options, on_text))


class Activity(Event):
    """What a mode job is doing outside model calls (loading the model, opening the sandbox,
    preparing a repository): the status line shows it. A TUI event, never emitted by the engine."""

    type: Literal["activity"] = "activity"
    message: str


class ModeJob(ABC):
    """One run of a mode, as the run screen drives it."""

    mode: ClassVar[str]
    actions: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, problem: Problem | None, config: Any, model_spec: str,
                 original: str | None = None, trace: Path | None = None, label: str = ""):
        self.problem = problem
        self.config = config              # the mode's own config (SearchConfig, FixConfig, HintConfig)
        self.model_spec = model_spec
        self.original = original          # the user's own program: the diff "vs original"
        self.trace = trace
        self.label = label                # e.g. "replay of <trace>"
        self.stop = StopSwitch()
        self.graceful_stop = True         # False: stopping cancels the run (results so far stay)
        self.model_can_chat: bool | None = None  # known once the model is open

    def request_stop(self) -> None:
        """The user's stop: calls in flight are interrupted, no new one starts, the run ranks what it has."""
        self.stop.set()

    async def open_model(self, resources: Resources, on_event: EventSink, spec: str | None = None) -> ModelBackend:
        """The job's model (said on the status line while it loads); its capabilities are kept."""
        spec = spec or self.model_spec
        on_event(Activity(message=f"loading the model {_short_spec(spec)}"))
        model = await resources.model(spec)
        if spec == self.model_spec:
            self.model_can_chat = bool(model.can_chat)
        return model

    async def open_sandbox(self, resources: Resources, on_event: EventSink):
        on_event(Activity(message="opening the sandbox"))
        return await resources.sandbox()

    @property
    def title(self) -> str:
        return self.problem.id if self.problem is not None else self.mode

    @property
    def method(self) -> str:
        return str(getattr(self.config, "method", self.mode))

    @property
    def max_rounds(self) -> int | None:
        return getattr(self.config, "rounds", None)

    def supports(self, action: str) -> bool:
        return action in self.actions

    def can(self, action: str, state: RunState) -> bool | None:
        """Whether an action (of `actions`) is offered now: True yes, None not yet (shown
        disabled), False not with this run or model (not offered). Actions outside `actions`
        are never offered."""
        return action in self.actions

    @abstractmethod
    async def run(self, resources: Resources, on_event: EventSink) -> Any:
        """Run to the end (or until `self.stop`), streaming events to `on_event`."""

    @abstractmethod
    def finish(self, raw: Any) -> Outcome:
        """The screen's view of the mode's result."""

    # ------------------------------------------------------------------ presentation

    columns: ClassVar[tuple[Column, ...]] = ()
    tests_label: ClassVar[str] = "visible"  # what a node's own tests are, in the tests tab

    @abstractmethod
    def rows(self, state: RunState) -> list[dict[str, Any]]:
        """Candidate rows (each with "id" and "rank", None while unranked), best first."""

    @abstractmethod
    def cells(self, row: dict[str, Any]) -> list[Text]:
        """One table row's cells after the first two columns (rank and id, which the table fills)."""

    def code(self, node: Node) -> tuple[str, str] | str:
        """(text, lexer) for the code tab, or a message saying why there is none."""
        if not node.code:
            return f"{node.id} has no program: {node.invalid_reason or 'reply without code'}"
        from assistant.languages import fence
        return node.code, fence(node.language)  # highlighted in the candidate's own language

    def export(self, node: Node) -> tuple[str, str] | str:
        """(text, default file name) that save and copy use, or why there is nothing to export."""
        if not node.code:
            return f"{node.id} has no program"
        from assistant.cli.solve_cmd import output_path
        return node.code, str(output_path(self.title, None, node.language))

    def diff_text(self, node: Node) -> str | None:
        """What the diff tab compares between two nodes (None: nothing to compare)."""
        return node.code or None

    def diff_vs_original(self, node: Node) -> tuple[str, str] | str:
        """(original text, node text) for the "vs original" diff, or why there is none."""
        if self.original is None:
            return "no original program (open the TUI with --original FILE to compare with yours)"
        return self.original, node.code

    def test_cases(self, state: RunState) -> list[TestCase]:
        return list(self.problem.visible_tests) if self.problem is not None else []

    def extra_outcomes(self, state: RunState, node_id: str) -> tuple[str, list[TestOutcome]]:
        """More verdicts for the tests tab after the node's own (fix mode: regressions), with a
        summary; none by default."""
        return "", []

    def metric_series(self, state: RunState) -> list[Series]:
        """What the metrics tab charts: the best per round, CPU time and memory per candidate."""
        from ..widgets.metrics_chart import series_from
        return series_from(state)

    # ------------------------------------------------------------------ optional capabilities (`actions`)

    async def rerun(self, resources: Resources, code: str, outcome: Outcome | None) -> tuple[Execution, str]:
        raise NotImplementedError

    def refine_job(self, outcome: Outcome, node_id: str) -> ModeJob | None:
        return None

    def apply_summary(self, node_id: str, outcome: Outcome) -> str:
        """What applying `node_id` will change (shown in the confirmation)."""
        raise NotImplementedError

    async def apply(self, resources: Resources, node_id: str, outcome: Outcome) -> str:
        """Apply the candidate; returns a one-line report of what changed."""
        raise NotImplementedError

    async def next_hint(self, resources: Resources) -> str | None:
        """Reveal the next hint of the ladder; None when there is none left."""
        raise NotImplementedError

    def hints_markdown(self) -> str:
        raise NotImplementedError


def _short_spec(spec: str) -> str:
    if spec.startswith("replay:"):
        return "replay:" + Path(spec[len("replay:"):]).name
    return spec
