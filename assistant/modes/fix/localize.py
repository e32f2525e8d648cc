"""Localization with tree-sitter: from failing tests to the code worth showing the model.

Inputs are the failing tests' reports (pytest's short tracebacks name `file:line: in func`) and
the tests' own code. Each traceback frame in a repository file is mapped to its innermost enclosing
function or class (a tree-sitter syntax tree, so files that do not even import are still read);
the failing test functions are found the same way, and the names they call are resolved through
the imports of the file that calls them (`from pkg.mod import f`, `import pkg.mod as m` then `m.f()`,
relative imports, re-exports from a package's `__init__`, methods of imported classes) - never by
bare name, so a `get_new_command` in forty other modules is not a suspect. Pytest fixtures are not
suspects unless a traceback ends in one. The context for the model is built from that, in order of value, until a token
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


@dataclass(frozen=True)
class Binding:
    """What a name bound by an import statement refers to: a module file, or a name inside one."""

    file: str
    attr: str | None = None     # None: the name is the module itself


@dataclass(frozen=True)
class Call:
    """A call in some code: `name(...)` (obj None) or `obj.name(...)` (obj is the text before the dot)."""

    name: str
    obj: str | None = None


def _walk(node, types: tuple[str, ...]):
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type in types:
            yield n
        stack.extend(reversed(n.children))


def _text(node) -> str:
    return node.text.decode("utf-8", "replace") if node is not None else ""


def calls_in(source: str) -> list[Call]:
    """The calls a piece of code makes, in order of appearance, each once."""
    import textwrap

    out: dict[Call, None] = {}
    for node in _walk(parse(textwrap.dedent(source)).root_node, ("call",)):
        fn = node.child_by_field_name("function")
        if fn is None:
            continue
        if fn.type == "identifier":
            out[Call(_text(fn))] = None
        elif fn.type == "attribute":
            attr = fn.child_by_field_name("attribute")
            obj = fn.child_by_field_name("object")
            if attr is not None and obj is not None:
                out[Call(_text(attr), _text(obj))] = None
    return list(out)


class RepoIndex:
    """Definitions and import bindings of every Python file of a snapshot (parsed lazily, once)."""

    def __init__(self, snap: Snapshot):
        self.snap = snap
        self._defs: dict[str, list[Definition]] = {}
        self._bindings: dict[str, dict[str, Binding]] = {}
        self.files = set(snap.files)

    def defs(self, rel: str) -> list[Definition]:
        if rel not in self._defs:
            text = self.snap.read(rel)
            self._defs[rel] = definitions(text, rel) if text is not None else []
        return self._defs[rel]

    def source(self, d: Definition) -> str:
        text = self.snap.read(d.file) or ""
        return "\n".join(text.splitlines()[d.start - 1:d.end])

    # ------------------------------------------------------------------ imports

    def module_file(self, module: str, importer: str, level: int = 0) -> str | None:
        """The repository file of a module as `importer` names it (`level` leading dots), or None."""
        parts = [p for p in module.split(".") if p]
        if level:
            base = importer.split("/")[:-1]
            if level - 1 > len(base):
                return None
            roots = ["/".join(base[:len(base) - (level - 1)])]
        else:
            # the repository root, a src/ layout, and the importer's directories (pytest's rootdir-less
            # `prepend` import mode puts a test's directory on sys.path)
            dirs = importer.split("/")[:-1]
            roots = ["", "src"] + ["/".join(dirs[:i]) for i in range(len(dirs), 0, -1)]
        for root in dict.fromkeys(roots):
            stem = "/".join([root, *parts]) if root else "/".join(parts)
            if not stem:
                cand = [f"{root}/__init__.py" if root else "__init__.py"]
            else:
                cand = [f"{stem}.py", f"{stem}/__init__.py"]
            for c in cand:
                if c in self.files:
                    return c
        return None

    def bindings(self, rel: str) -> dict[str, Binding]:
        """Names bound by the file's import statements (anywhere in it) to repository modules."""
        if rel in self._bindings:
            return self._bindings[rel]
        out: dict[str, Binding] = {}
        self._bindings[rel] = out
        text = self.snap.read(rel)
        if text is None:
            return out
        for node in _walk(parse(text).root_node, ("import_statement", "import_from_statement")):
            if node.type == "import_statement":
                for child in node.children_by_field_name("name"):
                    if child.type == "aliased_import":
                        mod = self.module_file(_text(child.child_by_field_name("name")), rel)
                        if mod:
                            out[_text(child.child_by_field_name("alias"))] = Binding(mod)
                    else:
                        dotted = _text(child)
                        parts = dotted.split(".")
                        for i in range(1, len(parts) + 1):  # `import a.b` binds a, and a.b is reachable
                            mod = self.module_file(".".join(parts[:i]), rel)
                            if mod:
                                out[".".join(parts[:i])] = Binding(mod)
                continue
            mod_node = node.child_by_field_name("module_name")
            if mod_node is None:
                continue
            level, module = 0, _text(mod_node)
            if mod_node.type == "relative_import":
                prefix = next((c for c in mod_node.children if c.type == "import_prefix"), None)
                level = len(_text(prefix).strip()) if prefix is not None else 0
                module = _text(next((c for c in mod_node.children if c.type == "dotted_name"), None))
            mod = self.module_file(module, rel, level)
            if mod is None:
                continue
            if any(c.type == "wildcard_import" for c in node.children):
                for d in self.defs(mod):
                    if "." not in d.qualname:
                        out.setdefault(d.name, Binding(mod, d.name))
                continue
            for child in node.children_by_field_name("name"):
                if child.type == "aliased_import":
                    name, alias = _text(child.child_by_field_name("name")), _text(child.child_by_field_name("alias"))
                else:
                    name = alias = _text(child)
                sub = self.module_file(f"{module}.{name}" if module else name, rel, level)
                out[alias] = Binding(sub) if sub else Binding(mod, name)
        return out

    def named(self, file: str, name: str, depth: int = 0) -> list[Definition]:
        """The top-level definition `name` of a module file, following re-exports (`from .impl import name`)."""
        found = [d for d in self.defs(file) if d.qualname == name]
        if found or depth >= 3:
            return found
        b = self.bindings(file).get(name)
        return self.named(b.file, b.attr, depth + 1) if b is not None and b.attr else []

    def _class_of(self, file: str, name: str) -> Definition | None:
        b = self.bindings(file).get(name)
        cands = self.named(b.file, b.attr) if b is not None and b.attr else \
            [d for d in self.defs(file) if d.qualname == name]
        return next((d for d in cands if d.kind == "class"), None)

    def _methods(self, cls: Definition, name: str) -> list[Definition]:
        return [d for d in self.defs(cls.file) if d.qualname == f"{cls.qualname}.{name}"]

    def resolve(self, file: str, call: Call, caller: Definition | None = None) -> list[Definition]:
        """The definitions a call made in `file` (inside `caller`) can reach, through that file's imports."""
        binds = self.bindings(file)
        if call.obj is None:
            b = binds.get(call.name)
            if b is not None:
                return self.named(b.file, b.attr) if b.attr else []
            return [d for d in self.defs(file) if d.qualname == call.name]  # the module's own function
        obj = call.obj
        if obj in binds and binds[obj].attr is None:                      # module.function()
            return self.named(binds[obj].file, call.name)
        head = re.match(r"^[A-Za-z_]\w*", obj)
        if head is None:
            return []
        head_name = head.group(0)
        if head_name in ("self", "cls") and caller is not None and "." in caller.qualname:
            owner = caller.qualname.rsplit(".", 1)[0]
            cls = next((d for d in self.defs(caller.file) if d.qualname == owner and d.kind == "class"), None)
            return self._methods(cls, call.name) if cls is not None else []
        cls = self._class_of(file, head_name)
        if cls is not None:                                               # Box(2, 3).area()
            return self._methods(cls, call.name)
        # obj is a value of unknown type: the methods of that name of the classes this file imports
        out = []
        for name, b in binds.items():
            if b.attr:
                cls = next((d for d in self.named(b.file, b.attr) if d.kind == "class"), None)
                if cls is not None:
                    out += self._methods(cls, call.name)
        return out

    def refers_to(self, file: str, d: Definition) -> bool:
        """Whether code in `file` can name `d` (its own file, or an import of d's module or of d)."""
        return file == d.file or any(b.file == d.file for b in self.bindings(file).values())


