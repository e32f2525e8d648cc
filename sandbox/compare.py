"""Output comparison: is a program's stdout the expected answer, by which rule, and where not.

Rules (`JudgeSpec`):
  tokens           whitespace-separated tokens, optionally case-insensitive; with
                   `space_change_sensitive` the whitespace between them must match too
  float tolerance  tokens, where a number in the expected output matches a number within the
                   absolute or relative error; an integer in the expected output must be matched
                   exactly (same value) unless the problem says every number is real (`reals`)
  lines            line by line, trailing spaces and trailing blank lines ignored
  exact            byte for byte

A wrong answer comes back with the first differing line of each side (`Mismatch`), so the user
and the critic see where the output goes wrong, not just its first lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .api import JudgeSpec, Mismatch

TOKENS, LINES, EXACT, FLOAT, CHECKER = "tokens", "lines", "exact", "float tolerance", "checker"

CONTEXT_LINES = 2  # lines shown on each side of the first difference
LINE_WIDTH = 120

# a decimal number as judges read it (no hex, no inf/nan, no digit separators)
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"[+-]?\d+")
_SPACE_SPLIT = re.compile(r"(\s+)")


@dataclass
class Comparison:
    ok: bool
    reason: str
    rule: str
    mismatch: Mismatch | None = None


def rule_of(spec: JudgeSpec) -> str:
    """The name of the rule that judges output under `spec`."""
    if spec.checker:
        return CHECKER
    if spec.type == "exact":
        return EXACT
    if spec.type == "lines":
        return LINES
    return FLOAT if spec.uses_tolerance else TOKENS


def describe_rule(spec: JudgeSpec) -> str:
    """One line for the user: the rule with its settings."""
    rule = rule_of(spec)
    if rule == CHECKER:
        return f"checker ({spec.checker_style}{': ' + spec.checker_name if spec.checker_name else ''})"
    parts = [rule]
    if rule == FLOAT:
        abs_tol, rel_tol = spec.absolute_tolerance, spec.relative_tolerance
        if abs_tol == rel_tol:
            parts[0] += f" {abs_tol:g}"
        else:
            parts.append(", ".join(f"{name} {tol:g}" for name, tol in (("absolute", abs_tol), ("relative", rel_tol))
                                   if tol is not None))
        parts.append("every number real" if spec.reals else "integers exact")
    if rule != EXACT and not spec.case_sensitive:
        parts.append("case-insensitive")
    if rule in (TOKENS, FLOAT) and spec.space_change_sensitive:
        parts.append("whitespace exact")
    return parts[0] + (" (" + ", ".join(parts[1:]) + ")" if len(parts) > 1 else "")


def _as_number(token: str) -> float | None:
    if not _NUMBER.fullmatch(token):
        return None
    value = float(token)
    return value if value not in (float("inf"), float("-inf")) else None


def _same_value(got: str, want: str) -> bool:
    """`got` is a number with exactly the value of the integer `want` ("7.0" is 7, "7.000001" is not)."""
    if not _NUMBER.fullmatch(got):
        return False
    from decimal import Decimal, InvalidOperation  # only a near-miss on an integer needs it
    try:
        return Decimal(got) == Decimal(want)
    except InvalidOperation:
        return False


def _token_error(got: str, want: str, spec: JudgeSpec) -> str | None:
    """None when the tokens match under `spec`, else why not."""
    if got == want or (not spec.case_sensitive and got.lower() == want.lower()):
        return None
    if spec.uses_tolerance and _as_number(want) is not None:
        if not spec.reals and _INTEGER.fullmatch(want):
            return None if _same_value(got, want) else "integers are compared exactly"
        gv, wv = _as_number(got), _as_number(want)
        if gv is None:
            return "expected a number"
        err = abs(gv - wv)
        abs_tol, rel_tol = spec.absolute_tolerance, spec.relative_tolerance
        if (abs_tol is not None and err <= abs_tol) or (rel_tol is not None and err <= rel_tol * abs(wv)):
            return None
        return f"difference {err:.3g} is over the tolerance"
    return ""


def _tokens_with_lines(text: str):
    for lineno, line in enumerate(text.split("\n"), 1):
        for token in line.split():
            yield token, lineno


def _end_line(text: str) -> int:
    """The line just past the last one (where "the output ended" points)."""
    return len(_lines(text)) + 1


def _cut(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _compare_tokens(actual: str, expected: str, spec: JudgeSpec) -> Comparison:
    rule = rule_of(spec)
    if actual == expected or actual.split() == expected.split():  # equal tokens match under every rule
        return Comparison(True, "", rule)
    got_tokens = _tokens_with_lines(actual)
    for i, (want, want_line) in enumerate(_tokens_with_lines(expected), 1):
        got = next(got_tokens, None)
        if got is None:
            reason = f"the output ended after {i - 1} tokens; expected {_cut(want)!r} next (line {want_line})"
            return _wrong(actual, expected, rule, reason, want_line, _end_line(actual))
        error = _token_error(got[0], want, spec)
        if error is not None:
            why = f" ({error})" if error else ""
            reason = f"line {got[1]}, token {i}: expected {_cut(want)!r}, got {_cut(got[0])!r}{why}"
            return _wrong(actual, expected, rule, reason, want_line, got[1])
    extra = next(got_tokens, None)
    if extra is not None:
        reason = f"extra output from line {extra[1]}: {_cut(extra[0])!r} after the expected tokens"
        return _wrong(actual, expected, rule, reason, _end_line(expected), extra[1])
    return Comparison(True, "", rule)


def _compare_spaced(actual: str, expected: str, spec: JudgeSpec) -> Comparison:
    """Tokens where the whitespace between them must match exactly (Kattis space_change_sensitive)."""
    rule = rule_of(spec)
    if actual == expected:
        return Comparison(True, "", rule)
    got_parts, want_parts = _SPACE_SPLIT.split(actual), _SPACE_SPLIT.split(expected)
    got_line = want_line = 1
    for i in range(max(len(got_parts), len(want_parts))):
        got = got_parts[i] if i < len(got_parts) else None
        want = want_parts[i] if i < len(want_parts) else None
        if got == want:
            pass
        elif i % 2:  # whitespace
            reason = f"line {got_line}: whitespace differs: expected {want or ''!r}, got {got or ''!r}"
            return _wrong(actual, expected, rule, reason, want_line, got_line)
        elif not want or not got:
            reason = (f"line {got_line}: the output ended; expected {_cut(want)!r}" if want else
                      f"line {got_line}: extra output {_cut(got)!r}")
            return _wrong(actual, expected, rule, reason, want_line, got_line)
        else:
            error = _token_error(got, want, spec)
            if error is not None:
                why = f" ({error})" if error else ""
                reason = f"line {got_line}: expected {_cut(want)!r}, got {_cut(got)!r}{why}"
                return _wrong(actual, expected, rule, reason, want_line, got_line)
        got_line += (got or "").count("\n")
        want_line += (want or "").count("\n")
    return Comparison(True, "", rule)


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _compare_lines(actual: str, expected: str, spec: JudgeSpec) -> Comparison:
    got = [ln.rstrip() for ln in actual.rstrip().split("\n")] if actual.strip() else []
    want = [ln.rstrip() for ln in expected.rstrip().split("\n")] if expected.strip() else []
    for i, (g, w) in enumerate(zip(got, want), 1):
        if g != w and (spec.case_sensitive or g.lower() != w.lower()):
            return _wrong(actual, expected, LINES, f"line {i}: expected {_cut(w, 80)!r}, got {_cut(g, 80)!r}", i, i)
    if len(got) != len(want):
        n = min(len(got), len(want)) + 1
        return _wrong(actual, expected, LINES, f"expected {len(want)} lines, got {len(got)}", n, n)
    return Comparison(True, "", LINES)


def _compare_exact(actual: str, expected: str) -> Comparison:
    if actual == expected:
        return Comparison(True, "", EXACT)
    got, want = actual.split("\n"), expected.split("\n")
    for i, (g, w) in enumerate(zip(got, want), 1):
        if g != w:
            what = "trailing whitespace differs" if g.rstrip() == w.rstrip() else \
                f"expected {_cut(w, 80)!r}, got {_cut(g, 80)!r}"
            return _wrong(actual, expected, EXACT, f"line {i}: {what} (compared byte for byte)", i, i)
    n = min(len(got), len(want))
    if len(got) == len(want) + 1 and got[-1] == "" or len(want) == len(got) + 1 and want[-1] == "":
        reason = "the output differs only in the final newline (compared byte for byte)"
    else:
        reason = f"expected {len(_lines(expected))} lines, got {len(_lines(actual))} (compared byte for byte)"
    return _wrong(actual, expected, EXACT, reason, n, n)


def _context(text: str, line: int, context: int, width: int) -> list[tuple[int, str]]:
    lines = _lines(text)
    line = min(line, len(lines) + 1)
    lo, hi = max(1, line - context), min(len(lines), line + context)
    return [(n, _cut(lines[n - 1], width)) for n in range(lo, hi + 1)]


def mismatch_at(actual: str, expected: str, expected_line: int, actual_line: int, reason: str = "",
                context: int = CONTEXT_LINES, width: int = LINE_WIDTH) -> Mismatch:
    """The lines around the first difference on each side (line numbers are 1-based)."""
    return Mismatch(expected_line=expected_line, actual_line=actual_line, reason=reason,
                    expected=_context(expected, expected_line, context, width),
                    actual=_context(actual, actual_line, context, width))


def mismatch_lines(m: Mismatch) -> list[str]:
    """The mismatch as text: each side's lines around the first difference, numbered, the
    differing line marked with '>' (as `oj test -D` shows); raw candidate text, so make it safe
    before it reaches a terminal."""
    width = len(str(max([n for n, _ in m.expected + m.actual] + [m.expected_line, m.actual_line])))

    def numbered(lines: list[tuple[int, str]], marked: int) -> list[str]:
        shown = [f"  {'>' if n == marked else ' '}{n:>{width}} | {text}" for n, text in lines]
        if marked > (lines[-1][0] if lines else 0):
            shown.append(f"  >{marked:>{width}} | (end of output)")
        return shown

    return ["expected:", *numbered(m.expected, m.expected_line), "got:", *numbered(m.actual, m.actual_line)]


def _wrong(actual: str, expected: str, rule: str, reason: str, expected_line: int, actual_line: int) -> Comparison:
    return Comparison(False, reason, rule, mismatch_at(actual, expected, expected_line, actual_line, reason))


def compare_output(actual: str, expected: str, spec: JudgeSpec) -> Comparison:
    """Compare a program's output with the expected answer under the problem's rule."""
    if spec.type == "exact":
        return _compare_exact(actual, expected)
    if spec.type == "lines":
        return _compare_lines(actual, expected, spec)
    if spec.space_change_sensitive:
        return _compare_spaced(actual, expected, spec)
    return _compare_tokens(actual, expected, spec)


__all__ = ["CHECKER", "Comparison", "EXACT", "FLOAT", "LINES", "TOKENS", "compare_output", "describe_rule",
           "mismatch_at", "mismatch_lines", "rule_of"]
