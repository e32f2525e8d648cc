"""Badges and number formats shared by the widgets (rich Text, no widget state)."""

from __future__ import annotations

from rich.text import Text

from assistant.engine.node import Execution, Node
from assistant.textsafe import printable

VERDICT_STYLE = {"AC": "bold green", "WA": "bold red", "TLE": "bold yellow", "MLE": "bold magenta",
                 "RE": "bold red", "OLE": "bold yellow", "CE": "bold blue"}
# the order a node's "main" failing verdict is picked in, worst first
_FAILING = ("CE", "RE", "TLE", "MLE", "OLE", "WA")


def main_verdict(ex: Execution) -> str:
    if ex.compile_error:
        return "CE"
    counts = ex.verdicts()
    if ex.total and counts.get("AC", 0) == ex.total:
        return "AC"
    for verdict in _FAILING:
        if counts.get(verdict):
            return verdict
    return "AC" if ex.total else "?"


def verdict_badge(node: Node, execution: Execution | None = None) -> Text:
    """What a node came to: "AC 3/3", "WA 1/3", "CE", "no code", "= n0", or "running"."""
    if node.status == "invalid":
        return Text("no code", style="red")
    if node.status == "duplicate":
        return Text(f"= {node.duplicate_of}", style="dim")
    ex = execution or node.execution
    if ex is None:
        return Text("running", style="italic")
    verdict = main_verdict(ex)
    if verdict == "CE":
        return Text("CE", style=VERDICT_STYLE["CE"])
    if not ex.total:
        return Text("ran (no tests)", style="yellow")
    return Text(f"{verdict} {ex.passed}/{ex.total}", style=VERDICT_STYLE.get(verdict, ""))


def score_badge(node: Node) -> Text:
    if node.critique is None or node.critique.score is None:
        return Text("")
    score = node.critique.score
    return Text(f"★{score}", style="green" if score >= 4 else "yellow" if score == 3 else "red")


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if value < 1000 else f"{value:,.0f}"


def fmt_mb(kb: int | None) -> str:
    return f"{kb / 1024:.1f}" if kb else "-"


def fmt_count(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 10_000 else f"{n:,}"


def one_line(text: str | None, width: int = 40) -> str:
    """Candidate output on one line, its control characters shown as escapes."""
    if text is None:
        return "(none)"
    flat = printable(text.rstrip("\n").replace("\n", "⏎"))
    if not flat:
        return "(empty)"
    return flat if len(flat) <= width else flat[: width - 1] + "…"
