"""Localization with tree-sitter: from failing tests to the code worth showing the model.

Inputs are the failing tests' reports (pytest's short tracebacks name `file:line: in func`) and
the tests' own code. Each traceback frame in a repository file is mapped to its innermost enclosing
function or class (a tree-sitter syntax tree, so files that do not even import are still read);
the failing test functions are found the same way, and the names they call are resolved to their
definitions. The context for the model is built from that, in order of value, until a token
budget is spent: failing tests and their errors, suspect definitions with line numbers, call
sites of those definitions, a small repo map of the other files' top-level definitions.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass, field

from .pytest_run import TestRun
from .workspace import Snapshot

CHARS_PER_TOKEN = 4  # a rough estimate for code; the budget is approximate by design


@functools.cache
def python_parser():
    from tree_sitter import Language, Parser
    try:
        import tree_sitter_python
        language = Language(tree_sitter_python.language())
    except ImportError:  # the language pack (downloads grammars on first use in recent versions)
        from tree_sitter_language_pack import get_language
        language = get_language("python")
    return Parser(language)


def parse(source: str):
    return python_parser().parse(source.encode("utf-8"))


def syntax_error(source: str) -> str | None:
    """None when the source parses cleanly, else where the first error is ("line N: ...")."""
    tree = parse(source)
    if not tree.root_node.has_error:
        return None
    stack = [tree.root_node]
    while stack:
        node = stack.pop(0)
        if node.type == "ERROR" or node.is_missing:
            line = node.start_point[0] + 1
            text = source.splitlines()[line - 1].strip() if line - 1 < len(source.splitlines()) else ""
            what = f"missing {node.type}" if node.is_missing else "syntax error"
            return f"line {line}: {what}" + (f" near `{text[:60]}`" if text else "")
        stack.extend(c for c in node.children if c.has_error or c.is_missing or c.type == "ERROR")
    return "syntax error"


@dataclass
class Definition:
    file: str
    name: str
    qualname: str
    kind: str            # function | class
    start: int           # 1-based first line (decorators included)
    end: int             # 1-based last line
    indent: int
    signature: str = ""
    def_line: int = 0    # 1-based line of the `def`/`class` keyword (after any decorators)
    decorators: tuple[str, ...] = ()

    @property
    def decorated(self) -> bool:
        return bool(self.decorators)

    @property
    def is_fixture(self) -> bool:
        """A pytest fixture (`@pytest.fixture`, `@fixture(...)`): test set-up, not code under test."""
        return any(re.match(r"^@\s*(pytest\.)?(yield_)?fixture\b", d) for d in self.decorators)

    @property
    def key(self) -> str:
        return f"{self.file}::{self.qualname}"

    def contains(self, line: int) -> bool:
        return self.start <= line <= self.end


def definitions(source: str, file: str = "") -> list[Definition]:
    """Every function and class (nested ones too), outermost first."""
    tree = parse(source)
    lines = source.splitlines()
    out: list[Definition] = []

    def visit(node, prefix: str) -> None:
        for child in node.children:
            target, outer = child, child
            if child.type == "decorated_definition":
                target = child.child_by_field_name("definition") or child
            if target.type in ("function_definition", "class_definition"):
                name_node = target.child_by_field_name("name")
                name = name_node.text.decode("utf-8", "replace") if name_node else "?"
                qual = f"{prefix}.{name}" if prefix else name
                start, end = outer.start_point[0] + 1, outer.end_point[0] + 1
                if outer.end_point[1] == 0 and end > start:
                    end -= 1
                first = lines[target.start_point[0]] if target.start_point[0] < len(lines) else ""
                sig = first.strip()
                decorators = tuple(c.text.decode("utf-8", "replace").strip() for c in outer.children
                                   if c.type == "decorator") if outer is not target else ()
                out.append(Definition(file, name, qual, "class" if target.type == "class_definition" else "function",
                                      start, end, outer.start_point[1], sig, target.start_point[0] + 1, decorators))
                body = target.child_by_field_name("body")
                if body is not None:
                    visit(body, qual)
            elif child.type in ("block", "if_statement", "try_statement", "with_statement", "else_clause",
                                "elif_clause", "except_clause", "finally_clause"):
                visit(child, prefix)

    visit(tree.root_node, "")
    return out


def innermost(defs: list[Definition], line: int) -> Definition | None:
    inside = [d for d in defs if d.contains(line)]
    return min(inside, key=lambda d: d.end - d.start) if inside else None


_FRAME_SHORT = re.compile(r"^(?P<path>[^\s:][^:\n]*?\.py):(?P<line>\d+):(?: in (?P<func>\S+))?", re.M)
_FRAME_NATIVE = re.compile(r'File "(?P<path>[^"]+\.py)", line (?P<line>\d+)(?:, in (?P<func>\S+))?')


@dataclass
class Frame:
    file: str
    line: int
    func: str | None


def frames(text: str, snap_files: set[str]) -> list[Frame]:
    """Traceback frames that point into the repository (innermost last), as repo-relative paths."""
    found = []
    for rx in (_FRAME_SHORT, _FRAME_NATIVE):
        for m in rx.finditer(text or ""):
            rel = _repo_path(m.group("path"), snap_files)
            if rel is not None:
                found.append((m.start(), Frame(rel, int(m.group("line")), m.group("func"))))
    found.sort(key=lambda x: x[0])
    return [f for _, f in found]


def _repo_path(path: str, snap_files: set[str]) -> str | None:
    path = path.strip()
    if path.startswith("./"):
        path = path[2:]
    if path in snap_files:
        return path
    if path.startswith("/"):
        parts = path.split("/")
        for i in range(1, len(parts)):
            cand = "/".join(parts[i:])
            if cand in snap_files:
                return cand
    return None


def is_test_file(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return (name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"
            or "/tests/" in f"/{rel}" or "/test/" in f"/{rel}")


_CALL = re.compile(r"\b([A-Za-z_]\w*)\s*\(")
_KEYWORDS = {"if", "for", "while", "return", "print", "len", "range", "assert", "isinstance", "list", "dict",
             "set", "tuple", "str", "int", "float", "sorted", "sum", "min", "max", "abs", "any", "all", "not",
             "and", "or", "in", "super", "type", "zip", "map", "filter", "enumerate", "repr", "open", "bool",
             "round", "getattr", "setattr", "hasattr", "iter", "next", "reversed", "lambda", "with", "elif"}


@dataclass
class Localization:
    """What the failing tests point at, most suspect first."""

    suspects: list[Definition] = field(default_factory=list)
    tests: list[Definition] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)   # repo files holding suspects, most suspect first


class RepoIndex:
    """Definitions of every Python file of a snapshot (parsed lazily, once)."""

    def __init__(self, snap: Snapshot):
        self.snap = snap
        self._defs: dict[str, list[Definition]] = {}
        self.files = set(snap.files)

    def defs(self, rel: str) -> list[Definition]:
        if rel not in self._defs:
            text = self.snap.read(rel)
            self._defs[rel] = definitions(text, rel) if text is not None else []
        return self._defs[rel]

    def by_name(self, name: str) -> list[Definition]:
        out = []
        for rel in self.snap.python_files():
            out += [d for d in self.defs(rel) if d.name == name]
        return out

    def source(self, d: Definition) -> str:
        text = self.snap.read(d.file) or ""
        return "\n".join(text.splitlines()[d.start - 1:d.end])


def localize(snap: Snapshot, failing: list[TestRun], index: RepoIndex | None = None) -> Localization:
    index = index or RepoIndex(snap)
    scores: Counter[str] = Counter()
    defs_by_key: dict[str, Definition] = {}
    tests: list[Definition] = []

    def add(d: Definition, weight: float) -> None:
        defs_by_key[d.key] = d
        scores[d.key] += weight

    for run in failing:
        # the test function itself
        if run.outcome != "collection_error" and "::" in run.id:
            file, *names = run.id.split("::")
            qual = ".".join(n.split("[")[0] for n in names)
            tdef = next((d for d in index.defs(file) if d.qualname == qual), None)
            if tdef is not None:
                if tdef.key not in {t.key for t in tests}:
                    tests.append(tdef)
                body = index.source(tdef)
                for name in dict.fromkeys(_CALL.findall(body)):
                    if name in _KEYWORDS or name == tdef.name:
                        continue
                    for d in index.by_name(name):
                        if not is_test_file(d.file):
                            add(d, 2.0)
        # traceback frames: deeper frames (nearer the error) weigh more; code outside tests most
        fr = frames(run.text, index.files)
        for depth, f in enumerate(fr):
            d = innermost(index.defs(f.file), f.line)
            weight = 1.0 + depth
            if not is_test_file(f.file):
                weight += 3.0
            if d is not None:
                if not is_test_file(f.file) or run.outcome == "collection_error":
                    add(d, weight)  # a test function is shown with the tests, not as a suspect
            elif run.outcome == "collection_error" or not is_test_file(f.file):
                # module-level code (an import-time error): the file itself is the suspect
                text = snap.read(f.file) or ""
                n = len(text.splitlines())
                lo, hi = max(1, f.line - 8), min(n, f.line + 8)
                add(Definition(f.file, f"<module lines {lo}-{hi}>", f"<module:{lo}>", "module", lo, hi, 0), weight)
    # what the top suspects call (a helper may hold the bug): a small weight of their own
    top = sorted(defs_by_key.values(), key=lambda d: (-scores[d.key], d.file, d.start))[:3]
    for d in top:
        if d.kind != "function":
            continue
        for name in dict.fromkeys(_CALL.findall(index.source(d))):
            if name in _KEYWORDS or name == d.name:
                continue
            for callee in index.by_name(name):
                if not is_test_file(callee.file) and callee.key != d.key:
                    add(callee, 0.5)
    ranked = sorted(defs_by_key.values(), key=lambda d: (-scores[d.key], d.file, d.start))
    # a class whose method is also a suspect adds nothing but length
    keep = [d for d in ranked if not (d.kind == "class" and any(o.file == d.file and o is not d and d.contains(o.start)
                                                                 for o in ranked))]
    files = list(dict.fromkeys(d.file for d in keep))
    return Localization(suspects=keep, tests=tests, scores={d.key: scores[d.key] for d in keep}, files=files)


# --------------------------------------------------------------------------- the context text

def numbered(text: str, start: int) -> str:
    lines = text.splitlines()
    width = len(str(start + len(lines)))
    return "\n".join(f"{start + i:>{width}} | {ln}" for i, ln in enumerate(lines))


def _tokens(text: str) -> int:
    return (len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN


def error_line(run: TestRun) -> str:
    """pytest's explanation of a failure in one line: the first `E ` line of its report, else its message."""
    for ln in run.text.splitlines():
        if ln.startswith("E ") and ln[1:].strip():
            return ln[1:].strip()[:200]
    return (run.message or "").strip().splitlines()[0][:200] if (run.message or "").strip() else ""


