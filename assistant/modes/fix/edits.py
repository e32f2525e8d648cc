"""Edits a model proposes, checked before anything runs.

Two formats are read from a reply:
- search/replace blocks (the format Aider users know):

      path/to/file.py
      <<<<<<< SEARCH
      exact lines to find
      =======
      lines to put instead
      >>>>>>> REPLACE

- whole-definition replacements: a ```python block holding complete `def`/`class` definitions
  whose names exist in the repository; each replaces the definition of that name (re-indented
  for methods). New helper functions and imports in the same block are added beside them.

An edit is valid when it applies cleanly (the SEARCH text occurs exactly once), touches only files
of the repository (and not its tests, unless a test file itself is what fails to import), changes
something, and leaves every edited Python file parseable (tree-sitter). An invalid edit is never
executed: its reason goes back to the model.
"""

from __future__ import annotations

import difflib
import hashlib
import posixpath
import re
import textwrap
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from .localize import Definition, RepoIndex, definitions, is_test_file, syntax_error
from .workspace import Snapshot


class EditError(ValueError):
    """Why an edit cannot be applied (shown to the model and the user)."""


@dataclass
class Edit:
    kind: str                    # search_replace | definition
    file: str | None
    search: str = ""
    replace: str = ""
    target: str | None = None    # definition name (definition edits)


class Patch(BaseModel):
    """The result of valid edits: each changed file's content before and after, and the diff."""

    changes: dict[str, tuple[str, str]] = Field(default_factory=dict)
    diff: str = ""
    added: int = 0
    removed: int = 0
    edit_format: str = ""

    @property
    def size(self) -> int:
        return self.added + self.removed

    @property
    def files(self) -> list[str]:
        return sorted(self.changes)

    def new_files(self) -> dict[str, str]:
        return {p: new for p, (_old, new) in self.changes.items()}

    def key(self) -> str:
        """Identity of the result (same files, same new content), not of the edit's wording."""
        h = hashlib.sha256()
        for p in sorted(self.changes):
            new = self.changes[p][1]
            norm = "\n".join(ln.rstrip() for ln in new.strip().splitlines())
            h.update(f"{p}\0{norm}\0".encode())
        return h.hexdigest()


def unified_diff(path: str, old: str, new: str) -> str:
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 fromfile=f"a/{path}", tofile=f"b/{path}", n=3)
    out = []
    for ln in lines:
        out.append(ln if ln.endswith("\n") else ln + "\n\\ No newline at end of file\n")
    return "".join(out)


def make_patch(changes: dict[str, tuple[str, str]], edit_format: str = "") -> Patch:
    diff = "".join(unified_diff(p, o, n) for p, (o, n) in sorted(changes.items()))
    added = sum(1 for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++"))
    removed = sum(1 for ln in diff.splitlines() if ln.startswith("-") and not ln.startswith("---"))
    return Patch(changes=changes, diff=diff, added=added, removed=removed, edit_format=edit_format)


# --------------------------------------------------------------------------- reading a reply

_SR = re.compile(r"^<{5,9} ?SEARCH[ \t]*\n(.*?)^={5,9}[ \t]*\n(.*?)^>{5,9} ?REPLACE[ \t]*$", re.M | re.S)
_FENCE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)```", re.S)
_PATHISH = re.compile(r"([\w./-]+\.[A-Za-z0-9]+)")


def _path_hint(text_before: str) -> str | None:
    """The file name written just before a block (a bare line, a `# file:` comment, **bold**)."""
    for line in reversed(text_before.rstrip().splitlines()[-3:]):
        s = line.strip().strip("`*#:").strip()
        if not s or s.startswith("```"):
            continue
        s = re.sub(r"^(file|path|filename)\s*[:=]\s*", "", s, flags=re.I)
        m = _PATHISH.search(s)
        if m and (s == m.group(1) or len(s) < len(m.group(1)) + 12):
            return m.group(1).lstrip("./") if not m.group(1).startswith("../") else m.group(1)
        return None
    return None


