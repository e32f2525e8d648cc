"""The ranked candidate table (solve: rank, pass x/y, generated, CPU ms, memory, critic, complexity)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from ..modes.base import ModeJob
from ..state import RunState


class CandidateTable(DataTable):
    """One row per candidate, columns as the mode job defines them; the row key is the node id."""

    ALLOW_MAXIMIZE = True

    def __init__(self, job: ModeJob, **kw):
        super().__init__(cursor_type="row", zebra_stripes=True, **kw)
        self.job = job
        self.row_ids: list[str] = []

    def on_mount(self) -> None:
        self.set_columns(self.job)

    def set_columns(self, job: ModeJob) -> None:
        self.job = job
        self.clear(columns=True)
        self.row_ids = []
        for label, key, width in job.columns:
            self.add_column(label, key=key, width=width)

    def cells(self, row: dict[str, Any], state: RunState) -> list[Text]:
        node_id = row["id"]
        rank = str(row["rank"]) if row["rank"] is not None else "-"
        if node_id in state.pinned:
            rank = "⚑" + rank
        cells = [Text(rank, justify="right"), Text(node_id, style="bold"), *self.job.cells(row)]
        if state.is_pruned(node_id):
            for cell in cells:
                cell.stylize("dim")
        return cells

    def show(self, state: RunState, keep: str | None = None) -> None:
        """Rebuild from the state, keeping the cursor on `keep` (a node id) when it is listed."""
        rows = state.rows(self.job)
        ids = [r["id"] for r in rows]
        if ids == self.row_ids and self.row_count == len(rows):
            for r in rows:  # same rows in the same order: update cells in place
                for (_, key, _), cell in zip(self.job.columns, self.cells(r, state)):
                    self.update_cell(r["id"], key, cell, update_width=True)
        else:
            self.clear()
            for r in rows:
                self.add_row(*self.cells(r, state), key=r["id"])
            self.row_ids = ids
            if keep in ids:
                self.move_cursor(row=ids.index(keep), animate=False)

    def selected_id(self) -> str | None:
        if not self.row_ids or self.cursor_row < 0 or self.cursor_row >= len(self.row_ids):
            return None
        return self.row_ids[self.cursor_row]
