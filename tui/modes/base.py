"""What the run screen runs: a *mode job* takes an `on_event` callback and returns a result.

The run screen knows capabilities, not modes. Every job streams the engine's events (node
created / executed / critiqued / pruned, rounds, budget, notices, finished) and returns a
`SearchResult`; optional capabilities are declared in `actions`:

    "rerun"   run a candidate again in the sandbox          (`rerun`)
    "refine"  continue the search from a chosen node         (`refine_job`)
    "apply"   apply a candidate patch to the user's files    (`apply`, fix mode)
    "hint"    reveal the next hint of a ladder               (`next_hint`, hint mode)

`orps fix` and `orps hint` plug in as further `ModeJob` subclasses calling their mode's entry
point with the same `on_event`; nothing else in the TUI changes.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from assistant.engine.budget import BudgetExhausted
from assistant.engine.events import Event
from assistant.engine.node import Execution
from assistant.engine.search import SearchConfig, SearchResult
from assistant.models.base import Completion, GenerationOptions, Message, ModelBackend, TextCallback
from assistant.problems.model import Problem

from .runner import Resources

EventSink = Callable[[Event], None]


class StopSwitch:
    """Set by the UI thread, read by the engine thread: "start no new model call"."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def __bool__(self) -> bool:
        return self._event.is_set()


class StoppableModel(ModelBackend):
    """Passes calls through until the user stops the search; then refuses new calls.

    The refusal is the engine's own "no model call may start" signal (`BudgetExhausted`), so the
    search ends the way it ends on a spent budget: calls in flight finish, and the engine still
    measures the finalists and ranks every candidate it has. (Proposed engine entry point to
    replace this: a stop event passed to `solve()` and checked by `Budget.reserve`.)
    """

    STOPPED = "stopped by the user"

    def __init__(self, inner: ModelBackend, stop: StopSwitch):
        self.inner = inner
        self.stop = stop
        self.name = inner.name

    @property
    def can_chat(self) -> bool:  # type: ignore[override]
        return self.inner.can_chat

    @property
    def can_complete(self) -> bool:  # type: ignore[override]
        return self.inner.can_complete

    @property
    def supports_json_schema(self) -> bool:  # type: ignore[override]
        return self.inner.supports_json_schema

    @property
    def context_tokens(self) -> int:  # type: ignore[override]
        return self.inner.context_tokens

    @property
    def spec(self) -> str:
        return self.inner.spec

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()

    async def chat(self, messages: list[Message], options: GenerationOptions,
                   on_text: TextCallback | None = None) -> Completion:
        if self.stop:
            raise BudgetExhausted(self.STOPPED)
        return await self.inner.chat(messages, options, on_text)

    async def complete(self, prompt: str, options: GenerationOptions,
                       on_text: TextCallback | None = None) -> Completion:
        if self.stop:
            raise BudgetExhausted(self.STOPPED)
        return await self.inner.complete(prompt, options, on_text)


class ModeJob(ABC):
    """One run of a mode, as the run screen drives it."""

    mode: ClassVar[str]
    actions: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, problem: Problem | None, config: SearchConfig, model_spec: str,
                 original: str | None = None, trace: Path | None = None, label: str = ""):
        self.problem = problem
        self.config = config
        self.model_spec = model_spec
        self.original = original          # the user's own program: the diff "vs original"
        self.trace = trace
        self.label = label                # e.g. "replay of <trace>"
        self.stop = StopSwitch()
        self.graceful_stop = True         # False: stopping cancels the run (results so far stay)

    @property
    def title(self) -> str:
        return self.problem.id if self.problem is not None else self.mode

    def supports(self, action: str) -> bool:
        return action in self.actions

    @abstractmethod
    async def run(self, resources: Resources, on_event: EventSink) -> SearchResult:
        """Run to the end (or until `self.stop`), streaming events to `on_event`."""

    # optional capabilities (declared in `actions`)

    async def rerun(self, resources: Resources, code: str, result: SearchResult | None) -> tuple[Execution, str]:
        raise NotImplementedError

    def refine_job(self, previous: SearchResult, node_id: str) -> ModeJob | None:
        return None

    def apply_summary(self, node_id: str) -> str:
        """What applying `node_id` will change (shown in the confirmation)."""
        raise NotImplementedError

    async def apply(self, resources: Resources, node_id: str) -> str:
        """Apply the candidate; returns a one-line report of what changed."""
        raise NotImplementedError

    async def next_hint(self, resources: Resources) -> str | None:
        """The next hint of the ladder, None when every level is shown."""
        raise NotImplementedError


def refine_entry_point() -> Callable[..., Any] | None:
    """`assistant.modes.solve.refine`, the engine entry point "continue refining from a node".

    Proposed signature (not in the engine yet; the TUI enables the action when it appears):
        async refine(problem, model, sandbox, config, previous: SearchResult, from_node: str,
                     on_event=None, trace=None) -> SearchResult
    which runs `config.rounds` refinement rounds with the beam seeded by `from_node`, keeping
    `previous`'s nodes (and their ids) so the tree grows in place.
    """
    from assistant.modes import solve as solve_mode
    return getattr(solve_mode, "refine", None)


class SolveJob(ModeJob):
    mode = "solve"
    actions = frozenset({"rerun", "refine"})

    def __init__(self, problem: Problem, config: SearchConfig, model_spec: str, **kw: Any):
        super().__init__(problem, config, model_spec, **kw)
        if self.original is None and problem.starter_code:
            self.original = problem.starter_code
        # a replayed run keeps the trace's measurements only with the replay model itself
        self.graceful_stop = not model_spec.strip().lower().startswith("replay")

    async def run(self, resources: Resources, on_event: EventSink) -> SearchResult:
        from assistant.modes.solve import solve

        model = await resources.model(self.model_spec)
        try:
            sandbox = await resources.sandbox()
            engine_model = StoppableModel(model, self.stop) if self.graceful_stop else model
            return await solve(self.problem, engine_model, sandbox, self.config, on_event=on_event, trace=self.trace)
        finally:
            if not resources.owns(model):
                await model.aclose()

    async def rerun(self, resources: Resources, code: str, result: SearchResult | None) -> tuple[Execution, str]:
        """Run `code` again on the visible tests (and the run's generated tests, once known)."""
        sandbox = await resources.sandbox()
        visible = list(self.problem.visible_tests)
        generated = list(result.generated_tests) if result is not None else []
        report = await sandbox.arun(self.problem.job(code, tests=visible + generated))
        return Execution.from_report(report, len(visible)), sandbox.name

    def refine_job(self, previous: SearchResult, node_id: str) -> ModeJob | None:
        entry = refine_entry_point()
        if entry is None:
            return None
        return RefineJob(self, previous, node_id, entry)


class RefineJob(SolveJob):
    """Continue a finished solve run from one of its nodes (needs the engine's `refine`)."""

    def __init__(self, base: SolveJob, previous: SearchResult, node_id: str, entry: Callable[..., Any]):
        super().__init__(base.problem, base.config, base.model_spec, original=base.original, trace=None,
                         label=f"refining from {node_id}")
        self.previous = previous
        self.node_id = node_id
        self._entry = entry

    async def run(self, resources: Resources, on_event: EventSink) -> SearchResult:
        model = await resources.model(self.model_spec)
        try:
            sandbox = await resources.sandbox()
            engine_model = StoppableModel(model, self.stop) if self.graceful_stop else model
            return await self._entry(self.problem, engine_model, sandbox, self.config, self.previous, self.node_id,
                                     on_event=on_event)
        finally:
            if not resources.owns(model):
                await model.aclose()
