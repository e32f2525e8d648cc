"""What the run screen shows, built only from the engine's events and its final result.

No engine logic lives here: node snapshots come from events, the ranking from the mode's result,
the rows from the mode job (`candidate_rows` of the mode). Until the engine ranks (at the end),
candidates are listed in arrival order with no rank; a cancelled run keeps every snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from assistant.engine.events import (BudgetUpdate, Event, Finished, NodeCreated, NodeCritiqued, NodeExecuted,
                                     NodePruned, Notice, RoundDone)
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

    # ------------------------------------------------------------------ events

    def apply(self, event: Event) -> str | None:
        """Fold one event in; returns the id of the node it changed, if any."""
        if self.status == "starting":
            self.status = "running"
        if isinstance(event, (NodeCreated, NodeExecuted, NodeCritiqued)):
            if self.result is not None:
                return None  # the result's nodes are final; a late snapshot must not replace them
            node = event.node
            if node is None:
                return None
            self.nodes[node.id] = node
            return node.id
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

    def set_result(self, result: Outcome) -> None:
        self.result = result
        for node in result.nodes:
            self.nodes[node.id] = node
        self.status = "finished"

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