def parse_edits(reply: str) -> list[Edit]:
    """Edits in a model reply: search/replace blocks if any, else whole definitions in code blocks."""
    edits: list[Edit] = []
    last_file = None
    for m in _SR.finditer(reply):
        hint = _path_hint(reply[:m.start()].replace("```python", "").replace("```", ""))
        last_file = hint or last_file
        edits.append(Edit("search_replace", last_file, search=m.group(1), replace=m.group(2)))
    if edits:
        return edits
    for m in _FENCE.finditer(reply):
        body = m.group(1)
        hint = _path_hint(reply[:m.start()])
        first = body.lstrip().splitlines()[0] if body.strip() else ""
        fm = re.match(r"#\s*(?:file|path)?\s*:?\s*([\w./-]+\.py)\s*$", first.strip())
        if fm:
            hint = fm.group(1)
        if re.search(r"^\s*(?:async\s+)?(?:def|class)\s", body, re.M):
            edits.append(Edit("definition", hint, replace=body))
    return edits


# --------------------------------------------------------------------------- applying

def _find_unique(haystack: str, needle: str) -> tuple[int, int] | None:
    """Exact match, else a match ignoring trailing whitespace per line; None when absent.
    Raises EditError when it matches more than one place."""
    count = haystack.count(needle)
    if count == 1:
        i = haystack.index(needle)
        return i, i + len(needle)
    if count > 1:
        raise EditError(f"the SEARCH text occurs {count} times; include more lines so it matches one place")
    hay_lines = haystack.splitlines(keepends=True)
    want = [ln.rstrip() for ln in needle.splitlines()]
    while want and not want[-1]:
        want.pop()
    while want and not want[0]:
        want.pop(0)
    if not want:
        return None
    spots = []
    for i in range(len(hay_lines) - len(want) + 1):
        if all(hay_lines[i + j].rstrip() == want[j] for j in range(len(want))):
            spots.append(i)
    if len(spots) > 1:
        raise EditError(f"the SEARCH text occurs {len(spots)} times; include more lines so it matches one place")
    if not spots:
        return None
    start = sum(len(ln) for ln in hay_lines[:spots[0]])
    end = start + sum(len(ln) for ln in hay_lines[spots[0]:spots[0] + len(want)])
    return start, end


def _reindent(code: str, indent: int) -> str:
    code = textwrap.dedent(code.strip("\n"))
    pad = " " * indent
    return "\n".join((pad + ln) if ln.strip() else "" for ln in code.splitlines())


@dataclass
class EditPolicy:
    """Which files an edit may touch, and where definitions are looked up first."""

    preferred_files: list[str] = field(default_factory=list)
    editable_tests: set[str] = field(default_factory=set)   # test files that are themselves broken


def _check_file(snap: Snapshot, rel: str | None, policy: EditPolicy) -> str:
    if not rel:
        raise EditError("the edit does not say which file it changes (put the file path on the line before "
                        "<<<<<<< SEARCH)")
    norm = posixpath.normpath(rel.strip().lstrip("/") if not rel.startswith("..") else rel)
    if norm.startswith("..") or norm.startswith(".git/") or norm == ".git":
        raise EditError(f"{rel}: outside the repository; edits may touch only the repository's files")
    if not snap.has_file(norm):
        matches = [f for f in snap.files if f.endswith("/" + norm)]
        if len(matches) == 1:
            norm = matches[0]
        else:
            raise EditError(f"{rel}: no such file in the repository (edits may change existing files only)")
    if is_test_file(norm) and norm not in policy.editable_tests:
        raise EditError(f"{norm} is a test file: fix the code under test, not the tests")
    return norm


