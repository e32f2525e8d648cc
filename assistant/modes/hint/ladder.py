"""The hint ladder: nudge, concept, location, partial code.

The tutor model writes each level from the failing tests and the verified repair. Every draft
goes through guards before a student sees it: not empty, at most `max_words` words (longer text
is cut at a sentence), about the task (it names something from the program, the tests or the
statement, or a programming idea), not a repeat of an earlier level, and at levels 1-3 no code from the
repair (token n-gram overlap with the repair's changed lines) and no code block; at level 4 a
fragment that never shows the whole fix. A rejected draft is regenerated with the reason, a
bounded number of times; when every draft is rejected (or the model budget is used up) the level
falls back to a hint built from the facts (failing test, changed lines, kind of edit), which
passes the same guards.
"""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from ...engine.budget import BudgetExhausted
from ...engine.context import EngineContext
from ...engine.prompting import render
from ...models.base import GenerationOptions, Message, ModelError
from ...problems.model import Problem
from .check import ProgramCheck, failure_comment, failures_text
from .diff import (changes, check_leak, limit_words, loose_tokens, masked_fragment, numbered, reveals_whole_fix,
                   unified_diff, word_count)
from .events import HintDrafted

LEVELS: dict[int, tuple[str, str]] = {
    1: ("nudge", "where to look"),
    2: ("concept", "which idea is missing or wrong"),
    3: ("location", "which line or condition"),
    4: ("partial code", "a fragment with a blank"),
}

Source = Literal["tutor", "template", "syntax"]


class Rejected(BaseModel):
    text: str
    reason: str


class Validation(BaseModel):
    k: int = Field(description="repairs tried by the student model with the hint, and again without")
    with_hint: int = Field(description="of k repairs with the hint, how many passed every test")
    without_hint: int = Field(description="of k repairs without any hint, how many passed every test")
    kept: bool = Field(description="with_hint > without_hint")


class HintLevel(BaseModel):
    level: int
    name: str
    text: str
    source: Source = Field(description="tutor: written by the tutor model; template: built from the failing "
                                       "test and the repair after every tutor draft was rejected; syntax: the "
                                       "syntax-error hint")
    words: int
    drafts: int = Field(0, description="tutor model calls spent on this level")
    rejected: list[Rejected] = Field(default_factory=list)
    validation: Validation | None = None

    @property
    def kept(self) -> bool | None:
        return None if self.validation is None else self.validation.kept


@dataclass
class TutorSettings:
    retries: int = 2
    ngram: int = 3
    max_words: int = 160
    temperature: float = 0.5
    max_tokens: int = 400
    completion_max_tokens: int = 120
    seed: int = 0


_LABEL = re.compile(r"^\s*(?:\*\*|__)?\s*(?:hint|level)\b[^:\n]{0,40}:\s*(?:\*\*|__)?\s*", re.I)


def clean_chat_hint(text: str) -> str:
    text = text.strip()
    text = _LABEL.sub("", text, count=1).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text


_ECHO = re.compile(r"^\s*(?:\(\s*[a-z ]+,[^)]{0,60}\)\s*:?\s*)+", re.I)


def clean_completion_hint(text: str) -> str:
    """A base model's continuation after `# Hint N (...):`: the first comment paragraph, without
    an echo of the label."""
    text = _ECHO.sub("", text, count=1)
    out: list[str] = []
    for i, line in enumerate(text.split("\n")):
        stripped = line.strip()
        if i == 0:
            out.append(stripped.lstrip("#").strip())
            continue
        if not stripped.startswith("#"):
            break
        body = stripped.lstrip("#").strip()
        if not body or re.match(r"hint\b", body, re.I):
            break
        out.append(body)
    return " ".join(x for x in out if x).strip()


def _function_at(program: str, line: int) -> str | None:
    try:
        tree = ast.parse(program)
    except (SyntaxError, ValueError):
        return None
    best = None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.lineno <= line <= (node.end_lineno or 0):
            if best is None or node.lineno >= best.lineno:
                best = node
    return best.name if best else None


