"""What the run screen shows, built only from the engine's events and its final result.

No engine logic lives here: node snapshots come from events, the ranking from the mode's result,
the rows from the mode job (`candidate_rows` of the mode). Until the engine ranks (at the end),
candidates are listed in arrival order with no rank; a cancelled run keeps every snapshot.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from assistant.engine.events import (BudgetUpdate, Event, Finished, ModelText, NodeCreated, NodeCritiqued,
                                     NodeExecuted, NodePruned, Notice, RoundDone)
from assistant.engine.node import Execution, Node

if TYPE_CHECKING:
    from .modes.base import ModeJob, Outcome

RunStatus = Literal["starting", "running", "stopping", "finished", "cancelled", "failed"]


@dataclass
class RoundSummary:
    round: int
    best_node_id: str | None
    best_pass_ratio: float
    beam: list[str]


@dataclass
class Rerun:
    """A candidate run again in the sandbox on the user's request."""

    execution: Execution
    sandbox: str


# what a model call is doing, by the engine's role names
VERBS = {"programmer": "writing", "sample": "writing", "cot": "writing", "reflexion": "reflecting on",
         "critic": "reviewing", "tests": "writing tests", "tools": "writing test generators",
         "repair": "writing repair", "tutor": "writing the hint", "student": "student repair"}
LIVE_S = 3.0          # a stream with text in the last seconds is "live"
MAX_STREAM = 20_000   # characters kept per stream (its tail)


@dataclass
class Stream:
    """The text of one model call as it is written (`ModelText` events)."""

    role: str
    node_id: str | None
    started: float
    last: float
    text: str = ""
    chunks: int = 0
    done: bool = False

    def label(self) -> str:
        verb = VERBS.get(self.role, self.role)
        return f"{verb} {self.node_id}" if self.node_id else verb