@dataclass
class Localization:
    """What the failing tests point at, most suspect first."""

    suspects: list[Definition] = field(default_factory=list)
    tests: list[Definition] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)   # repo files holding suspects, most suspect first

    def rank_of(self, file: str, lines: list[int]) -> int:
        """Position of the most suspect definition holding one of these lines of `file` (len when none)."""
        for i, d in enumerate(self.suspects):
            if d.file == file and any(d.contains(n) for n in lines):
                return i
        return len(self.suspects)


def localize(snap: Snapshot, failing: list[TestRun], index: RepoIndex | None = None) -> Localization:
    index = index or RepoIndex(snap)
    scores: Counter[str] = Counter()
    defs_by_key: dict[str, Definition] = {}
    tests: list[Definition] = []
    ends: set[tuple[str, int]] = set()   # where each traceback ends (a fixture there stays a suspect)

    def add(d: Definition, weight: float) -> None:
        defs_by_key[d.key] = d
        scores[d.key] += weight

    for run in failing:
        # the test function itself, and what it calls (resolved through the test module's imports)
        if run.outcome != "collection_error" and "::" in run.id:
            file, *names = run.id.split("::")
            qual = ".".join(n.split("[")[0] for n in names)
            tdef = next((d for d in index.defs(file) if d.qualname == qual), None)
            if tdef is not None:
                if tdef.key not in {t.key for t in tests}:
                    tests.append(tdef)
                for call in calls_in(index.source(tdef)):
                    for d in index.resolve(file, call, tdef):
                        if not is_test_file(d.file):
                            add(d, 2.0)
        # traceback frames: deeper frames (nearer the error) weigh more; code outside tests most
        fr = frames(run.text, index.files)
        if fr:
            ends.add((fr[-1].file, fr[-1].line))
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
    top = [d for d in sorted(defs_by_key.values(), key=lambda d: (-scores[d.key], d.file, d.start))
           if d.kind == "function"][:3]
    for d in top:
        for call in calls_in(index.source(d)):
            for callee in index.resolve(d.file, call, d):
                if not is_test_file(callee.file) and callee.key != d.key:
                    add(callee, 0.5)
    ranked = sorted(defs_by_key.values(), key=lambda d: (-scores[d.key], d.file, d.start))
    # a fixture is set-up, not code under test: a suspect only when a traceback ends inside it
    ranked = [d for d in ranked if not d.is_fixture or any(f == d.file and d.contains(n) for f, n in ends)]
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
        if d.name not in text or not index.refers_to(rel, d):
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
