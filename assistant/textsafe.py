"""Candidate output is data: make it safe to show in a terminal.

Programs under test print whatever they like, including terminal control sequences (clear the
screen, move the cursor, set the window title, colour a fake "passed" line). Anything a candidate
produced goes through `printable` before it reaches the user's terminal or the TUI: control
characters become visible escapes (`\\x1b`, `\\r`), so they are shown, never obeyed.
"""

from __future__ import annotations

import re

# C0 controls except tab and newline, DEL, C1 controls, and the bidirectional overrides that can
# make text read differently from what it is
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

_NAMED = {"\r": "\\r", "\x1b": "\\x1b", "\x08": "\\b", "\x07": "\\a", "\x0c": "\\f", "\x0b": "\\v",
          "\x00": "\\0"}


def _escape(match: re.Match) -> str:
    ch = match.group()
    named = _NAMED.get(ch)
    if named:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str | None) -> str:
    """`text` with every terminal control character (and lone surrogate) shown as an escape."""
    if not text:
        return ""
    return _UNSAFE.sub(_escape, text)


def has_control(text: str | None) -> bool:
    return bool(text) and _UNSAFE.search(text) is not None


# one visible character for each control character: for text whose styling spans must stay put
_PICTURES = {code: 0x2400 + code for code in range(0x20) if code not in (0x09, 0x0a)}
_PICTURES[0x7f] = 0x2421
_PICTURES.update({code: 0xfffd for code in range(0x80, 0xa0)})
_PICTURES.update({code: 0xfffd for code in list(range(0x202a, 0x202f)) + list(range(0x2066, 0x206a))})


def pictured(text: str | None) -> str:
    """`text` with every control character shown as its one-character Unicode picture (␛, ␍),
    so lengths, and styled spans over the text, stay as they were."""
    if not text:
        return ""
    out = text.translate(_PICTURES)
    if any(0xd800 <= ord(ch) <= 0xdfff for ch in out):  # lone surrogates cannot be printed
        out = "".join("\ufffd" if 0xd800 <= ord(ch) <= 0xdfff else ch for ch in out)
    return out


def shown(text: str | None) -> str:
    """Text for a Rich markup string: control characters escaped, markup brackets escaped."""
    from rich.markup import escape
    return escape(printable(text))
