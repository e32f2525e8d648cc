"""Unified diff of a candidate against its parent, the best candidate, or the user's original."""

from __future__ import annotations

import difflib
from typing import Literal

from rich.text import Text
from textual.containers import Vertical
from textual.widgets import Static

from .code_view import CodeView

DiffBase = Literal["parent", "best", "original"]
BASES: tuple[DiffBase, ...] = ("parent", "best", "original")


def unified(old: str, new: str, old_name: str, new_name: str) -> str:
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 fromfile=old_name, tofile=new_name)
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


class DiffView(Vertical):
    """The header names what is compared and how to switch (key d cycles parent/best/original)."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.base: DiffBase = "parent"

    def compose(self):
        yield Static("", classes="diff-header")
        yield CodeView("select a candidate", classes="diff-body")

    def show(self, node_id: str | None, code: str | None, base_name: str | None, base_code: str | None,
             why_none: str = "") -> None:
        header = self.query_one(".diff-header", Static)
        body = self.query_one(CodeView)
        choice = Text()
        for b in BASES:
            choice.append(f" {b} ", style="reverse bold" if b == self.base else "dim")
        choice.append("  (d)", style="dim")
        if node_id is None:
            header.update(choice)
            body.show_message("select a candidate")
            return
        if base_code is None or code is None:
            header.update(choice)
            body.show_message(f"{node_id}: {why_none or 'nothing to compare'}")
            return
        diff = unified(base_code, code, base_name or "base", node_id)
        added = sum(1 for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++"))
        removed = sum(1 for ln in diff.splitlines() if ln.startswith("-") and not ln.startswith("---"))
        summary = Text(f"{base_name} → {node_id}: +{added} -{removed}", style="bold")
        header.update(Text.assemble(choice, "\n", summary))
        if not diff:
            body.show_message(f"{node_id} is identical to {base_name}")
        else:
            body.show(diff, "diff", line_numbers=False)
