"""One line of progress: state, what is happening now, round, model calls against the budget,
tokens, tokens/s, time, nodes, and how the run ended.

The line is built from parts in order of importance: on a narrow terminal the least important
go first, and the state with what is happening (or why the run ended) always stays."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import Static

from assistant.textsafe import printable

from ..format import fmt_count
from ..state import RunState

STATE_STYLE = {"starting": "cyan", "running": "bold cyan", "stopping": "bold yellow", "finished": "bold green",
               "cancelled": "bold yellow", "failed": "bold red", "working": "bold cyan"}


def progress_bar(used: int, total: int, width: int = 10) -> str:
    filled = round(width * min(used / total, 1.0)) if total else 0
    return "▰" * filled + "▱" * (width - filled)


def status_text(state: RunState, max_rounds: int | None, width: int = 80, now: float | None = None,
                stopping: str | None = None) -> Text:
    """`stopping`: why the run is stopping (quitting), shown instead of the usual state."""
    now = time.monotonic() if now is None else now
    status = "stopping" if stopping else "working" if state.busy and not state.running else state.status
    badge = Text(f" {status} ", style=f"reverse {STATE_STYLE.get(status, '')}")
    parts: list[tuple[int, Text]] = []  # (priority: 0 kept longest, text)
    doing = stopping or state.doing(now) or (state.busy if not state.running else None)
    if doing:
        parts.append((0, Text(f" {printable(doing)}", style="italic")))
    rate = state.live_rate(now) if (state.running or state.busy) else None
    rate = rate or state.tokens_per_s
    if state.current_round is not None:
        parts.append((3, Text(f" round {state.current_round}" + (f"/{max_rounds}" if max_rounds is not None else ""))))
    b = state.budget
    if b is not None:
        calls = Text(" calls ")
        if b.max_calls:
            if width >= 100:
                calls.append(progress_bar(b.calls, b.max_calls, 12), style="cyan")
                calls.append(" ")
            calls.append(f"{b.calls}/{b.max_calls}")
        else:
            calls.append(str(b.calls))
        parts.append((2, calls))
        parts.append((5, Text(f" {fmt_count(b.tokens)} tok" + (f"/{fmt_count(b.max_tokens)}" if b.max_tokens else ""))))
        parts.append((6, Text(f" {b.wall_s:.0f}s" + (f"/{b.max_wall_s:g}s" if b.max_wall_s else ""))))
    if rate:
        parts.append((1, Text(f" {rate:.0f} tok/s", style="cyan" if state.running or state.busy else "")))
    runnable = sum(1 for n in state.nodes.values() if n.runnable)
    parts.append((4, Text(f" {len(state.nodes)} nodes, {runnable} ran")))
    ending = None
    if not stopping and not state.running:
        if state.result is not None:
            ending = Text(f" {printable(state.result.stop_reason)}", style="italic")
        elif state.error:
            ending = Text(f" {printable(state.error)}", style="red")
        elif state.status == "cancelled":
            ending = Text(" cancelled: the candidates so far are kept, unranked", style="italic")

    # how the run ended keeps at least half the line (truncated past that) before counters drop
    reserve = min(ending.cell_len, max(30, width // 2)) + 1 if ending is not None else 0

    def length(items) -> int:
        return badge.cell_len + sum(t.cell_len + 1 for _, t in items) + reserve

    kept = list(parts)
    while kept and length(kept) > width:  # drop the least important part first
        kept.remove(max(kept, key=lambda p: p[0]))
    line = badge.copy()
    for _, t in kept:
        line.append(" ")
        line.append_text(t)
    if ending is not None:
        room = width - line.cell_len - 1
        if ending.cell_len > room:
            ending.truncate(max(room, 12), overflow="ellipsis")
        line.append(" ")
        line.append_text(ending)
    return line


class RunStatusBar(Static):
    def show(self, state: RunState, max_rounds: int | None, stopping: str | None = None) -> None:
        self.update(status_text(state, max_rounds, self.size.width or 80, stopping=stopping))
