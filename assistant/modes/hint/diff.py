"""Edits between a buggy program and its repair: token edit distance, changed lines, and the
leak guard (does a hint quote code that only the repair contains?).

Two tokenizations live here. `code_tokens` is Python's own tokenizer (comments and blank lines
dropped, indentation kept), used for the edit distance between programs. `loose_tokens` is a
regex that reads code and prose alike (identifiers, numbers, operators; quotes dropped,
lower-cased), used to compare a hint's text with the repair's code.
"""

from __future__ import annotations

import difflib
import io
import re
import tokenize
from dataclasses import dataclass, field

_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
_LOOSE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|\*\*=?|//=?|->|<<=?|>>=?|[-+*/%&|^@]=|[=!<>]=|"
                    r"[-+*/%<>=!&|^~@:,.;()\[\]{}]")


def code_tokens(source: str) -> list[str]:
    """Python tokens of `source` (comments and blank lines ignored); regex tokens when it does not
    tokenize (a program with a syntax error)."""
    out: list[str] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in _SKIP:
                continue
            if tok.type == tokenize.INDENT:
                out.append("<indent>")
            elif tok.type == tokenize.DEDENT:
                out.append("<dedent>")
            elif tok.type == tokenize.NEWLINE:
                out.append("<newline>")
            else:
                out.append(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return [m.group(0) for m in re.finditer(r"\S+?(?=\s|$)|\S", source)] or source.split()
    return out


def levenshtein(a: list[str], b: list[str]) -> int:
    """Edit distance (insert, delete, substitute one token) between two token lists."""
    # repairs are local: strip the common prefix and suffix before the quadratic part
    start = 0
    while start < len(a) and start < len(b) and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a -= 1
        end_b -= 1
    a, b = a[start:end_a], b[start:end_b]
    if not a or not b:
        return len(a) + len(b)
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ta in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, tb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ta != tb))
        previous = current
    return previous[-1]


def token_distance(before: str, after: str) -> int:
    """How many tokens must change to turn `before` into `after`."""
    return levenshtein(code_tokens(before), code_tokens(after))


def _lines(source: str) -> list[str]:
    return [ln.rstrip() for ln in source.split("\n")]


@dataclass
class Change:
    """Where a repair differs from the buggy program (1-based line numbers)."""

    buggy_lines: list[int] = field(default_factory=list)   # lines of the buggy program replaced or deleted
    repair_lines: list[int] = field(default_factory=list)  # lines of the repair replaced or inserted
    insert_after: list[int] = field(default_factory=list)  # buggy lines after which lines were inserted
    hunks: list[tuple[int, int, int, int]] = field(default_factory=list)  # (i1, i2, j1, j2), 0-based slices

    @property
    def lines_touched(self) -> list[int]:
        """Buggy-program lines to look at: replaced or deleted lines, else the insertion points."""
        return sorted(set(self.buggy_lines) or {max(1, n) for n in self.insert_after})


def changes(buggy: str, repair: str) -> Change:
    a, b = _lines(buggy), _lines(repair)
    change = Change()
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        # blank-line-only edits are formatting, not part of the fix
        if not any(x.strip() for x in a[i1:i2] + b[j1:j2]):
            continue
        change.hunks.append((i1, i2, j1, j2))
        change.buggy_lines.extend(range(i1 + 1, i2 + 1))
        change.repair_lines.extend(j for j in range(j1 + 1, j2 + 1) if b[j - 1].strip())
        if tag == "insert":
            change.insert_after.append(i1)
    return change


def changed_repair_text(buggy: str, repair: str) -> list[str]:
    """The repair's lines that are new or different (what the fix writes)."""
    b = _lines(repair)
    return [b[j - 1] for j in changes(buggy, repair).repair_lines]


def unified_diff(buggy: str, repair: str, name: str = "program.py") -> str:
    return "".join(difflib.unified_diff(buggy.splitlines(keepends=True), repair.splitlines(keepends=True),
                                        f"{name} (buggy)", f"{name} (repaired)", n=2))


def numbered(source: str) -> str:
    lines = source.rstrip("\n").split("\n")
    width = len(str(len(lines)))
    return "\n".join(f"{i:>{width}}| {ln}" for i, ln in enumerate(lines, 1))


def revert_hunks(buggy: str, repair: str, keep: set[int]) -> str:
    """The buggy program with only the repair's hunks numbered in `keep` applied."""
    a, b = buggy.split("\n"), repair.split("\n")
    matcher = difflib.SequenceMatcher(None, [x.rstrip() for x in a], [x.rstrip() for x in b], autojunk=False)
    out: list[str] = []
    index = 0
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.extend(b[j1:j2])
            continue
        out.extend(b[j1:j2] if index in keep else a[i1:i2])
        index += 1
    return "\n".join(out)


def hunk_count(buggy: str, repair: str) -> int:
    a, b = _lines(buggy), _lines(repair)
    return sum(tag != "equal" for tag, *_ in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes())


# --------------------------------------------------------------------------- leak guard

def loose_tokens(text: str) -> list[str]:
    """Code-ish tokens of code or prose: identifiers, numbers and operators, lower-cased."""
    return [m.group(0).lower() for m in _LOOSE.finditer(text)]


def _grams(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}


