"""Recent runs from the runs directory: when, problem, method, model, result."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widgets import DataTable

from assistant.textsafe import printable

from ..runs import RecentRun, recent_runs


class RecentRunsTable(DataTable):
    def __init__(self, **kw):
        super().__init__(cursor_type="row", zebra_stripes=True, **kw)
        self.runs: list[RecentRun] = []

    def on_mount(self) -> None:
        for label in ("when", "problem", "method", "model", "ranked", "best", "stop"):
            self.add_column(label, key=label)

    def load(self, runs_dir: Path) -> None:
        self.runs = recent_runs(runs_dir)
        self.clear()
        if not self.runs:
            return
        for i, run in enumerate(self.runs):
            ranked = str(run.candidates) if run.candidates is not None else "-"
            # every cell is Text: a trace's strings are data, never markup
            self.add_row(Text(run.started.strftime("%m-%d %H:%M")), Text(printable(run.problem), style="bold"),
                         Text(printable(run.method)), Text(printable(run.model)), Text(ranked, justify="right"),
                         Text(printable(run.best or "-")), Text(printable(run.stop_reason[:60]), style="dim"),
                         key=str(i))

    def run_at(self, row: int) -> RecentRun | None:
        return self.runs[row] if 0 <= row < len(self.runs) else None
