"""A scrollable, syntax-highlighted, read-only view of source code or a diff.

Candidate code is data: control characters are shown as escapes (`printable`), never sent to the
terminal, and nothing in it is read as markup."""

from __future__ import annotations

from rich.console import Group
from rich.syntax import Syntax
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from assistant.textsafe import printable

THEME = "monokai"


class CodeView(VerticalScroll):
    DEFAULT_CLASSES = "code-view"

    def __init__(self, placeholder: str = "", **kw):
        super().__init__(**kw)
        self._placeholder = placeholder
        self.text = ""

    def compose(self):
        yield Static(Text(self._placeholder, style="dim"), classes="code-body")

    def show(self, text: str, lexer: str = "python", line_numbers: bool = True) -> None:
        self.text = text
        body = self.query_one(".code-body", Static)
        if not text:
            body.update(Text(self._placeholder, style="dim"))
            return
        body.update(Syntax(printable(text), lexer, theme=THEME, line_numbers=line_numbers, word_wrap=False,
                           background_color="default"))

    def show_text(self, text: Text | Group) -> None:
        """Plain text (the model writing a candidate: the tail of what it wrote)."""
        self.text = ""
        self.query_one(".code-body", Static).update(text)

    def show_message(self, message: str) -> None:
        self.text = ""
        self.query_one(".code-body", Static).update(Text(printable(message), style="dim"))
