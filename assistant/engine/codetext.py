"""Programs in languages other than Python, read with tree-sitter: syntax check, tokens without
comments (for de-duplication), and size and branching (for the static score).

Which grammar a language uses is data: the table's `normalize = "tree-sitter:NAME"`. The grammar
comes from its own package (tree-sitter-cpp, tree-sitter-c), else from the language pack; without
either, a plain tokenizer stands in (comments and whitespace still do not count).
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass

# node types that add a path through the program (cyclomatic complexity, as for Python's ast)
_BRANCHES = {"if_statement", "for_statement", "for_range_loop", "while_statement", "do_statement",
             "case_statement", "conditional_expression", "catch_clause", "switch_statement"}
_BOOLEAN_OPS = {"&&", "||", "and", "or"}
_COMMENTS = {"comment"}


def grammar(lang_id: str) -> str | None:
    """The tree-sitter grammar name of a language of the table, or None (Python: the ast module)."""
    from sandbox.languages import language
    how = language(lang_id).normalize
    return how.split(":", 1)[1] if how.startswith("tree-sitter:") else None


@functools.cache
def parser(name: str):
    """A tree-sitter parser for grammar `name`, or None when no grammar is installed."""
    try:
        from tree_sitter import Language, Parser
    except ImportError:
        return None
    try:
        module = __import__(f"tree_sitter_{name}")
        return Parser(Language(module.language()))
    except (ImportError, AttributeError):
        pass
    try:  # the language pack (recent versions fetch grammars on first use: may fail offline)
        from tree_sitter_language_pack import get_parser
        return get_parser(name)
    except Exception:
        return None


def _tree(code: str, name: str):
    p = parser(name)
    return None if p is None else p.parse(code.encode("utf-8", "surrogatepass"))


def syntax_ok(code: str, name: str) -> bool:
    """The program parses without an error node (True when no grammar is there to say otherwise)."""
    tree = _tree(code, name)
    return tree is None or not tree.root_node.has_error


_TOKEN = re.compile(r"//[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'|\w+|[^\s\w]", re.S)


def tokens(code: str, name: str) -> list[str]:
    """The program's tokens in order, comments left out."""
    tree = _tree(code, name)
    if tree is None:
        return [t for t in _TOKEN.findall(code) if not t.startswith(("//", "/*"))]
    out: list[str] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type in _COMMENTS:
            continue
        if node.child_count == 0 or node.type in ("string_literal", "char_literal", "raw_string_literal",
                                                  "system_lib_string"):
            out.append(node.text.decode("utf-8", "replace").strip())
            continue
        stack.extend(reversed(node.children))
    return [t for t in out if t]


def normalized_hash(code: str, name: str) -> str:
    """Programs equal up to comments and formatting hash the same."""
    return hashlib.sha256("\x00".join(tokens(code, name)).encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass
class Metrics:
    lines: int      # non-blank lines without comments
    branches: int   # decision points


def metrics(code: str, name: str) -> Metrics:
    tree = _tree(code, name)
    if tree is None:
        stripped = re.sub(r"//[^\n]*|/\*.*?\*/", "", code, flags=re.S)
        lines = sum(1 for ln in stripped.splitlines() if ln.strip())
        branches = len(re.findall(r"\b(if|for|while|case|catch)\b|&&|\|\||\?", stripped))
        return Metrics(lines, branches)
    comment_lines: set[int] = set()
    branches = 0
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type in _COMMENTS:
            start, end = node.start_point[0], node.end_point[0]
            comment_lines.update(range(start, end + 1))
            continue
        if node.type in _BRANCHES:
            branches += 1
        elif node.type == "binary_expression" and any(c.type in _BOOLEAN_OPS for c in node.children):
            branches += 1
        stack.extend(node.children)
    code_lines = 0
    for i, line in enumerate(code.splitlines()):
        if line.strip() and (i not in comment_lines or _code_beside_comment(line)):
            code_lines += 1
    return Metrics(code_lines, branches)


def _code_beside_comment(line: str) -> bool:
    text = line.strip()
    return not text.startswith(("//", "/*", "*"))
