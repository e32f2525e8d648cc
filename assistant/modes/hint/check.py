"""Running the student's program: which tests fail, with expected vs actual, and syntax errors."""

from __future__ import annotations

import ast
import re

from pydantic import BaseModel, Field

from sandbox.judge import excerpt_lines

from ...engine.node import Execution, TestOutcome
from ...problems.model import Problem

SKIPPED_ERROR = "OrpsSkipped"  # raised by the sandbox's pytest stand-in for pytest.skip()


class SyntaxProblem(BaseModel):
    """Where Python stops reading the program."""

    line: int | None
    column: int | None = None
    message: str
    text: str = Field("", description="the program's line at that place")


class FailingTest(BaseModel):
    name: str
    verdict: str
    test: str = Field("", description="the test's code (function problems) or its input (stdin/stdout)")
    expected: str | None = None
    actual: str | None = None
    error: str | None = Field(None, description="the exception or verdict detail, one line")
    program_line: int | None = Field(None, description="the program line an error was raised from")


class ProgramCheck(BaseModel):
    passed: int
    total: int
    compile_error: str | None = None
    syntax: SyntaxProblem | None = None
    failing: list[FailingTest] = Field(default_factory=list)

    @property
    def all_passed(self) -> bool:
        return self.compile_error is None and self.total > 0 and self.passed == self.total


def syntax_problem(source: str) -> SyntaxProblem | None:
    """The first syntax error of a program (parsing only; nothing runs)."""
    try:
        ast.parse(source)
    except SyntaxError as exc:
        lines = source.split("\n")
        line = exc.lineno
        text = lines[line - 1].rstrip() if line and 1 <= line <= len(lines) else (exc.text or "").rstrip()
        return SyntaxProblem(line=line, column=exc.offset, message=exc.msg, text=text)
    except ValueError as exc:  # null bytes
        return SyntaxProblem(line=None, message=str(exc))
    return None


def _excerpt(text: str | None, max_lines: int = 8, width: int = 160) -> str:
    return "" if text is None else excerpt_lines(text, max_lines, width)


def _program_line(traceback: str | None, filename: str) -> int | None:
    if not traceback:
        return None
    hits = re.findall(rf'File "(?:[^"]*/)?{re.escape(filename)}", line (\d+)', traceback)
    return int(hits[-1]) if hits else None


def _error_line(t: TestOutcome) -> str | None:
    if t.verdict == "AC":
        return None
    if t.error_type and t.traceback:
        last = t.traceback.strip().splitlines()[-1].strip()
        return last[:300]
    return (t.detail or t.verdict)[:300]


def program_filename(problem: Problem) -> str:
    return f"{problem.module_name}.py" if problem.module_name else "solution.py"


def check_from_execution(problem: Problem, execution: Execution, program: str) -> ProgramCheck:
    syntax = syntax_problem(program) if execution.compile_error else None
    filename = program_filename(problem)
    tests = {t.name: t for t in problem.visible_tests}
    failing = []
    for t in execution.visible:
        if t.verdict == "AC":
            continue
        case = tests.get(t.name)
        shown = (case.code if problem.kind == "function" else case.input) if case is not None else ""
        failing.append(FailingTest(name=t.name, verdict=t.verdict, test=_excerpt(shown or ""),
                                   expected=_excerpt(t.expected, 6) if t.expected is not None else None,
                                   actual=_excerpt(t.actual, 6) if t.actual is not None else None,
                                   error=_error_line(t) if t.verdict != "WA" or t.expected is None else None,
                                   program_line=_program_line(t.traceback, filename)))
    return ProgramCheck(passed=execution.passed, total=execution.total, compile_error=execution.compile_error,
                        syntax=syntax, failing=failing)


def describe_failure(f: FailingTest, kind: str) -> str:
    """One failing test in plain text, for prompts and the terminal."""
    head = f"{f.name}: {f.verdict}"
    lines = [head]
    if f.test:
        label = "test" if kind == "function" else "input"
        body = f.test.replace("\n", "\n      ")
        lines.append(f"  {label}: {body}")
    if f.expected is not None or f.actual is not None:
        lines.append(f"  expected: {f.expected}")
        lines.append(f"  actual:   {f.actual}")
    if f.error:
        lines.append(f"  error: {f.error}" + (f" (program line {f.program_line})" if f.program_line else ""))
    return "\n".join(lines)


def failures_text(check: ProgramCheck, kind: str, limit: int = 4) -> str:
    if check.compile_error:
        s = check.syntax
        where = f" on line {s.line}" if s and s.line else ""
        text = f"The program does not compile: {s.message if s else check.compile_error}{where}"
        if s and s.text:
            text += f"\n  line {s.line}: {s.text.strip()}"
        return text
    parts = [describe_failure(f, kind) for f in check.failing[:limit]]
    if len(check.failing) > limit:
        parts.append(f"... and {len(check.failing) - limit} more failing tests")
    parts.append(f"Summary: {check.passed}/{check.total} tests pass")
    return "\n".join(parts)


def failure_comment(check: ProgramCheck, kind: str, limit: int = 2) -> str:
    """The failures as `#` comment lines (completion prompts)."""
    text = failures_text(check, kind, limit)
    return "\n".join(f"# {ln}".rstrip() for ln in text.splitlines())


def skipped_tests(execution: Execution) -> list[str]:
    """Tests that skip themselves (pytest.skip in the test): they check nothing."""
    return [t.name for t in execution.visible if t.error_type == SKIPPED_ERROR]