def _short(text: str, width: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def edit_kind(program: str, repair: str) -> str:
    """What kind of edit the repair makes, in words a hint can use without showing code."""
    ch = changes(program, repair)
    old_lines = program.split("\n")
    new_lines = repair.split("\n")
    removed = [old_lines[i - 1] for i in ch.buggy_lines]
    added = [new_lines[j - 1] for j in ch.repair_lines]
    if added and not removed:
        return "missing"
    if removed and not added:
        return "extra"
    old_t, new_t = loose_tokens("\n".join(removed)), loose_tokens("\n".join(added))
    if sorted(old_t) == sorted(new_t) and old_t != new_t:
        return "order"
    matcher = difflib.SequenceMatcher(None, old_t, new_t, autojunk=False)
    swapped = [(old_t[i1:i2], new_t[j1:j2]) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]
    flat_old = [t for o, _ in swapped for t in o]
    flat_new = [t for _, n in swapped for t in n]
    comparisons = {"<", ">", "<=", ">=", "==", "!="}
    arithmetic = {"+", "-", "*", "/", "//", "%", "**", "+=", "-=", "*=", "/="}
    if flat_old and flat_new and set(flat_old + flat_new) <= comparisons:
        return "comparison"
    if flat_old and flat_new and set(flat_old + flat_new) <= arithmetic:
        return "arithmetic"
    if any(re.fullmatch(r"\d+", t) for t in flat_old + flat_new) and len(flat_old + flat_new) <= 4:
        return "bound"
    return "detail"


_CONCEPT = {
    "missing": "A step is missing: your program never does something the problem needs. Compare what the "
               "problem asks for with what each part of your code does, and look for the case it forgets.",
    "extra": "Your program does one thing too many: some step changes the result in a way the problem does not "
             "ask for. Check each step against the problem statement.",
    "order": "All the right pieces are there, but two of them are used in the wrong order. Check the order of "
             "the values you pass or combine.",
    "comparison": "Think about the boundary: should the comparison include the equal case or not? Try the "
                  "failing input by hand right at that edge.",
    "arithmetic": "One calculation uses the wrong operation. Work out by hand what each step should compute for "
                  "the failing input.",
    "bound": "Check your constants and bounds: a start value, a limit or a step is off, probably by one.",
    "detail": "The overall idea is right, but one detail of the computation is wrong. Compare what each step does "
              "with what the problem statement asks.",
}

_LOCATION_TAIL = {
    "missing": "Something is missing here.",
    "extra": "This line should not do what it does now.",
    "order": "Two things on this line are in the wrong order.",
    "comparison": "The comparison here is not quite right.",
    "arithmetic": "The calculation here is not quite right.",
    "bound": "A number or bound here is off.",
    "detail": "This line does not do what the problem needs.",
}


def syntax_hint(check: ProgramCheck) -> str:
    s = check.syntax
    if s is None or s.line is None:
        return ("Python cannot read your program, so no test can run yet. "
                f"It reports: {check.compile_error or 'a syntax error'}. Fix that first.")
    text = (f"Python cannot read your program, so no test can run yet: line {s.line} has a syntax error "
            f"({s.message}).")
    if s.text.strip():
        text += f" Line {s.line} is: `{_short(s.text.strip(), 80)}`."
    text += (" Look closely at that line and the one just before it: a missing colon, bracket or quote, or "
             "wrong indentation, is the usual cause.")
    return text


def template_hint(level: int, problem: Problem, program: str, check: ProgramCheck, repair: str | None) -> str | None:
    """A hint built from the facts alone (failing test, repair diff), for when every draft failed."""
    failing = check.failing[0] if check.failing else None
    kind = edit_kind(program, repair) if repair else "detail"
    ch = changes(program, repair) if repair else None
    lines = ch.lines_touched if ch else []
    if level == 1:
        where = "your program"
        if lines:
            fn = _function_at(program, lines[0])
            if fn:
                where = f"the function `{fn}`"
        parts = [f"Your program fails {check.total - check.passed} of {check.total} tests."]
        if failing is not None:
            lines = [ln.strip() for ln in failing.test.splitlines() if ln.strip()]
            joined = "; ".join(lines)
            test = _short(joined if len(joined) <= 110 else (lines[-1] if lines else failing.name), 110)
            if failing.expected is not None:
                parts.append(f"Start with `{test}`: it should give {_short(failing.expected, 60)} but gives "
                             f"{_short(failing.actual or '(nothing)', 60)}.")
            else:
                parts.append(f"Start with `{test}`: it stops with {_short(failing.error or failing.verdict, 80)}.")
        parts.append(f"Work through that input by hand and follow what {where} does, step by step.")
        return " ".join(parts)
    if level == 2:
        return _CONCEPT[kind]
    if level == 3 and lines:
        src = program.split("\n")
        n = lines[0]
        if ch and not ch.buggy_lines:
            quoted = src[n - 1].strip() if 0 < n <= len(src) else ""
            return f"Look right after line {n}" + (f" (`{_short(quoted, 80)}`)" if quoted else "") + \
                ": something is missing there."
        quoted = src[n - 1].strip() if 0 < n <= len(src) else ""
        more = f" (and line{'s' if len(lines) > 2 else ''} {', '.join(map(str, lines[1:4]))})" if len(lines) > 1 else ""
        return f"Look at line {n}{more}: `{_short(quoted, 80)}`. {_LOCATION_TAIL[kind]}"
    if level == 4 and repair:
        frag = masked_fragment(program, repair)
        if frag is None:
            return None
        return f"Line {frag.line} of the fixed program looks like this; fill in the blank:\n`{frag.text}`"
    return None


# words that make a hint about programming even when it names nothing from the program
_CONCEPT_WORDS = set("""
loop loops iterate iteration recursion recursive call calls condition conditions branch index indices
indexes bound bounds boundary edge case cases empty off-by-one order argument arguments parameter
parameters variable variables value values return returns returned list lists string strings dict
dictionary set tuple integer integers float division remainder modulo operator comparison compare
equal equals greater smaller less sum count counter length range slice element elements first last
base initial initialize update swap sort sorted reverse negative zero duplicate duplicates input
output result line lines function stack queue node nodes graph tree key keys append
""".split())


_STOPWORDS = set("""
the and for are but not you your this that with from have has was were will would should could there their
them they then than what when where which while who whom why how all any each its into out over under about
after before again also only just more most other some such same very can may might must shall these those
being been does did doing done here once both few own off too
""".split())


def _identifiers(source: str) -> set[str]:
    import keyword
    return {w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]+", source)
            if not keyword.iskeyword(w) and w.lower() not in _STOPWORDS}