class LiveFeed:
    """Streamed model text, collected on the engine thread, taken by the UI a few times a second
    (one message per token would flood the UI's queue with a fast model)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[tuple[float, ModelText]] = []

    def add(self, event: ModelText) -> None:
        with self._lock:
            self._pending.append((time.monotonic(), event))

    def drain(self) -> list[tuple[float, ModelText]]:
        with self._lock:
            pending, self._pending = self._pending, []
        return pending


@dataclass
class RunState:
    status: RunStatus = "starting"
    nodes: dict[str, Node] = field(default_factory=dict)        # creation order
    pruned: dict[str, str] = field(default_factory=dict)        # engine-pruned node -> reason
    rounds: list[RoundSummary] = field(default_factory=list)
    budget: BudgetUpdate | None = None
    tokens_per_s: float | None = None
    notices: list[Notice] = field(default_factory=list)
    finished: Finished | None = None
    result: Outcome | None = None
    error: str | None = None
    pinned: set[str] = field(default_factory=set)               # the user's marks (view only)
    hidden: set[str] = field(default_factory=set)
    reruns: dict[str, Rerun] = field(default_factory=dict)
    max_rounds: int | None = None
    executed: dict[str, NodeExecuted] = field(default_factory=dict)  # each node's latest run event
    activity: str | None = None          # what the job says it is doing (loading the model, a hint stage)
    busy: str | None = None              # an action in progress after the run (a hint being written, a re-run)
    streams: dict[tuple[str, str | None], Stream] = field(default_factory=dict)
    _chunks: deque = field(default_factory=deque)  # (time, chunks) of the last seconds, for the live rate

    # ------------------------------------------------------------------ events

    def apply(self, event: Event) -> str | None:
        """Fold one event in; returns the id of the node it changed, if any."""
        if self.status == "starting":
            self.status = "running"
        if isinstance(event, (NodeCreated, NodeCritiqued)):  # the call that wrote it is over
            critic = isinstance(event, NodeCritiqued)
            for (role, node_id), stream in self.streams.items():
                if node_id == event.node_id and (role == "critic") == critic:
                    stream.done = True
        if isinstance(event, NodeExecuted):
            self.executed[event.node_id] = event
        if isinstance(event, (NodeCreated, NodeExecuted, NodeCritiqued)):
            if self.result is not None:
                return None  # the result's nodes are final; a late snapshot must not replace them
            node = event.node
            if node is None:
                return None
            self.nodes[node.id] = node
            return node.id
        if event.type in ("activity", "hint_stage"):
            self.activity = getattr(event, "message", None)
            return None
        if isinstance(event, NodePruned):
            self.pruned[event.node_id] = event.reason
            return event.node_id
        if isinstance(event, RoundDone):
            self.rounds.append(RoundSummary(event.round, event.best_node_id, event.best_pass_ratio, list(event.beam)))
            return None
        if isinstance(event, BudgetUpdate):
            self.budget = event
            if event.tokens_per_s:
                self.tokens_per_s = event.tokens_per_s
            return None
        if isinstance(event, Notice):
            self.notices.append(event)
            return None
        if isinstance(event, Finished):
            self.finished = event
            return None
        return None

    def add_text(self, pieces: list[tuple[float, ModelText]]) -> None:
        """Fold streamed text in. An empty piece starts a call (its prompt is being read)."""
        for t, event in pieces:
            key = (event.role, event.node_id)
            stream = self.streams.get(key)
            if stream is None or (not event.text and (stream.text or stream.done)):
                stream = self.streams[key] = Stream(event.role, event.node_id, started=t, last=t)
            if event.text:
                stream.text = (stream.text + event.text)[-MAX_STREAM:]
                stream.chunks += 1
                self._chunks.append((t, 1))
            stream.last = t

    def live_streams(self, now: float | None = None) -> list[Stream]:
        """Calls being written (text in the last seconds, not finished), the latest first."""
        now = time.monotonic() if now is None else now
        live = [s for s in self.streams.values() if not s.done and now - s.last <= LIVE_S]
        return sorted(live, key=lambda s: s.last, reverse=True)

    def latest_stream(self) -> Stream | None:
        return max(self.streams.values(), key=lambda s: s.last, default=None)

    def live_rate(self, now: float | None = None) -> float | None:
        """Tokens per second over the last seconds, counted from the streamed chunks (llama.cpp,
        Ollama and OpenAI-compatible servers stream one token per chunk); None when nothing streams."""
        now = time.monotonic() if now is None else now
        while self._chunks and now - self._chunks[0][0] > LIVE_S:
            self._chunks.popleft()
        if not self._chunks:
            return None
        span = max(now - self._chunks[0][0], 0.5)
        return sum(n for _, n in self._chunks) / span

    def doing(self, now: float | None = None) -> str | None:
        """What is happening now, in a few words: the call being written, else the job's activity."""
        live = self.live_streams(now) if (self.running or self.busy) else []
        if live:
            s = live[0]
            what = s.label()
            return f"{what} ({s.chunks} tok)" if s.chunks else f"{what}: reading the prompt"
        if self.running or self.busy:
            return self.activity
        return None

    def set_result(self, result: Outcome) -> None:
        self.result = result
        for node in result.nodes:
            self.nodes[node.id] = node
        self.status = "finished"
        self.activity = None
        for stream in self.streams.values():
            stream.done = True

    # ------------------------------------------------------------------ queries

    @property
    def running(self) -> bool:
        return self.status in ("starting", "running", "stopping")

    @property
    def current_round(self) -> int | None:
        return max((n.round for n in self.nodes.values()), default=None)

    @property
    def best_node_id(self) -> str | None:
        if self.result is not None:
            return self.result.best_node_id
        if self.rounds:
            return self.rounds[-1].best_node_id
        return None

    def node(self, node_id: str | None) -> Node | None:
        return self.nodes.get(node_id) if node_id else None

    def is_pruned(self, node_id: str) -> bool:
        return node_id in self.pruned or node_id in self.hidden

    def execution(self, node_id: str) -> tuple[Execution | None, str | None]:
        """The node's latest execution (a user's re-run wins) and where it came from."""
        if node_id in self.reruns:
            r = self.reruns[node_id]
            return r.execution, f"re-run in the {r.sandbox} sandbox"
        node = self.nodes.get(node_id)
        return (node.execution if node else None), None

    def ranked_ids(self) -> list[str]:
        """The engine's ranking when there is one, else runnable candidates in arrival order."""
        if self.result is not None:
            return list(self.result.ranking)
        return [n.id for n in self.nodes.values() if n.runnable]

    def rows(self, job: ModeJob) -> list[dict[str, Any]]:
        """The job's candidate rows; pinned first, hidden last, else in the job's order.

        `rank` is the engine's rank, None while the search has not ranked (running or cancelled)."""
        rows = job.rows(self)
        order = {r["id"]: i for i, r in enumerate(rows)}
        rows.sort(key=lambda r: (r["id"] not in self.pinned, r["id"] in self.hidden, order[r["id"]]))
        return rows
