"""A scrollable, syntax-highlighted, read-only view of source code or a diff."""

from __future__ import annotations

from rich.syntax import Syntax
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

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
        body.update(Syntax(text, lexer, theme=THEME, line_numbers=line_numbers, word_wrap=False,
                           background_color="default"))

    def show_message(self, message: str) -> None:
        self.text = ""
        self.query_one(".code-body", Static).update(Text(message, style="dim"))
