"""The model at work: the text of the calls being written, as it streams in.

Model text is shown as plain text (never as markup, control characters made visible)."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from assistant.textsafe import printable

from ..state import Stream

TAIL_LINES = 40


def stream_text(stream: Stream, live: bool, tail: int = TAIL_LINES) -> Group:
    """A stream's header (what, how many tokens, live or done) and the tail of its text."""
    head = Text(stream.label(), style="bold cyan" if live else "bold")
    head.append(f"  {stream.chunks} tok" if stream.chunks else "  reading the prompt…", style="dim")
    if not live:
        head.append("  (ended)", style="dim italic")
    lines = printable(stream.text).split("\n")
    body = "\n".join(lines[-tail:]) if stream.text else ""
    return Group(head, Text(body + ("▌" if live else ""), style="" if live else "dim"))


class LiveView(VerticalScroll):
    """Every call being written (the latest first); when none is, the last one that was."""

    DEFAULT_CLASSES = "live-view"

    def compose(self):
        yield Static(Text("the model has not written anything yet", style="dim"), classes="live-body")

    def show(self, live: list[Stream], latest: Stream | None) -> None:
        body = self.query_one(".live-body", Static)
        if live:
            per = max(6, TAIL_LINES // len(live))
            body.update(Group(*(stream_text(s, True, per) for s in live)))
        elif latest is not None:
            body.update(stream_text(latest, False))
        else:
            body.update(Text("the model has not written anything yet", style="dim"))
            return
        self.scroll_end(animate=False)