def _find_definitions(snap: Snapshot, edit: Edit, policy: EditPolicy, current: dict[str, str],
                      new_defs: list[Definition]) -> tuple[list[tuple[Definition, Definition]], list[Definition]]:
    """Pair each new top-level definition with the one it replaces: ([(new, old)], [new without an old])."""
    hinted = _check_file(snap, edit.file, policy) if edit.file else None
    if edit.target:  # a completion rewrites one known definition (nested or a method: by qualified name)
        text = current.get(hinted, snap.read(hinted)) if hinted else None
        old = next((d for d in definitions(text, hinted) if d.qualname == edit.target), None) if text else None
        if old is None:
            raise EditError(f"{edit.target} is not defined in {edit.file}")
        nd = next((d for d in new_defs if d.name == old.name and d.kind == old.kind), None)
        if nd is None:
            raise EditError(f"the reply does not define {old.kind} {old.name}")
        return [(nd, old)], []
    matched: list[tuple[Definition, Definition]] = []
    unmatched: list[Definition] = []
    for nd in new_defs:
        cands = []
        files = [hinted] if hinted else list(dict.fromkeys(policy.preferred_files + snap.python_files()))
        for rel in files:
            if is_test_file(rel) and rel not in policy.editable_tests:
                continue
            text = current.get(rel, snap.read(rel))
            if text is None:
                continue
            defs = definitions(text, rel)
            cands += [d for d in defs if d.name == nd.name and d.kind == nd.kind]
            if cands and not hinted:
                break  # the most suspect file with that name wins
        if not cands:
            unmatched.append(nd)
            continue
        if len({(d.file, d.qualname) for d in cands}) > 1:
            where = ", ".join(f"{d.file}:{d.start}" for d in cands[:4])
            raise EditError(f"`{nd.name}` is defined in several places ({where}); use a SEARCH/REPLACE block")
        matched.append((nd, cands[0]))
    return matched, unmatched


def _members(defs: list[Definition], cls: Definition) -> list[Definition]:
    return [d for d in defs if d.qualname.startswith(cls.qualname + ".") and d.qualname.count(".") ==
            cls.qualname.count(".") + 1]


def _replacement_span(nd: Definition, old: Definition) -> tuple[int, int]:
    """Lines of the old definition to replace: from its decorators, or from its `def` line when the new
    version comes without decorators (they are kept: a model rewriting a body often leaves them out)."""
    if old.decorated and not nd.decorated:
        return old.def_line, old.end
    return old.start, old.end


def _apply_definition(snap: Snapshot, index: RepoIndex, edit: Edit, policy: EditPolicy,
                      current: dict[str, str]) -> None:
    block_defs = definitions(edit.replace)
    new_defs = [d for d in block_defs if "." not in d.qualname]
    if not new_defs:
        raise EditError("the code block holds no complete function or class definition")
    block_lines = edit.replace.splitlines()
    matched, unmatched = _find_definitions(snap, edit, policy, current, new_defs)
    if not matched:
        names = ", ".join(d.name for d in new_defs)
        raise EditError(f"no definition named {names} exists in the repository; replace an existing function "
                        "(same name) or use a SEARCH/REPLACE block")
    target_file = matched[0][1].file
    if any(old.file != target_file for _, old in matched):
        raise EditError("one code block replaces definitions in several files; use one block per file")
    _check_file(snap, target_file, policy)
    text = current.get(target_file, snap.read(target_file) or "")
    lines = text.splitlines()
    trailing_nl = text.endswith("\n")
    old_defs = definitions(text, target_file)
    # a class holding only some of the old class's methods (a method given inside its class):
    # those methods are replaced, the rest of the class stays
    spans: list[tuple[Definition, Definition]] = []
    for nd, old in matched:
        if nd.kind == "class" and old.kind == "class":
            new_members = {d.name: d for d in _members(block_defs, nd)}
            old_members = {d.name: d for d in _members(old_defs, old)}
            if new_members and not set(old_members) <= set(new_members):
                for name, member in new_members.items():
                    if name not in old_members:
                        raise EditError(f"{old.name}.{name} does not exist; give the whole class to add a method")
                    spans.append((member, old_members[name]))
                continue
        spans.append((nd, old))
    # replace bottom-up so earlier line numbers stay valid
    insert_at = min(old.start for _, old in spans)
    indent_of_first = min(spans, key=lambda p: p[1].start)[1].indent
    for nd, old in sorted(spans, key=lambda p: -p[1].start):
        a, b = _replacement_span(nd, old)
        new_src = "\n".join(block_lines[nd.start - 1:nd.end])
        lines[a - 1:b] = _reindent(new_src, old.indent).splitlines()
    if unmatched:
        extra = "\n\n".join(_reindent("\n".join(block_lines[d.start - 1:d.end]), indent_of_first) for d in unmatched)
        lines[insert_at - 1:insert_at - 1] = extra.splitlines() + [""]
    # imports at the top of the block that the file lacks
    imports = [ln for ln in block_lines if re.match(r"^(import\s+\w|from\s+[\w.]+\s+import\s)", ln)]
    missing = [ln for ln in imports if ln.strip() not in {x.strip() for x in lines}]
    if missing:
        at = 0
        for i, ln in enumerate(lines):
            if re.match(r"^(import\s|from\s+\S+\s+import\s)", ln):
                at = i + 1
        lines[at:at] = missing
    current[target_file] = "\n".join(lines) + ("\n" if trailing_nl else "")