def failure_text(run: TestRun, limit: int = 1200) -> str:
    body = run.text.strip() or run.message
    if len(body) > limit:
        body = body[: limit // 3] + "\n...\n" + body[-(2 * limit) // 3:]
    head = f"{run.id}: {run.outcome.upper().replace('_', ' ')}"
    if run.timeout:
        head += " (timed out: the code may loop forever)"
    return f"{head}\n{body}" if body else head


def call_sites(index: RepoIndex, d: Definition, limit: int = 4) -> list[str]:
    """Lines in the repository that call `d` (outside its own body), as `file:line: code`."""
    if d.kind == "module":
        return []
    rx = re.compile(rf"\b{re.escape(d.name)}\s*\(")
    out = []
    for rel in index.snap.python_files():
        text = index.snap.read(rel) or ""
        if d.name not in text:
            continue
        for i, ln in enumerate(text.splitlines(), 1):
            if rx.search(ln) and not (rel == d.file and d.contains(i)) and not ln.lstrip().startswith(("def ", "class ")):
                out.append(f"{rel}:{i}: {ln.strip()[:120]}")
                if len(out) >= limit:
                    return out
    return out


def repo_map(index: RepoIndex, skip: set[str], budget_chars: int) -> str:
    """Top-level definitions of the repository's Python files (a compact outline)."""
    parts, used = [], 0
    files = sorted(index.snap.python_files(), key=lambda f: (is_test_file(f), f))
    for rel in files:
        all_defs = index.defs(rel)
        classes = {d.qualname for d in all_defs if d.kind == "class" and "." not in d.qualname}
        defs = [d for d in all_defs if "." not in d.qualname
                or (d.kind == "function" and d.qualname.count(".") == 1 and d.qualname.split(".")[0] in classes)]
        entries = [f"  {d.start}: {d.signature.rstrip(':')}" for d in defs if d.key not in skip][:12]
        block = rel + (":\n" + "\n".join(entries) if entries else "")
        if used + len(block) > budget_chars:
            parts.append("  ...")
            break
        parts.append(block)
        used += len(block) + 1
    return "\n".join(parts)


def build_context(snap: Snapshot, failing: list[TestRun], loc: Localization, index: RepoIndex,
                  budget_tokens: int = 2500) -> str:
    """The model's view of the problem: failures, suspect code, call sites, a repo map."""
    budget = budget_tokens * CHARS_PER_TOKEN
    sections: list[str] = []
    used = 0

    def put(text: str, force: bool = False) -> bool:
        nonlocal used
        if not force and used + len(text) > budget:
            return False
        sections.append(text)
        used += len(text)
        return True

    fails = [failure_text(r, 1200 if i < 3 else 400) for i, r in enumerate(failing[:8])]
    more = f"\n(and {len(failing) - 8} more failing tests)" if len(failing) > 8 else ""
    put("## Failing tests (real pytest output)\n" + "\n\n".join(fails) + more, force=True)
    shown: set[str] = set()
    code_parts = []
    for d in loc.suspects[:8]:
        src = index.source(d)
        block = f"### {d.file} lines {d.start}-{d.end} ({d.kind} {d.qualname})\n```python\n{numbered(src, d.start)}\n```"
        if used + len(block) > budget and code_parts:
            continue
        code_parts.append(block)
        used += len(block)
        shown.add(d.key)
    if code_parts:
        sections.append("## Code under suspicion (line numbers are the file's)\n" + "\n\n".join(code_parts))
    tests_parts = []
    for t in loc.tests[:3]:
        block = f"### {t.file} lines {t.start}-{t.end}\n```python\n{numbered(index.source(t), t.start)}\n```"
        if used + len(block) > budget:
            break
        tests_parts.append(block)
        used += len(block)
    if tests_parts:
        sections.append("## The failing tests' code\n" + "\n\n".join(tests_parts))
    calls = []
    for d in loc.suspects[:3]:
        sites = call_sites(index, d)
        if sites:
            calls.append(f"{d.qualname} is called at:\n" + "\n".join(f"  {s}" for s in sites))
    if calls:
        put("## Call sites\n" + "\n".join(calls))
    left = budget - used
    if left > 200:
        rmap = repo_map(index, shown, left - 40)
        if rmap:
            put("## Repository map (top-level definitions)\n" + rmap)
    return "\n\n".join(sections)
