"""Options that change how a problem is judged (limits, a checker), shared by `orps judge` and `orps solve`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import UserError

if TYPE_CHECKING:
    from ..problems import Problem

time_limit_option = click.option(
    "--time-limit", "time_limit", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
    help="CPU time limit per test, replacing the problem's (and each test set's own).")
memory_limit_option = click.option(
    "--memory-limit", "memory_limit", type=click.IntRange(min=1), default=None, metavar="MB",
    help="Memory limit per test in MiB, replacing the problem's (and each test set's own).")


checker_option = click.option(
    "--checker", "checker", default=None, metavar="FILE",
    help="Judge outputs with this checker instead of comparing them: Python, or C++/C (compiled once "
         "in the sandbox). testlib convention: checker input output answer, exit 0 accepted, 1 wrong.")
checker_style_option = click.option(
    "--checker-style", type=click.Choice(["testlib", "kattis"]), default="testlib", show_default=True,
    help="kattis: validator input answer feedback_dir < output, exit 42 accepted, 43 wrong.")


def judging_options(command):
    """--time-limit, --memory-limit, --checker and --checker-style."""
    return time_limit_option(memory_limit_option(checker_option(checker_style_option(command))))


def apply_judging_options(problem: Problem, time_limit: float | None, memory_limit: int | None,
                 checker: str | None = None, checker_style: str = "testlib") -> Problem:
    """The problem as the command line changes it: limits replaced, a checker given."""
    problem = problem.with_limits(time_s=time_limit, memory_mb=memory_limit)
    if checker is None:
        return problem
    if problem.kind != "stdio":
        raise UserError(f"--checker {checker}: problem {problem.id} is a function problem (its tests are "
                        "asserts); a checker judges stdin/stdout programs")
    path = Path(checker).expanduser()
    from sandbox.api import JudgeSpec
    from sandbox.languages import for_filename

    from ..problems.loaders import read_text
    from ..problems.packages import read_checker
    lang = for_filename(path.name)
    if lang is None:
        from ..languages import supported
        raise UserError(f"--checker {checker}: no language for {path.suffix or 'extensionless'} files; a checker "
                        f"is in one of {supported()}")
    if lang.id == "python":
        source = read_checker(path, checker)
    else:  # compiled in the sandbox; a compile error is reported on the first checked test
        source = read_text(path, checker)
    judge = JudgeSpec(checker=source, checker_style=checker_style, checker_name=checker, checker_language=lang.id)
    problem = problem.model_copy(update={"judge": judge})
    # the command line's checker judges every test, whatever a test group said before
    problem.visible_tests = [t.model_copy(update={"judge": None}) for t in problem.visible_tests]
    problem.hidden_tests = [t.model_copy(update={"judge": None}) for t in problem.hidden_tests]
    return problem


def describe_limits(problem: Problem, tests) -> str:
    """The limits line of a run header: one limit, or the range over test sets; says when a time
    limit is orps's default because the problem states none."""
    limits = [problem.test_limits(t) for t in tests] or [problem.limits()]
    cpus = sorted({lim.cpu_s for lim in limits})
    mems = sorted({lim.memory_mb for lim in limits})
    cpu = f"{cpus[0]:g}s CPU" if len(cpus) == 1 else f"{cpus[0]:g}-{cpus[-1]:g}s CPU by test set"
    mem = f"{mems[0]} MB" if len(mems) == 1 else f"{mems[0]}-{mems[-1]} MB by test set"
    default = " (default: the problem states no time limit)" if problem.time_limit_s is None else ""
    return f"{cpu}{default}, {mem}"
