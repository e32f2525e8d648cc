"""Options that change how a problem is judged, shared by `orps judge` and `orps solve`."""

from __future__ import annotations

import click

from ..problems import Problem

time_limit_option = click.option(
    "--time-limit", "time_limit", type=click.FloatRange(min=0, min_open=True), default=None, metavar="SECONDS",
    help="CPU time limit per test, replacing the problem's (and each test set's own).")
memory_limit_option = click.option(
    "--memory-limit", "memory_limit", type=click.IntRange(min=1), default=None, metavar="MB",
    help="Memory limit per test in MiB, replacing the problem's (and each test set's own).")


def limit_options(command):
    return time_limit_option(memory_limit_option(command))


def apply_limits(problem: Problem, time_limit: float | None, memory_limit: int | None) -> Problem:
    return problem.with_limits(time_s=time_limit, memory_mb=memory_limit)


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
