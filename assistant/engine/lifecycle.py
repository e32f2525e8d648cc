"""Steps of a candidate's life that every search shares (solve, fix's patches, hint's repairs):
announcing it, critiquing it from its real report, and developing a batch of them concurrently."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable

from ..models.base import Completion, GenerationOptions, Message, ModelError
from .budget import BudgetExhausted
from .context import EngineContext
from .critic import CRITIC_SCHEMA, parse_critique
from .events import NodeCreated, NodeCritiqued, NodePruned, RoundDone
from .node import Node


def announce(ctx: EngineContext, node: Node) -> None:
    """The NodeCreated event for a node, whatever it turned out to be (invalid, duplicate, new)."""
    ctx.emit(NodeCreated(node_id=node.id, parent_id=node.parent_id, round=node.round, strategy=node.strategy,
                         invalid=node.invalid_reason if node.status == "invalid" else None,
                         duplicate_of=node.duplicate_of if node.status == "duplicate" else None, node=node))


async def ask(ctx: EngineContext, role: str, options: GenerationOptions, node_id: str,
              messages: list[Message] | None = None, prompt: str | None = None,
              answered: bool = True) -> Completion | None:
    """One model call for a node: chat when `messages`, a raw completion otherwise.

    Until the model has `answered` once in this run, a failure is raised: the model is unreachable
    or missing, and that is the run's one clear error. After that a failed call is a notice and
    the node is simply not made."""
    try:
        if messages is not None:
            return await ctx.call(role, options, messages=messages, node_id=node_id)
        return await ctx.call(role, options, prompt=prompt or "", node_id=node_id)
    except ModelError as exc:
        if not answered:
            raise
        ctx.notice(f"{role} call for {node_id} failed: {exc}", "warning")
        return None


async def critique(ctx: EngineContext, node: Node, messages: list[Message], temperature: float,
                   max_tokens: int, seed: int) -> None:
    """Ask the critic about `node` (messages carry its real report); record and announce the answer.

    A failed call or a reply without a score is a notice, never an error: ranking then goes by
    execution alone."""
    options = GenerationOptions(temperature=temperature, max_tokens=max_tokens, seed=seed,
                                json_schema=CRITIC_SCHEMA if ctx.model.supports_json_schema else None)
    try:
        completion = await ctx.call("critic", options, messages=messages, node_id=node.id)
    except ModelError as exc:
        ctx.notice(f"critic call for {node.id} failed: {exc}", "warning")
        return
    result = parse_critique(completion.text)
    if result.score is None:
        ctx.notice(f"the critic's reply for {node.id} has no score; ranking goes by execution only", "warning")
    node.critique = result
    node.status = "critiqued"
    ctx.emit(NodeCritiqued(node_id=node.id, score=result.score, summary=result.summary(), node=node))


class InOrder:
    """Concurrent developments of one batch pass one point in batch order: the check for a
    duplicate program. Which of two identical answers counts as the original (and gets executed
    and critiqued under its id) then never depends on which answer arrived first, so a replay
    asks exactly what the recorded run asked."""

    def __init__(self, n: int) -> None:
        self._passed = [asyncio.Event() for _ in range(n)]

    async def wait_turn(self, i: int) -> None:
        for event in self._passed[:i]:
            await event.wait()

    def passed(self, i: int) -> None:
        self._passed[i].set()


async def develop_all(developments: Iterable[Awaitable[Node | None]]) -> list[Node]:
    """Run node developments concurrently. Every one finishes; then a budget stop or the first
    other error is raised (after the others' nodes are recorded by their own code)."""
    results = await asyncio.gather(*developments, return_exceptions=True)
    nodes, budget_error, other = [], None, None
    for r in results:
        if isinstance(r, BudgetExhausted):
            budget_error = r
        elif isinstance(r, BaseException):
            other = other or r
        elif r is not None:
            nodes.append(r)
    if other is not None:
        raise other
    if budget_error is not None:
        raise budget_error
    return nodes


def close_round(ctx: EngineContext, round_: int, pool: list[Node], beam: list[Node], best_ratio: float) -> None:
    """End a round: every node of `pool` left out of the new `beam` is pruned (once, announced),
    then the round is announced with its best node (the beam's first)."""
    for n in pool:
        if n not in beam and n.status != "pruned":
            n.status = "pruned"
            ctx.emit(NodePruned(node_id=n.id, reason=f"outside the beam after round {round_}"))
    ctx.emit(RoundDone(round=round_, best_node_id=beam[0].id if beam else None, best_pass_ratio=best_ratio,
                       beam=[n.id for n in beam]))
