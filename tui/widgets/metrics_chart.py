"""ASCII bar charts: best candidate per round, CPU time and peak memory per candidate."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import RenderableType
from rich.text import Text
from textual.widget import Widget

from ..state import RunState

BAR = "█"
PARTIAL = " ▏▎▍▌▋▊▉"


def bar(value: float, top: float, width: int) -> str:
    """A horizontal bar of `width` cells at full scale, in eighths of a cell."""
    if top <= 0 or value <= 0 or width <= 0:
        return ""
    eighths = round(min(value / top, 1.0) * width * 8)
    full, rest = divmod(eighths, 8)
    return BAR * full + (PARTIAL[rest] if rest else "")


@dataclass
class Series:
    title: str
    rows: list[tuple[str, float | None, str, str]]  # label, value, text shown, style
    ratio: bool = False  # values are shares (0..1) on one 100% scale


def series_from(state: RunState) -> list[Series]:
    rounds = []
    for r in state.rounds:
        node = state.node(r.best_node_id)
        score = node.critique.score if node is not None and node.critique and node.critique.score else None
        text = f"{r.best_pass_ratio:.0%} {r.best_node_id or '-'}" + (f" ★{score}" if score else "")
        rounds.append((f"r{r.round}", r.best_pass_ratio, text, "green" if r.best_pass_ratio >= 1 else "yellow"))
    best = state.node(state.result.best_node_id) if state.result is not None else None
    if best is not None:
        ex = best.execution
        ratio = ex.passed / ex.total if ex and ex.total else 0.0
        score = f" ★{best.critique.score}" if best.critique and best.critique.score else ""
        rounds.append(("final", ratio, f"{ratio:.0%} {best.id}{score}", "bold green" if ratio >= 1 else "yellow"))
    cpu, mem = [], []
    for node_id in state.ranked_ids():
        node = state.nodes[node_id]
        ex, _ = state.execution(node_id)
        if ex is None:
            continue
        ms = node.final_cpu_ms if node.final_cpu_ms is not None and node_id not in state.reruns else ex.cpu_ms
        ok = ex.total and ex.passed == ex.total
        style = "green" if ok else "yellow" if ex.passed else "red"
        cpu.append((node_id, ms, f"{ms:.1f} ms" if ms is not None else "-", style))
        mb = ex.peak_rss_kb / 1024 if ex.peak_rss_kb else None
        mem.append((node_id, mb, f"{mb:.1f} MB" if mb is not None else "-", style))
    return [Series("best candidate per round (visible tests passed)", rounds, ratio=True),
            Series("CPU time per candidate (visible tests)", cpu),
            Series("peak memory per candidate", mem)]


class MetricsChart(Widget):
    DEFAULT_CSS = "MetricsChart { height: auto; }"

    def __init__(self, **kw):
        super().__init__(**kw)
        self._series: list[Series] = []

    def show(self, series: list[Series]) -> None:
        self._series = series
        self.refresh(layout=True)

    def get_content_height(self, container, viewport, width: int) -> int:
        return sum(2 + max(1, len(s.rows)) for s in self._series) or 1

    def render(self) -> RenderableType:
        if not any(s.rows for s in self._series):
            return Text("no measurements yet", style="dim")
        width = max(20, self.size.width)
        out = Text()
        for s in self._series:
            out.append(s.title + "\n", style="bold")
            if not s.rows:
                out.append("  (none yet)\n", style="dim")
            values = [v for _, v, _, _ in s.rows if v is not None]
            top = max(values, default=0.0)
            label_w = max((len(label) for label, *_ in s.rows), default=2)
            text_w = max((len(text) for _, _, text, _ in s.rows), default=4)
            bar_w = max(4, width - label_w - text_w - 4)
            if s.ratio:
                top = 1.0  # pass ratios share one scale: 100%
            for label, value, text, style in s.rows:
                out.append(f"{label:>{label_w}} ", style="bold")
                b = bar(value or 0.0, top, bar_w)
                out.append(b.ljust(bar_w), style=style)
                out.append(f" {text}\n")
            out.append("\n")
        out.rstrip()
        return out
