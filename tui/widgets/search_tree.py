"""The live search tree: one tree node per candidate, nested by parent, with badges."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from ..format import score_badge, verdict_badge
from ..state import RunState


class SearchTree(Tree[str]):
    """Candidates as the engine develops them: id, round, verdict and critic score badges.

    Pruned nodes (by the engine's beam, or hidden by the user) are dimmed; pinned ones flagged."""

    ALLOW_MAXIMIZE = True

    def __init__(self, title: str, **kw):
        super().__init__(Text(title, style="bold"), data="", **kw)
        self._items: dict[str, TreeNode[str]] = {}
        self.show_root = True
        self.guide_depth = 2

    def label_for(self, state: RunState, node_id: str) -> Text:
        node = state.nodes[node_id]
        execution, _ = state.execution(node_id)
        label = Text()
        if node_id in state.pinned:
            label.append("⚑ ", style="bold cyan")
        label.append(node_id, style="bold")
        label.append(f" r{node.round} ", style="dim")
        label.append_text(verdict_badge(node, execution))
        score = score_badge(node)
        if score:
            label.append(" ")
            label.append_text(score)
        if node_id == state.best_node_id and state.result is not None:
            label.append(" best", style="bold green")
        if state.is_pruned(node_id):
            label.stylize("dim")
            label.append(" pruned" if node_id in state.pruned else " hidden", style="dim italic")
        return label

    def update_node(self, state: RunState, node_id: str) -> None:
        """Add the node (under its parent) or refresh its label."""
        if node_id not in state.nodes:
            return
        item = self._items.get(node_id)
        if item is None:
            node = state.nodes[node_id]
            parent = self._items.get(node.parent_id or "") or self.root
            # a candidate is a leaf (no expand arrow) until it gets a child
            item = parent.add(self.label_for(state, node_id), data=node_id, expand=True, allow_expand=False)
            parent.allow_expand = True
            parent.expand()
            self._items[node_id] = item
        else:
            item.set_label(self.label_for(state, node_id))

    def refresh_all(self, state: RunState) -> None:
        for node_id in state.nodes:
            self.update_node(state, node_id)

    def select_node_id(self, node_id: str) -> None:
        item = self._items.get(node_id)
        if item is not None:
            # a node's line is known only once the tree has laid out its latest additions
            self.call_after_refresh(self.move_cursor, item)
