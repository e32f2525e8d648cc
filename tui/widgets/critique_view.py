"""The critic's review of a candidate (Markdown), with the programmer's strategy and reasoning."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widgets import Markdown

from assistant.engine.node import Node
from assistant.textsafe import printable


def critique_markdown(node: Node, pruned_reason: str | None = None) -> str:
    parts = [f"## {node.id} · round {node.round}" + (f" · from {node.parent_id}" if node.parent_id else "")]
    if node.strategy:
        parts.append(f"**Strategy:** {node.strategy}")
    if pruned_reason:
        parts.append(f"**Pruned:** {pruned_reason}")
    c = node.critique
    if c is None:
        if node.status == "invalid":
            parts.append(f"**No program in the reply:** {node.invalid_reason}")
        elif node.status == "duplicate":
            parts.append(f"**Same program as {node.duplicate_of}**: not run or critiqued again.")
        else:
            parts.append("_No critique: the critic has not reviewed this candidate "
                         "(not reached yet, disabled, or a completion-only model)._")
    else:
        score = f"{c.score}/5" if c.score is not None else "no score"
        parts.append(f"### Critic: {score}" + (" · done" if c.done else ""))
        if c.analysis:
            parts.append(f"**Analysis.** {c.analysis}")
        if c.complexity:
            parts.append(f"**Complexity.** {c.complexity}")
        if c.suggestion:
            parts.append(f"**Suggestion.** {c.suggestion}")
        if not (c.analysis or c.complexity or c.suggestion) and c.raw:
            parts.append("**Reply (unparsed):**\n\n" + "\n".join("> " + ln for ln in c.raw.splitlines()))
    if node.complexity:
        parts.append(f"**Measured complexity:** {node.complexity}")
    if node.reasoning:
        parts.append("### Programmer's reasoning\n\n" + node.reasoning.strip())
    return printable("\n\n".join(parts) + "\n")  # model text: control characters shown, not sent


class CritiqueView(VerticalScroll):
    def compose(self):
        yield Markdown("_select a candidate_")

    def show(self, node: Node | None, pruned_reason: str | None = None) -> None:
        md = self.query_one(Markdown)
        md.update(critique_markdown(node, pruned_reason) if node is not None else "_select a candidate_")
