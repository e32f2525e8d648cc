"""The critic: reads code plus its real execution report, returns analysis, direction and a score.

Structured output is requested (a JSON schema) but never trusted: the reply is validated, then
parsed as free text when it is not valid JSON, and a reply without a score says so instead of
inventing one.
"""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, ValidationError

from .node import Critique, Execution

CRITIC_SCHEMA = {
    "type": "object",
    "properties": {
        "analysis": {"type": "string"},
        "complexity": {"type": "string"},
        "suggestion": {"type": "string"},
        "score": {"type": "integer", "minimum": 1, "maximum": 5},
        "done": {"type": "boolean"},
    },
    "required": ["analysis", "suggestion", "score"],
}


class _CriticReply(BaseModel):
    analysis: str = ""
    complexity: str | dict | None = ""
    suggestion: str = ""
    score: int | float | str | None = None
    done: bool | str | None = False


def _clamp_score(value) -> int | None:
    try:
        num = float(str(value).strip().split("/")[0])
    except (TypeError, ValueError):
        return None
    if num != num:  # NaN
        return None
    return int(min(5, max(1, round(num))))


def _json_objects(text: str):
    """Candidate JSON objects in a reply: fenced blocks first, then balanced braces."""
    for m in re.finditer(r"```(?:json)?\s*\n(.*?)```", text, re.S):
        yield m.group(1)
    depth, start = 0, None
    for i, ch in enumerate(text):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0 and start is not None:
                yield text[start:i + 1]


def parse_critique(text: str) -> Critique:
    for candidate in _json_objects(text):
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        try:
            reply = _CriticReply.model_validate(data)
        except ValidationError:
            continue
        complexity = reply.complexity
        if isinstance(complexity, dict):
            complexity = ", ".join(f"{k}: {v}" for k, v in complexity.items())
        done = reply.done if isinstance(reply.done, bool) else str(reply.done).lower() == "true"
        return Critique(analysis=reply.analysis.strip(), complexity=(complexity or "").strip(),
                        suggestion=reply.suggestion.strip(), score=_clamp_score(reply.score),
                        done=bool(done), raw=text[:4000], parsed_from="json")
    # free text: "Score: 4/5", "score = 3", "**Score**: 2"
    m = re.search(r"score\W{0,6}(\d(?:\.\d)?)\s*(?:/\s*5)?", text, re.I)
    score = _clamp_score(m.group(1)) if m else None
    suggestion = ""
    sm = re.search(r"(?:suggestion|next step|improve(?:ment)?)\W{0,6}(.+)", text, re.I)
    if sm:
        suggestion = sm.group(1).strip()[:500]
    analysis = re.sub(r"\s+", " ", text).strip()[:800]
    return Critique(analysis=analysis, suggestion=suggestion, score=score,
                    done=bool(re.search(r"\bdone\W{0,4}true\b", text, re.I)) or text.strip().lower() == "good",
                    raw=text[:4000], parsed_from="text" if text.strip() else "none")


def critique_note(critique: Critique | None, subject: str = "the code and the report") -> str:
    """What the critic said, as the next prompt quotes it (empty when it said nothing useful)."""
    if critique is None or not (critique.analysis or critique.suggestion):
        return ""
    lines = [f"\nA reviewer read {subject}:"]
    for label, text in (("analysis", critique.analysis), ("complexity", critique.complexity),
                        ("suggestion", critique.suggestion)):
        if text:
            lines.append(f"- {label}: {text}")
    return "\n".join(lines) + "\n"


def format_report(execution: Execution, suspect: set[str] | None = None, limit_chars: int = 3500) -> str:
    """The execution report as the programmer and the critic read it: real verdicts and numbers."""
    suspect = suspect or set()
    lines = []
    if execution.compile_error:
        return f"The program does not compile:\n{execution.compile_error}"
    if execution.sandbox_error:
        lines.append(f"Sandbox problem: {execution.sandbox_error}")

    def describe(t, prefix: str) -> str:
        cost = []
        if t.cpu_ms is not None:
            cost.append(f"{t.cpu_ms:.0f} ms CPU")
        if t.peak_rss_kb:
            cost.append(f"{t.peak_rss_kb / 1024:.0f} MB")
        head = f"{prefix}{t.name}: {t.verdict}" + (f" ({', '.join(cost)})" if cost else "")
        if t.verdict == "AC":
            return head
        if t.name in suspect:
            head += "  [every strong candidate fails this test: it may be wrong]"
        body = []
        if t.expected is not None or t.actual is not None:
            body.append(f"    expected: {t.expected}\n    actual:   {t.actual}")
        if t.detail and not body:
            body.append(f"    {t.detail}")
        if t.traceback and t.verdict == "RE":
            tb = t.traceback.strip().splitlines()[-6:]
            body.append("    " + "\n    ".join(tb))
        return "\n".join([head, *body])

    for t in execution.visible:
        lines.append(describe(t, ""))
    if execution.generated:
        failed = [t for t in execution.generated if t.verdict != "AC"]
        lines.append(f"Extra tests written by a model (they can be wrong): {execution.generated_passed}/"
                     f"{len(execution.generated)} passed")
        for t in failed[:4]:
            lines.append(describe(t, "  "))
    summary = f"Summary: {execution.passed}/{execution.total} tests passed"
    if execution.cpu_ms is not None:
        summary += f", total CPU {execution.cpu_ms:.0f} ms"
    if execution.peak_rss_kb:
        summary += f", peak memory {execution.peak_rss_kb / 1024:.0f} MB"
    lines.append(summary)
    text = "\n".join(lines)
    if len(text) > limit_chars:
        text = text[: limit_chars - 200] + "\n...(report shortened)...\n" + summary
    return text
