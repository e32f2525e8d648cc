"""The ranked candidate table: rank, pass x/y, generated tests, CPU ms, memory, complexity, critic."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from ..format import fmt_ms
from ..state import RunState

# (label, key, fixed width or None for auto): fixed widths keep the columns still during a live run
# (label, key, fixed width or None for auto): fixed widths keep the columns still during a live run,
# and all but the complexity fit beside the tree at 80 columns
COLUMNS = (("#", "rank", 2), ("id", "id", 3), ("pass", "pass", 5), ("gen", "gen", 5), ("CPU ms", "cpu", 6),
           ("MB", "mem", 4), ("critic", "critic", 6), ("complexity", "complexity", None))


class CandidateTable(DataTable):
    """Rows in the engine's `candidate_rows` shape; the row key is the node id."""

    def __init__(self, **kw):
        super().__init__(cursor_type="row", zebra_stripes=True, **kw)
        self.row_ids: list[str] = []

    def on_mount(self) -> None:
        for label, key, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    @staticmethod
    def cells(row: dict[str, Any], state: RunState) -> list[Text]:
        node_id = row["id"]
        dim = "dim" if state.is_pruned(node_id) else ""
        ok = row["visible_total"] and row["visible_passed"] == row["visible_total"]
        rank = str(row["rank"]) if row["rank"] is not None else "-"
        if node_id in state.pinned:
            rank = "⚑" + rank
        passed = Text(f"{row['visible_passed']}/{row['visible_total']}",
                      style="green" if ok else "yellow" if row["visible_passed"] else "red")
        if row["compile_error"]:
            passed = Text("CE", style="bold blue")
        gen = f"{row['generated_passed']}/{row['generated_total']}" if row["generated_total"] else "-"
        mb = row["peak_memory_mb"]
        mem = "-" if not mb else f"{mb:.1f}" if mb < 100 else f"{mb:.0f}"
        score = f"{row['critic_score']}/5" if row["critic_score"] is not None else "-"
        cells = [Text(rank, justify="right"), Text(node_id, style="bold"), passed, Text(gen),
                 Text(fmt_ms(row["cpu_ms"]), justify="right"), Text(mem, justify="right"), Text(score),
                 Text(row["complexity"] or "-")]
        if dim:
            for cell in cells:
                cell.stylize("dim")
        return cells

    def show(self, state: RunState, keep: str | None = None) -> None:
        """Rebuild from the state, keeping the cursor on `keep` (a node id) when it is listed."""
        rows = state.rows()
        ids = [r["id"] for r in rows]
        if ids == self.row_ids and self.row_count == len(rows):
            for r in rows:  # same rows in the same order: update cells in place
                for (_, key, _), cell in zip(COLUMNS, self.cells(r, state)):
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
