"""What every engine part shares for one run: model, sandbox, problem, budget, events, timing.

All model calls go through `EngineContext.call`, so every method (orps, best-of-N, CoT, Reflexion,
test generation) is accounted the same way: one call per request, real token counts from the
backend, a concurrency cap, the budget checked before a call starts.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sandbox.api import ExecutionReport, Job
from sandbox.core import Sandbox

from ..models.base import Completion, GenerationOptions, Message, ModelBackend, ModelError
from ..models.replay import ReplayMiss
from ..problems.model import Problem
from .budget import Budget, BudgetExhausted
from .events import BudgetUpdate, Event, ModelText, Notice

EventSink = Callable[[Event], None]


@dataclass
class Timeline:
    """Busy intervals of the model and of the sandbox, to measure how much they overlap."""

    model: list[tuple[float, float]] = field(default_factory=list)
    sandbox: list[tuple[float, float]] = field(default_factory=list)

    @staticmethod
    def _union(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
        merged: list[list[float]] = []
        for a, b in sorted(intervals):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        return [(a, b) for a, b in merged]

    def sandbox_hidden_share(self) -> float | None:
        """Share of sandbox busy time during which the model was busy too (hidden behind generation)."""
        sandbox = self._union(self.sandbox)
        total = sum(b - a for a, b in sandbox)
        if total <= 0:
            return None
        model = self._union(self.model)
        overlap = 0.0
        for a, b in sandbox:
            for c, d in model:
                overlap += max(0.0, min(b, d) - max(a, c))
        return overlap / total

    def totals(self) -> dict[str, float]:
        return {"model_busy_s": sum(b - a for a, b in self._union(self.model)),
                "sandbox_busy_s": sum(b - a for a, b in self._union(self.sandbox))}


class EngineContext:
    def __init__(self, model: ModelBackend, sandbox: Sandbox, problem: Problem, budget: Budget,
                 on_event: EventSink | None = None, parallel: int = 2, stream: bool = False,
                 stop: threading.Event | None = None):
        self.model = model
        self.sandbox = sandbox
        self.problem = problem
        self.budget = budget
        self.on_event = on_event
        self.started = time.monotonic()
        self.timeline = Timeline()
        self._model_slots = asyncio.Semaphore(max(1, parallel))
        self.stream = stream
        self.stop = stop  # set by a front end: no new model call starts
        self.notices: list[str] = []
        self.replay_ended: str | None = None  # why a replay stopped: the recording had no more answers

    def now(self) -> float:
        return time.monotonic() - self.started

    def emit(self, event: Event) -> None:
        event.t = self.now()
        if self.on_event is not None:
            self.on_event(event)

    def notice(self, message: str, level: str = "info") -> None:
        if message not in self.notices:
            self.notices.append(message)
        self.emit(Notice(level=level, message=message))

    def _budget_event(self, tokens_per_s: float | None = None) -> None:
        b = self.budget
        self.emit(BudgetUpdate(calls=b.calls, max_calls=b.max_calls, tokens=b.tokens, max_tokens=b.max_tokens,
                               wall_s=b.wall_s, max_wall_s=b.max_wall_s, tokens_per_s=tokens_per_s))

    async def call(self, role: str, options: GenerationOptions, messages: list[Message] | None = None,
                   prompt: str | None = None, node_id: str | None = None) -> Completion:
        """One model call (chat when `messages`, raw completion when `prompt`), budgeted.

        Raises BudgetExhausted before calling when a cap is reached, ModelError when the model fails
        (the failed call still counts: it reached the model)."""
        if self.stop is not None and self.stop.is_set():
            raise BudgetExhausted("stopped by the user")
        self.budget.reserve()
        def stream_text(text: str) -> None:
            self.emit(ModelText(role=role, node_id=node_id, text=text))

        on_text = stream_text if self.stream and self.on_event is not None else None
        try:
            async with self._model_slots:
                # a call queued behind the slots re-checks the clock: wall budget may have run out
                if self.budget.max_wall_s is not None and self.budget.wall_s >= self.budget.max_wall_s:
                    raise BudgetExhausted(f"wall-time budget of {self.budget.max_wall_s:g}s used")
                t0 = self.now()
                if on_text is not None:
                    on_text("")  # the call starts: a front end can say which node is being written
                try:
                    if messages is not None:
                        completion = await self.model.chat(messages, options, on_text)
                    else:
                        completion = await self.model.complete(prompt or "", options, on_text)
                finally:
                    self.timeline.model.append((t0, self.now()))
        except BudgetExhausted:
            self.budget.release()
            raise
        except ReplayMiss as exc:
            self.budget.release()  # no model was asked: not a call
            if not exc.answered:
                raise  # nothing of this run is in the trace: the run's one clear error
            raise BudgetExhausted(self._replay_end(exc)) from None
        except ModelError:
            self.budget.settle(0, 0)
            self._budget_event()
            raise
        except BaseException:
            self.budget.release()
            raise
        self.budget.settle(completion.prompt_tokens, completion.completion_tokens)
        self._budget_event(completion.tokens_per_s)
        return completion

    def _replay_end(self, exc: ReplayMiss) -> str:
        """The stop reason of a replay that ran past its recording, announced once per run."""
        if self.replay_ended is None:
            self.replay_ended = "the replayed trace has no more recorded answers"
            recorded = exc.recorded_config.get("max_calls")
            budget = f" (recorded with a budget of {recorded} calls, replayed with {self.budget.max_calls})" \
                if recorded is not None and recorded != self.budget.max_calls else ""
            self.notice(f"replay: no recorded answer for the next request{budget}; the run stops where the "
                        f"recording ends. First unanswered: {exc}", "warning")
        return self.replay_ended

    async def execute(self, job: Job) -> ExecutionReport:
        t0 = self.now()
        try:
            return await self.sandbox.arun(job)
        finally:
            self.timeline.sandbox.append((t0, self.now()))


__all__ = ["EngineContext", "BudgetExhausted", "Timeline"]