def novel_grams(buggy: str, repair: str, n: int = 3, public: str = "") -> set[tuple[str, ...]]:
    """Token n-grams of the repair's changed lines that neither the buggy program nor the public
    text (statement, failing tests) contains: the code only the fix knows. A changed line shorter
    than n tokens counts as one gram when it has at least two tokens."""
    known_tokens = loose_tokens(buggy) + ["\n"] + loose_tokens(public)
    known: dict[int, set[tuple[str, ...]]] = {}
    novel: set[tuple[str, ...]] = set()
    for line in changed_repair_text(buggy, repair):
        toks = loose_tokens(line)
        if len(toks) >= n:
            candidates = _grams(toks, n)
        elif len(toks) >= 2:
            candidates = {tuple(toks)}
        else:
            continue
        for gram in candidates:
            if len(gram) not in known:
                known[len(gram)] = _grams(known_tokens, len(gram))
            if gram not in known[len(gram)]:
                novel.add(gram)
    return novel


@dataclass
class LeakCheck:
    leaked: list[str]          # the repair's code fragments the hint contains
    code_block: bool = False   # the hint holds a fenced code block

    @property
    def ok(self) -> bool:
        return not self.leaked and not self.code_block

    def reason(self) -> str:
        """Why the hint is rejected, safe to show a student (names no code of the fix)."""
        return "it contains a code block" if self.code_block else "it quotes code from the fix"

    def detail(self) -> str:
        """The reason with the quoted fragments, for the tutor model (which knows the fix)."""
        if self.code_block or not self.leaked:
            return self.reason()
        return self.reason() + ": " + ", ".join(f"`{g}`" for g in self.leaked[:3])


def _join(gram: tuple[str, ...]) -> str:
    return " ".join(gram)


def check_leak(hint: str, buggy: str, repair: str | None, n: int = 3, public: str = "") -> LeakCheck:
    """Levels 1-3: the hint may describe the bug and quote the buggy program, but must not contain
    any n-gram of code that only the repair has."""
    block = bool(re.search(r"^\s*(```|~~~)", hint, re.M))
    if repair is None:
        return LeakCheck([], block)
    novel = novel_grams(buggy, repair, n, public)
    hint_tokens = loose_tokens(hint)
    found = sorted({_join(g) for g in novel if g in _grams(hint_tokens, len(g))})
    return LeakCheck(found, block)


def reveals_whole_fix(hint: str, buggy: str, repair: str | None, n: int = 3, public: str = "") -> bool:
    """Level 4: a fragment may show part of the fix, never all of it."""
    if repair is None:
        return False
    novel = novel_grams(buggy, repair, n, public)
    if not novel:
        return False
    hint_tokens = loose_tokens(hint)
    return all(g in _grams(hint_tokens, len(g)) for g in novel)


def word_count(text: str) -> int:
    return len(text.split())


def limit_words(text: str, limit: int) -> str:
    """At most `limit` words: whole sentences when they fit, else a cut with an ellipsis."""
    if word_count(text) <= limit:
        return text
    sentences = re.split(r"(?<=[.!?])\s+", text.strip())
    kept: list[str] = []
    for s in sentences:
        if word_count(" ".join(kept + [s])) > limit:
            break
        kept.append(s)
    if kept:
        return " ".join(kept)
    return " ".join(text.split()[:limit]) + "\u2026"


@dataclass
class Fragment:
    """A partial-code hint built from the repair: one changed line with part of the change blanked."""

    line: int
    text: str


def masked_fragment(buggy: str, repair: str, n: int = 3, public: str = "") -> Fragment | None:
    """The repair's first changed line, with the last changed token group replaced by `___`
    (every group when showing the others would reveal the whole fix)."""
    ch = changes(buggy, repair)
    if not ch.repair_lines:
        return None
    b = _lines(repair)
    a = _lines(buggy)
    hunk = next(h for h in ch.hunks if any(b[j].strip() for j in range(h[2], h[3])))
    i1, i2, j1, j2 = hunk
    line_no = next(j + 1 for j in range(j1, j2) if b[j].strip())
    new_line = b[line_no - 1]
    old_line = a[i1 + (line_no - 1 - j1)] if i2 > i1 and i1 + (line_no - 1 - j1) < i2 else ""
    spans = [(m.start(), m.end()) for m in _LOOSE.finditer(new_line)]
    new_toks = [new_line[s:e] for s, e in spans]
    old_toks = [m.group(0) for m in _LOOSE.finditer(old_line)]
    groups = [(j1_, j2_) for tag, _, _, j1_, j2_ in
              difflib.SequenceMatcher(None, old_toks, new_toks, autojunk=False).get_opcodes()
              if tag in ("replace", "insert") and j2_ > j1_]
    if not groups:
        groups = [(0, len(new_toks))] if new_toks else []
    if not groups:
        return None

    def render(masked: list[tuple[int, int]]) -> str:
        text = new_line
        for g1, g2 in sorted(masked, reverse=True):
            text = text[:spans[g1][0]] + "___" + text[spans[g2 - 1][1]:]
        return text.strip()

    shown = render(groups[-1:])
    if reveals_whole_fix(shown, buggy, repair, n, public) or shown == new_line.strip():
        shown = render(groups)
    return Fragment(line_no, shown)
