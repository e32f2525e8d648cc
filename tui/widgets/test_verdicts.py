"""Per-test verdicts of one candidate, and the highlighted test's expected vs actual output.

Everything a candidate produced (output, expected vs actual, tracebacks, errors) is shown as
plain text with its control characters made visible (`printable`), never as markup."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Static

from assistant.engine.node import Execution, TestOutcome
from assistant.textsafe import printable
from sandbox.api import TestCase
from sandbox.compare import mismatch_lines

from ..format import VERDICT_STYLE, fmt_mb, fmt_ms, one_line


class TestVerdicts(Vertical):
    __test__ = False  # not a pytest class

    def __init__(self, **kw):
        super().__init__(**kw)
        self.outcomes: list[TestOutcome] = []
        self.cases: dict[str, TestCase] = {}

    def compose(self):
        yield Static("", classes="tests-header")
        yield DataTable(cursor_type="row", zebra_stripes=True, classes="tests-table")
        with VerticalScroll(classes="tests-detail-scroll"):
            yield Static("", classes="tests-detail")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label in ("test", "verdict", "CPU ms", "MB", "expected", "actual"):
            table.add_column(label, key=label)

    def show(self, node_id: str | None, execution: Execution | None, source: str | None = None,
             cases: list[TestCase] | None = None, extra: tuple[str, list[TestOutcome]] = ("", []),
             label: str = "visible") -> None:
        """`cases`: the problem's tests, to show each one's input (stdin, or the assert it runs).
        `extra`: a summary and more verdicts listed after the node's own (fix mode: regressions);
        `label` says what the node's own tests are ("visible", "target tests")."""
        self.cases = {c.name: c for c in cases or [] if c.name}
        header = self.query_one(".tests-header", Static)
        table = self.query_one(DataTable)
        table.clear()
        self.outcomes = []
        if execution is None:
            header.update(Text(f"{node_id}: not run" if node_id else "select a candidate", style="dim"))
            self.query_one(".tests-detail", Static).update("")
            return
        visible, generated = execution.visible, execution.generated
        summary = Text(f"{node_id}: {execution.passed}/{execution.total} {label}", style="bold")
        if generated:
            summary.append(f", {execution.generated_passed}/{len(generated)} generated")
        if source:
            summary.append(f" ({source})", style="italic")
        extra_summary, extra_outcomes = extra
        if extra_summary:
            summary.append(f"; {extra_summary}", style="bold")
        if execution.compile_error:
            summary.append(f"  compile error: {printable(execution.compile_error.splitlines()[0])}", style="bold blue")
        if execution.sandbox_error:
            summary.append(f"  sandbox error: {printable(execution.sandbox_error.splitlines()[0])}", style="red")
        header.update(summary)
        self.outcomes = list(visible) + list(generated) + list(extra_outcomes)
        for i, t in enumerate(self.outcomes):
            table.add_row(Text(printable(t.name)), Text(t.verdict, style=VERDICT_STYLE.get(t.verdict, "")),
                          Text(fmt_ms(t.cpu_ms), justify="right"), Text(fmt_mb(t.peak_rss_kb), justify="right"),
                          Text(printable(one_line(t.expected, 24))), Text(printable(one_line(t.actual, 24))),
                          key=str(i))
        self.show_detail(0)

    def show_detail(self, index: int) -> None:
        detail = self.query_one(".tests-detail", Static)
        if not (0 <= index < len(self.outcomes)):
            detail.update("")
            return
        t = self.outcomes[index]
        grid = Table.grid(padding=(0, 2), expand=True)
        grid.add_column(ratio=1)
        grid.add_column(ratio=1)
        grid.add_row(Text("expected", style="bold"), Text("actual", style="bold"))
        grid.add_row(Text(printable(t.expected) if t.expected is not None else "(not compared)"),
                     Text(printable(t.actual) if t.actual is not None else "(none)",
                          style="" if t.verdict == "AC" else "red"))
        parts: list = [Text.assemble((f"{printable(t.name)}: ", "bold"), (t.verdict, VERDICT_STYLE.get(t.verdict, "")),
                                     f"  {printable(t.detail)}" if t.detail else "")]
        case = self.cases.get(t.name)
        if case is not None and case.code:
            parts.append(Text("test: " + printable(case.code.strip()), style="cyan"))
        elif case is not None and case.input is not None:
            parts.append(Text.assemble(("input\n", "bold"), printable(one_line_block(case.input))))
        if t.mismatch is not None:  # where a wrong answer first differs, both sides numbered
            parts.append(Text(printable("\n".join(mismatch_lines(t.mismatch))), style="yellow"))
        parts.append(grid)
        if t.traceback:
            parts.append(Text(printable(t.traceback.rstrip()), style="red"))
        elif t.stdout and t.actual is None:
            parts.append(Text("stdout: " + printable(t.stdout.rstrip()), style="dim"))
        from rich.console import Group
        detail.update(Group(*parts))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.show_detail(event.cursor_row)


def one_line_block(text: str, max_lines: int = 12) -> str:
    lines = text.rstrip("\n").split("\n")
    if len(lines) > max_lines:
        lines = lines[:max_lines] + [f"... ({len(lines) - max_lines} more lines)"]
    return "\n".join(lines)