def apply_edits(snap: Snapshot, edits: list[Edit], policy: EditPolicy | None = None,
                index: RepoIndex | None = None) -> Patch:
    """Apply edits to the snapshot's text (in memory) and validate; EditError says what is wrong."""
    policy = policy or EditPolicy()
    index = index or RepoIndex(snap)
    if not edits:
        raise EditError("no edit found: reply with SEARCH/REPLACE blocks, or a ```python block with the "
                        "complete fixed function")
    current: dict[str, str] = {}
    for n, edit in enumerate(edits, 1):
        where = f"edit {n}: " if len(edits) > 1 else ""
        try:
            if edit.kind == "search_replace":
                rel = _check_file(snap, edit.file, policy)
                text = current.get(rel, snap.read(rel))
                if text is None:
                    raise EditError(f"{rel}: not a text file")
                if not edit.search.strip():
                    raise EditError("the SEARCH part is empty; copy the exact lines to change from the file")
                span = _find_unique(text, edit.search)
                if span is None:
                    raise EditError(f"the SEARCH text does not occur in {rel}; copy the lines exactly as the file "
                                    "has them (without line numbers)")
                a, b = span
                replacement = edit.replace
                if text[a:b].endswith("\n") and replacement and not replacement.endswith("\n"):
                    replacement += "\n"
                current[rel] = text[:a] + replacement + text[b:]
            else:
                _apply_definition(snap, index, edit, policy, current)
        except EditError as exc:
            raise EditError(f"{where}{exc}") from None
    changes = {}
    for rel, new in current.items():
        old = snap.read(rel) or ""
        if new == old:
            continue
        if rel.endswith(".py"):
            err = syntax_error(new)
            if err is not None:
                raise EditError(f"after the edit {rel} does not parse ({err})")
        changes[rel] = (old, new)
    if not changes:
        raise EditError("the edit changes nothing")
    fmt = "search_replace" if all(e.kind == "search_replace" for e in edits) else \
        "definition" if all(e.kind == "definition" for e in edits) else "mixed"
    return make_patch(changes, fmt)


def edits_text(edits: list[Edit]) -> str:
    """Edits written back in the search/replace and code-block formats (for history and display)."""
    parts = []
    for e in edits:
        if e.kind == "search_replace":
            parts.append(f"{e.file}\n<<<<<<< SEARCH\n{e.search}=======\n{e.replace}>>>>>>> REPLACE")
        else:
            parts.append((f"{e.file}\n" if e.file else "") + f"```python\n{e.replace.rstrip()}\n```")
    return "\n\n".join(parts)