class Tutor:
    """Writes one level at a time, screens each draft, regenerates or falls back to a template."""

    def __init__(self, ctx: EngineContext, program: str, check: ProgramCheck, repair: str | None,
                 settings: TutorSettings):
        self.ctx = ctx
        self.problem = ctx.problem
        self.program = program
        self.check = check
        self.repair = repair
        self.settings = settings
        self.chat = bool(ctx.model.can_chat)
        self.public = self.problem.statement + "\n" + failures_text(check, self.problem.kind, limit=10)
        statement_words = {w.lower() for w in re.findall(r"[A-Za-z]{5,}", self.problem.statement)} - _STOPWORDS
        test_words = _identifiers("\n".join(f.test for f in check.failing)) if self.problem.kind == "function" else set()
        self.vocabulary = _identifiers(program) | test_words | statement_words | _CONCEPT_WORDS

    def grounded(self, text: str) -> bool:
        """Does the hint refer to the program, the tests or a programming idea at all?"""
        words = {w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_-]+", text)}
        return bool(words & self.vocabulary) or bool(re.search(r"\bline \d+", text, re.I))

    def screen(self, level: int, text: str, previous: list[HintLevel]) -> tuple[str, str | None]:
        """(the hint as it would be shown, the reason it is rejected or None)."""
        text, reason, _ = self._screen(level, text, previous)
        return text, reason

    def _screen(self, level: int, text: str, previous: list[HintLevel]) -> tuple[str, str | None, str | None]:
        """Like `screen`, plus the detailed reason the tutor model is told (it may name code of the fix)."""
        text, reason = self._check(level, text, previous)
        if reason is None or level > 3 or self.repair is None:
            return text, reason, reason
        leak = check_leak(text, self.program, self.repair, self.settings.ngram, self.public)
        return text, reason, leak.detail() if not leak.ok else reason

    def _check(self, level: int, text: str, previous: list[HintLevel]) -> tuple[str, str | None]:
        s = self.settings
        text = text.strip()
        if word_count(text) < 3:
            return text, "it is empty or too short"
        text = limit_words(text, s.max_words)
        if not self.grounded(text):
            return text, "it does not refer to the program, the tests or a programming idea"
        words = re.findall(r"\w+", text.lower())
        if len(words) >= 12 and len(set(words)) < 0.35 * len(words):
            return text, "it repeats itself"
        for p in previous:
            before = re.findall(r"\w+", p.text.lower())
            if difflib.SequenceMatcher(None, before, words, autojunk=False).ratio() >= 0.6:
                return text, f"it repeats hint {p.level}"
        if level <= 3:
            leak = check_leak(text, self.program, self.repair, s.ngram, self.public)
            if not leak.ok:
                return text, leak.reason()
        elif reveals_whole_fix(text, self.program, self.repair, s.ngram, self.public):
            return text, "it shows the whole fix"
        return text, None

    def _request(self, level: int, previous: list[HintLevel], feedback: str) -> tuple[list[Message] | None, str | None]:
        s = self.settings
        name, short = LEVELS[level]
        if self.chat:
            repair = (render("hint_tutor_repair", diff=unified_diff(self.program, self.repair).rstrip())
                      if self.repair else render("hint_tutor_norepair"))
            prev = ""
            if previous:
                prev = "# Hints the student already has\n" + "\n".join(
                    f"{p.level} ({p.name}): {p.text}" for p in previous) + "\n"
            user = render("hint_tutor_task", statement=self.problem.statement.strip() or "(no statement: the tests "
                          "define the task)", program=numbered(self.program),
                          failures=failures_text(self.check, self.problem.kind, limit=4), repair=repair.rstrip() + "\n",
                          previous=prev, level=level, instruction=render(f"hint_level_{level}").strip(),
                          max_words=s.max_words,
                          feedback=render("hint_feedback", reason=feedback).rstrip() if feedback else "")
            return [Message(role="system", content=render("hint_tutor_system", max_words=s.max_words)),
                    Message(role="user", content=user)], None
        if self.repair:
            ch = changes(self.program, self.repair)
            new_lines = self.repair.split("\n")
            fixed = "; ".join(f"line {j}: {new_lines[j - 1].strip()}" for j in ch.repair_lines[:2])
            fix = f"The bug is on line {', '.join(map(str, ch.lines_touched[:3]))}." + (f" Fixed {fixed}" if fixed else "")
        else:
            fix = "The failing test shows the bug."
        # earlier hints are left out: a base model imitates them (facts and all) instead of going on
        prompt = render("hint_tutor_completion", failures=failure_comment(self.check, self.problem.kind),
                        program=self.program.rstrip(), fix=fix, previous="", level=level, level_name=name,
                        short=short).rstrip("\n")
        return None, prompt

    async def level(self, level: int, previous: list[HintLevel]) -> HintLevel:
        s = self.settings
        name = LEVELS[level][0]
        rejected: list[Rejected] = []
        feedback = ""
        drafts = 0
        if not (level == 4 and self.repair is None):
            for attempt in range(s.retries + 1):
                messages, prompt = self._request(level, previous, feedback)
                options = GenerationOptions(
                    temperature=s.temperature if attempt == 0 else min(1.0, s.temperature + 0.2 * attempt),
                    seed=(s.seed * 1_000_003 + level * 101 + attempt * 7) % (2 ** 31),
                    max_tokens=s.max_tokens if messages is not None else s.completion_max_tokens,
                    stop=[] if messages is not None else ["\n\n", "\ndef ", "\n```"])
                try:
                    if messages is not None:
                        reply = await self.ctx.call("tutor", options, messages=messages)
                    else:
                        reply = await self.ctx.call("tutor", options, prompt=prompt)
                except BudgetExhausted as exc:
                    self.ctx.notice(f"hint level {level}: {exc}; using a hint built from the test results", "warning")
                    break
                except ModelError as exc:
                    self.ctx.notice(f"hint level {level}: the tutor model failed: {exc}", "warning")
                    break
                drafts += 1
                raw = clean_chat_hint(reply.text) if messages is not None else clean_completion_hint(reply.text)
                text, reason, detail = self._screen(level, raw, previous)
                self.ctx.emit(HintDrafted(level=level, attempt=attempt + 1, accepted=reason is None, source="tutor",
                                          reason=reason))
                if reason is None:
                    return HintLevel(level=level, name=name, text=text, source="tutor", words=word_count(text),
                                     drafts=drafts, rejected=rejected)
                rejected.append(Rejected(text=raw[:2000], reason=reason))
                feedback = detail or reason
        fallback = template_hint(level, self.problem, self.program, self.check, self.repair)
        text = ""
        if fallback is not None:
            text, reason = self.screen(level, fallback, previous)
            if reason is not None:
                rejected.append(Rejected(text=fallback, reason=reason))
                text = ""
        if text:
            self.ctx.emit(HintDrafted(level=level, attempt=drafts + 1, accepted=True, source="template"))
        return HintLevel(level=level, name=name, text=text, source="template", words=word_count(text), drafts=drafts,
                         rejected=rejected)


__all__ = ["HintLevel", "LEVELS", "Rejected", "Tutor", "TutorSettings", "Validation", "clean_chat_hint",
           "clean_completion_hint", "edit_kind", "syntax_hint", "template_hint"]
