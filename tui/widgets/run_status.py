"""One line of progress: state, round, model calls against the budget, tokens, tokens/s, time."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ..format import fmt_count
from ..state import RunState

STATE_STYLE = {"starting": "cyan", "running": "bold cyan", "stopping": "bold yellow", "finished": "bold green",
               "cancelled": "bold yellow", "failed": "bold red"}


def progress_bar(used: int, total: int, width: int = 10) -> str:
    filled = round(width * min(used / total, 1.0)) if total else 0
    return "▰" * filled + "▱" * (width - filled)


def status_text(state: RunState, max_rounds: int | None, width: int = 80) -> Text:
    t = Text()
    t.append(f" {state.status} ", style=f"reverse {STATE_STYLE.get(state.status, '')}")
    if state.current_round is not None:
        t.append(f" round {state.current_round}" + (f"/{max_rounds}" if max_rounds is not None else ""))
    b = state.budget
    if b is not None:
        t.append("  calls ")
        if b.max_calls:
            t.append(progress_bar(b.calls, b.max_calls, 8 if width < 100 else 12), style="cyan")
            t.append(f" {b.calls}/{b.max_calls}")
        else:
            t.append(str(b.calls))
        t.append(f"  {fmt_count(b.tokens)} tok")
        if b.max_tokens:
            t.append(f"/{fmt_count(b.max_tokens)}")
        if state.tokens_per_s:
            t.append(f"  {state.tokens_per_s:.0f} tok/s")
        t.append(f"  {b.wall_s:.0f}s" + (f"/{b.max_wall_s:g}s" if b.max_wall_s else ""))
    runnable = sum(1 for n in state.nodes.values() if n.runnable)
    t.append(f"  {len(state.nodes)} nodes, {runnable} ran")
    if state.result is not None:
        t.append(f"  {state.result.stop_reason}", style="italic")
    elif state.error:
        t.append(f"  {state.error}", style="red")
    return t


class RunStatusBar(Static):
    def show(self, state: RunState, max_rounds: int | None) -> None:
        self.update(status_text(state, max_rounds, self.size.width or 80))
