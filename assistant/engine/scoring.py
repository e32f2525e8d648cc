"""Scores and rankings. Execution decides: visible tests first, then trusted generated tests,
then measured cost. The critic's score orders the beam, never the final pick."""

from __future__ import annotations

import ast
import functools
import math

from .extract import strip_comments
from .node import Node


@functools.lru_cache(maxsize=4096)
def static_score(code: str, language: str = "python") -> float:
    """0..1, higher for smaller and simpler code (size and branching), as the reference folds them.
    Python is measured with its ast; other languages with their tree-sitter grammar."""
    if language not in ("python", "pypy"):
        from .codetext import grammar, metrics
        name = grammar(language)
        m = metrics(code, name) if name else None
        if m is None or not code.strip():
            return 0.0
        return _fold(m.lines, m.branches)
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return 0.0
    lines = [ln for ln in strip_comments(code).splitlines() if ln.strip()]
    branches = sum(isinstance(n, (ast.If, ast.For, ast.While, ast.Try, ast.BoolOp, ast.IfExp,
                                  ast.comprehension, ast.With, ast.Match))
                   for n in ast.walk(tree))
    return _fold(len(lines), branches)


def _fold(lines: int, branches: int) -> float:
    size = 1 / (1 + lines / 40)
    cyclomatic = 1 / (1 + branches / 10)
    return 0.5 * size + 0.5 * cyclomatic


def dynamic_score(cpu_ms: float | None, peak_kb: int | None) -> float:
    """0..1, higher for less CPU time and memory (each as 1/(1+x/scale))."""
    if cpu_ms is None:
        return 0.0
    time_part = 1 / (1 + cpu_ms / 100)
    mem_part = 1 / (1 + (peak_kb or 0) / (256 * 1024))
    return 0.7 * time_part + 0.3 * mem_part


def visible_ratio(node: Node, exclude: set[str] = frozenset()) -> float:
    ex = node.execution
    if ex is None:
        return 0.0
    counted = [t for t in ex.visible if t.name not in exclude]
    if not counted:
        # no visible tests (or all suspect): nothing to go by but a clean run
        return 1.0 if ex.compile_error is None and ex.sandbox_error is None else 0.0
    return sum(t.verdict == "AC" for t in counted) / len(counted)


def generated_ratio(node: Node, trust: dict[str, float] | None = None) -> float:
    ex = node.execution
    if ex is None or not ex.generated:
        return 0.0
    weights = {t.name: (trust or {}).get(t.name, 1.0) for t in ex.generated}
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    return sum(weights[t.name] for t in ex.generated if t.verdict == "AC") / total


def outcome_score(node: Node, exclude: set[str] = frozenset()) -> float:
    """pass_rate x (1 + 0.5 static + 0.5 dynamic); 0 when nothing passes (the reference's formula)."""
    rate = visible_ratio(node, exclude)
    if rate == 0 or node.execution is None:
        return 0.0
    return rate * (1 + 0.5 * static_score(node.code, node.language) + 0.5 * dynamic_score(node.execution.cpu_ms,
                                                                             node.execution.peak_rss_kb))


def node_index(node: Node) -> int:
    try:
        return int(node.id.lstrip("n"))
    except ValueError:
        return 0


def beam_key(node: Node, exclude: set[str], trust: dict[str, float]) -> tuple:
    """Deterministic given the model's replies (no timings), so replaying a trace repeats the search."""
    critic = node.critique.score if node.critique and node.critique.score is not None else 0
    return (round(visible_ratio(node, exclude), 6), round(generated_ratio(node, trust), 6), critic,
            round(static_score(node.code, node.language), 6), -node_index(node))


def final_key(node: Node, exclude: set[str], agreement: dict[str, tuple[float, int]],
              copies: dict[str, int] | None = None, finalists: set[str] | None = None) -> tuple:
    """The final pick over every node: visible pass ratio, then agreement on the generated tests
    among the candidates as good on the visible tests (CodeT's group score, and the group itself, so
    candidates that disagree on a test are never ordered by their cost), then how many times the
    same program was written, then the finalists (timed on every test, repeatedly) before the rest
    of their group, then measured cost. Everything before the cost is free of timings."""
    cost = node.final_cpu_ms if node.final_cpu_ms is not None else (
        node.execution.cpu_ms if node.execution and node.execution.cpu_ms is not None else math.inf)
    score, group = agreement.get(node.id, (0.0, 0))
    return (-round(visible_ratio(node, exclude), 6), -round(score, 6), group, -(copies or {}).get(node.id, 1),
            finalists is not None and node.id not in finalists, cost, -round(node.outcome_score, 6), node_index(node))


def agreement_scores(nodes: list[Node], exclude: set[str], test_ids: list[str],
                     copies: dict[str, int] | None = None) -> dict[str, tuple[float, int]]:
    """node id -> (CodeT group score, group rank) on the generated tests, computed within each tier
    of candidates with the same visible pass ratio: a crowd that fails the visible tests does not
    vote on which generated tests are right for the candidates that pass them."""
    from .gentests import codet_rank

    tiers: dict[float, list[Node]] = {}
    for n in nodes:
        tiers.setdefault(round(visible_ratio(n, exclude), 6), []).append(n)
    out: dict[str, tuple[float, int]] = {}
    for tier in tiers.values():
        matrix = {n.id: {t.name for t in n.execution.generated if t.verdict == "AC"} for n in tier}
        result = codet_rank(matrix, test_ids, sizes=copies, root=False)
        for rank, g in enumerate(result.groups):
            for cid in g.candidates:
                out[cid] = (g.score, rank)
    return out
