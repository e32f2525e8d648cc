"""`orps judge SOLUTION --problem PROBLEM`: run a solution on a problem's tests, like `oj test`."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from typing import TYPE_CHECKING

import click

from ..errors import UserError
from . import console, err_console, main
from .problem_options import apply_judging_options, describe_limits, judging_options
from .sandbox_cmd import cli_sandbox, sandbox_option

if TYPE_CHECKING:
    from sandbox.languages import Language
    from sandbox.api import ExecutionReport, Mismatch, TestCase, TestResult

    from ..problems import Problem

VERDICT_STYLE = {"AC": "bold green", "WA": "bold red", "TLE": "bold yellow", "MLE": "bold magenta",
                 "RE": "bold red", "OLE": "bold yellow", "CE": "bold blue"}


def read_program(spec: str, lang: str | None = None) -> tuple[str, Language]:
    """A program's source and its language (--lang, else the file's extension); a missing,
    unreadable, binary or non-UTF-8 file, or an extension no language claims, is a one-line UserError."""
    from ..languages import check_binary, for_file
    from ..problems.loaders import read_text

    path = Path(spec).expanduser()
    if path.is_dir():
        raise UserError(f"{spec}: is a directory, not a solution file")
    if not path.exists():
        raise UserError(f"{spec}: no such solution file")
    try:
        with path.open("rb") as fh:
            check_binary(fh.read(8192), spec)
    except OSError:
        pass  # read_text names the failure
    language = for_file(path, spec, lang)
    return read_text(path, spec), language


def read_solution(spec: str, command: str = "this command") -> str:
    """A Python program's source (fix and hint work on Python only)."""
    source, language = read_program(spec)
    if language.id not in ("python", "pypy"):
        raise UserError(f"{spec}: {command} works on Python programs only (this is {language.name}); "
                        "`orps judge` and `orps solve --lang` handle other languages")
    return source


def _tests_for(problem: Problem, problem_spec: str, hidden: bool) -> list[TestCase]:
    tests = problem.tests(hidden=hidden)
    if tests:
        return tests
    if problem.hidden_tests and not hidden:
        raise UserError(f"{problem_spec}: problem {problem.id} has no visible tests; pass --hidden to run its "
                        f"{len(problem.hidden_tests)} hidden tests")
    raise UserError(f"{problem_spec}: problem {problem.id} has no tests to judge against (add sample "
                    "Input/Output blocks to the statement, or test/NAME.in + NAME.out files)")


def _lines_excerpt(text: str | None, max_lines: int = 3, width: int = 60) -> str:
    from sandbox.judge import excerpt_lines

    if text is None:
        return "(none)"
    return excerpt_lines(text, max_lines, width) or "(empty)"


def _error_line(traceback: str | None, filename: str) -> int | None:
    """The last line of the solution file that a traceback passes through."""
    if not traceback:
        return None
    hits = re.findall(rf'File "(?:[^"]*/)?{re.escape(filename)}", line (\d+)', traceback)
    return int(hits[-1]) if hits else None


def _test_line(code: str, traceback: str | None) -> str:
    """The line of a test snippet that failed (from the traceback), else its last assert."""
    lines = [ln.strip() for ln in code.strip().split("\n")]
    hits = re.findall(r'File "<test>", line (\d+)', traceback or "")
    if not hits and '"<test setup>"' in (traceback or ""):
        return "(while running the test setup)"
    if hits and 1 <= int(hits[-1]) <= len(code.split("\n")):
        line = code.split("\n")[int(hits[-1]) - 1].strip()
    else:
        line = next((ln for ln in reversed(lines) if ln.startswith("assert")), lines[0])
    return line if len(line) <= 80 else line[:77] + "..."


def describe(result: TestResult, test: TestCase, kind: str, filename: str) -> str:
    """The detail column: what the test checked and why it failed."""
    from sandbox.api import Verdict

    if result.verdict is Verdict.AC:
        return result.detail
    lines: list[str] = []
    if kind == "function" and test.code and result.verdict is not Verdict.CE:
        lines.append(_test_line(test.code, result.traceback))
    detail = result.detail
    if result.verdict in (Verdict.RE, Verdict.MLE):
        line = _error_line(result.traceback, filename)
        if line is not None:
            detail += f" (solution line {line})"
    lines.append(detail)
    if kind == "stdio" and result.verdict is Verdict.WA and result.mismatch is None:
        # a checker's verdict: its message, and the first lines of both sides (a mismatch found by
        # the comparison is shown below the table instead)
        lines.append("expected: " + _lines_excerpt(result.expected).replace("\n", "\n          "))
        lines.append("got:      " + _lines_excerpt(result.actual).replace("\n", "\n          "))
    return "\n".join(ln for ln in lines if ln)


MISMATCHES_SHOWN = 5


