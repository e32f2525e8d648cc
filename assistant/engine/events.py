"""Typed events the engine emits; the CLI (rich progress) and the TUI consume them.

Events are plain data (pydantic) so they can be logged, sent across threads and asserted on.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from .node import Node


class Event(BaseModel):
    type: str
    t: float = Field(0.0, description="seconds since the run started")


class NodeCreated(Event):
    type: Literal["node_created"] = "node_created"
    node_id: str
    parent_id: str | None
    round: int
    strategy: str
    invalid: str | None = Field(None, description="why the reply gave no runnable code")
    duplicate_of: str | None = None
    node: Node | None = Field(None, description="a snapshot of the node after this step")


class NodeExecuted(Event):
    type: Literal["node_executed"] = "node_executed"
    node_id: str
    passed: int
    total: int
    generated_passed: int = 0
    generated_total: int = 0
    verdicts: dict[str, int] = Field(default_factory=dict)
    cpu_ms: float | None = None
    peak_rss_kb: int | None = None
    compile_error: str | None = None
    regressions: int | None = Field(None, description="fix mode: previously passing tests the patch broke")
    node: Node | None = Field(None, description="a snapshot of the node after this step")


class NodeCritiqued(Event):
    type: Literal["node_critiqued"] = "node_critiqued"
    node_id: str
    score: int | None
    summary: str
    node: Node | None = Field(None, description="a snapshot of the node after this step")


class NodePruned(Event):
    type: Literal["node_pruned"] = "node_pruned"
    node_id: str
    reason: str


class RoundDone(Event):
    type: Literal["round_done"] = "round_done"
    round: int
    best_node_id: str | None
    best_pass_ratio: float
    beam: list[str] = Field(default_factory=list)


class BudgetUpdate(Event):
    type: Literal["budget"] = "budget"
    calls: int
    max_calls: int | None
    tokens: int
    max_tokens: int | None
    wall_s: float
    max_wall_s: float | None
    tokens_per_s: float | None = None


class Notice(Event):
    """Something the user should read (a fallback taken, a suspect test, a bad model reply)."""

    type: Literal["notice"] = "notice"
    level: Literal["info", "warning", "error"] = "info"
    message: str


class ModelText(Event):
    """Streamed model text (for live display); high volume, consumers may ignore it. An empty
    `text` marks the start of a call (the model is reading its prompt)."""

    type: Literal["model_text"] = "model_text"
    role: str
    node_id: str | None
    text: str


class Finished(Event):
    type: Literal["finished"] = "finished"
    best_node_id: str | None
    ranking: list[str]
    stop_reason: str
    summary: dict[str, Any] = Field(default_factory=dict)


AnyEvent = (NodeCreated | NodeExecuted | NodeCritiqued | NodePruned | RoundDone | BudgetUpdate | Notice
            | ModelText | Finished)