def print_mismatches(report: ExecutionReport) -> None:
    """Each wrong answer's first differing line with context, below the table, at full width."""
    from rich.text import Text

    from sandbox.compare import mismatch_lines

    from ..textsafe import printable
    wrong = [r for r in report.results if r.mismatch is not None]
    for r in wrong[:MISMATCHES_SHOWN]:
        m = r.mismatch
        console.print()
        console.print(Text.assemble((printable(r.name) or f"#{r.index + 1}", "bold"), " ", ("WA", "bold red"),
                                    ": ", printable(r.detail)))
        console.print(Text(printable("\n".join("  " + ln for ln in mismatch_lines(m)))), soft_wrap=True)
    if len(wrong) > MISMATCHES_SHOWN:
        console.print(Text(f"\n... and {len(wrong) - MISMATCHES_SHOWN} more wrong answers (all of them in --json)",
                           style="dim"))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _mismatch_json(m: Mismatch | None) -> dict | None:
    if m is None:
        return None
    return {"expected_line": m.expected_line, "actual_line": m.actual_line,
            "expected": [{"line": n, "text": t} for n, t in m.expected],
            "actual": [{"line": n, "text": t} for n, t in m.actual]}


def json_document(problem: Problem, solution: str, report: ExecutionReport, tests: list[TestCase],
                  filename: str, repeat: int = 1, language: str = "python") -> dict:
    from sandbox.compare import describe_rule

    def limits(r: TestResult) -> dict:
        lim = problem.test_limits(tests[r.index]) if r.index < len(tests) else problem.limits()
        return {"time_limit_s": lim.cpu_s, "memory_limit_mb": lim.memory_mb}

    return {
        "problem": problem.id,
        "solution": solution,
        "language": language,
        "backend": report.backend,
        "judge": describe_rule(problem.judge) if problem.kind == "stdio" else None,
        "passed": report.passed,
        "total": report.total,
        "all_passed": report.all_passed,
        "compile_error": report.compile_error,
        "compile_ms": _round(report.compile_ms),
        "compile_cached": report.compile_cached,
        "sandbox_error": report.sandbox_error,
        "repeat": repeat,
        "results": [{
            "name": r.name,
            "verdict": r.verdict.value,
            "rule": r.rule,
            "cpu_ms": _round(r.cpu_ms),
            "wall_ms": _round(r.wall_ms),
            "peak_rss_kb": r.peak_rss_kb,
            **limits(r),
            "detail": describe(r, tests[r.index], report.kind, filename) if r.index < len(tests) else r.detail,
            "expected": r.expected,
            "actual": r.actual,
            "mismatch": _mismatch_json(r.mismatch),
            "error_type": r.error_type,
        } for r in report.results],
    }


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def _mb(kb: int | None) -> str:
    return "-" if kb is None else f"{kb / 1024:.1f}"


def print_report(problem: Problem, report: ExecutionReport, tests: list[TestCase], filename: str,
                 repeat: int) -> None:
    from rich.table import Table

    from ..textsafe import printable
    from rich.text import Text

    from sandbox.api import TestCase

    if report.compile_error is None:
        table = Table(show_edge=False, pad_edge=False, header_style="bold")
        longest = max((len(r.name) for r in report.results), default=4)
        table.add_column("test", overflow="fold", min_width=min(24, max(4, longest)))
        table.add_column("verdict")
        table.add_column("CPU ms" if repeat == 1 else f"CPU ms (median of {repeat})", justify="right")
        table.add_column("wall ms", justify="right")
        table.add_column("mem MB", justify="right")
        if report.kind == "stdio":
            table.add_column("judged by", no_wrap=True)
        table.add_column("detail", overflow="fold", ratio=1)
        for r in report.results:
            test = tests[r.index] if r.index < len(tests) else TestCase(name=r.name)
            row = [Text(printable(r.name) or f"#{r.index + 1}"), Text(r.verdict.value, style=VERDICT_STYLE[r.verdict]),
                   _ms(r.cpu_ms), _ms(r.wall_ms), _mb(r.peak_rss_kb)]
            if report.kind == "stdio":
                row.append(Text(r.rule or "-"))
            detail = describe(r, test, report.kind, filename)
            if r.mismatch is not None:  # the full reason and the lines around it follow the table
                detail = f"line {r.mismatch.actual_line} (below)"
            table.add_row(*row, Text(printable(detail)))
        console.print(table)
        print_mismatches(report)
    else:
        console.print(Text.assemble(("compile error: ", "bold blue"), printable(report.compile_error)))
    if report.sandbox_error:
        console.print(Text.assemble(("sandbox error: ", "bold red"), printable(report.sandbox_error)))

    cpu = [r.cpu_ms for r in report.results if r.cpu_ms is not None]
    mem = report.peak_rss_kb()
    counts = report.verdict_counts()
    summary = Text()
    summary.append(f"passed {report.passed}/{report.total}", style="bold green" if report.all_passed else "bold red")
    if counts and set(counts) != {"AC"}:
        summary.append(" (" + ", ".join(f"{v} {n}" for v, n in counts.items()) + ")")
    if cpu:
        summary.append(f" · max CPU {_ms(max(cpu))} ms")
    if mem is not None:
        summary.append(f" · max memory {_mb(mem)} MB")
    if report.compile_ms is not None:
        cached = " (cached)" if report.compile_cached else ""
        summary.append(f" · compiled in {_ms(report.compile_ms)} ms{cached}, not counted in any test")
    summary.append(f" · {report.backend} sandbox")
    if report.compile_error:
        summary.append(" · compile error", style="bold blue")
    console.print(summary)


@main.command("judge")
@click.argument("solution")
@click.option("-p", "--problem", "problem_spec", required=True, metavar="PROBLEM",
              help="A Kattis/ICPC problem package (problem.yaml, data/), an oj-tools directory, a "
                   "Competitive Companion .json, a dataset FILE.jsonl#ID, or a statement (.md/.txt) with "
                   "sample Input/Output blocks.")
@click.option("--hidden", is_flag=True, help="Also run the hidden tests (dataset records, a package's data/secret).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of the table.")
@click.option("--repeat", type=click.IntRange(1, 50), default=1, show_default=True,
              help="Runs per passing test; CPU time is the median.")
@click.option("--lang", "lang", default=None, metavar="NAME",
              help="The solution's language (python, pypy, cpp, c); default: from its file extension.")
@click.option("--sanitize", is_flag=True,
              help="Compiled languages: build with address and undefined-behaviour sanitizers (slower; "
                   "a runtime error says what went wrong).")
@judging_options
@sandbox_option
def judge(solution: str, problem_spec: str, hidden: bool, as_json: bool, repeat: int, lang: str | None,
          sanitize: bool, time_limit: float | None, memory_limit: int | None, checker: str | None,
          checker_style: str, sandbox_choice: str | None) -> None:
    """Run SOLUTION on PROBLEM's tests in the sandbox and show a verdict per test.

    The language comes from the file extension (.py Python, .cpp/.cc C++, .c C; --lang overrides,
    e.g. --lang pypy). Compiled languages are built once in the sandbox; the build time is shown
    apart and never counted in a test's time.

    Exit status: 0 when every test passes, 1 when any fails, 2 for bad input (missing files, a
    problem without tests, Docker not running with --sandbox docker).
    """
    from rich.text import Text

    from sandbox.compare import describe_rule

    from ..problems import load_problem

    from ..languages import check_kind

    source, language = read_program(solution, lang)
    problem = apply_judging_options(load_problem(problem_spec), time_limit, memory_limit, checker, checker_style)
    check_kind(problem, language, solution)
    if sanitize and not language.compiled:
        raise UserError(f"--sanitize: {language.name} is not compiled; the sanitizers are for C and C++")
    tests = _tests_for(problem, problem_spec, hidden)
    job = problem.job(source, tests=tests, repeat=repeat, language=language.id, sanitize=sanitize)
    if hidden and not problem.hidden_tests and not as_json:
        err_console.print(f"note: {problem_spec} has no hidden tests; running the visible ones",
                          soft_wrap=True, markup=False)
    if problem.requires and not as_json:
        err_console.print(f"note: the tests import {', '.join(problem.requires)}; if the sandbox lacks them "
                          "they fail with ImportError", soft_wrap=True, markup=False)
    with cli_sandbox(sandbox_choice, pool_size=1) as sb:  # one job at a time: one warm runner is enough
        if not as_json:
            where = "visible + hidden" if hidden else "visible"
            judged = f"; judged by {describe_rule(problem.judge)}" if problem.kind == "stdio" else ""
            built = " with sanitizers" if sanitize else ""
            console.print(Text(f"{problem.id}: {len(tests)} {where} tests ({problem.kind}), limits "
                               f"{describe_limits(problem, tests)}{judged}; {language.name}{built}; "
                               f"{sb.name} sandbox", style="dim"))
        if not as_json and err_console.is_terminal:
            with err_console.status(f"running {len(tests)} tests..."):
                report = sb.run(job)
        else:
            report = sb.run(job)
    if report.compile_error and job.filename:  # the compiler saw the sandbox's file name: show the user's
        report.compile_error = re.sub(rf"(?<![\w/.-]){re.escape(job.filename)}(?=:)", Path(solution).name,
                                      report.compile_error)
    if as_json:
        click.echo(json.dumps(json_document(problem, solution, report, tests, job.filename, repeat, language.id), indent=2))
    else:
        print_report(problem, report, tests, job.filename, repeat)
    sys.exit(0 if report.all_passed else 1)
