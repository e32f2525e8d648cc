"""`orps hint PROGRAM --problem PROBLEM`: tutor-style hints for a buggy program, checked by execution."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import UserError
from . import console, err_console, main
from .judge_cmd import read_solution
from .sandbox_cmd import cli_sandbox, sandbox_option
from .solve_cmd import Progress, open_cli_model

if TYPE_CHECKING:
    from ..engine.events import Event

MAX_FAILING_SHOWN = 5


def out(*objects) -> None:
    """stdout without hard wrapping: a terminal wraps long lines, a pipe keeps them whole.
    Programs' and models' text is data: control characters are shown, never sent to the terminal."""
    from ..textsafe import pictured
    for obj in objects:
        if hasattr(obj, "plain"):
            obj.plain = pictured(obj.plain)
    console.print(*[pictured(o) if isinstance(o, str) else o for o in objects], soft_wrap=True)


class HintProgress(Progress):
    """The solve progress lines, plus the hint mode's own stages (all on stderr)."""

    def __call__(self, event: Event) -> None:
        from ..textsafe import shown

        if self.quiet or event.type in ("node_created", "node_executed", "node_critiqued", "round_done", "notice",
                                        "finished"):
            if event.type != "finished":
                super().__call__(event)
            return
        t = f"[dim]{event.t:6.1f}s[/]"
        if event.type == "hint_stage":
            err_console.print(f"{t} [bold]{event.stage}[/]: {shown(event.message)}", soft_wrap=True)
        elif event.type == "repair_chosen":
            if event.node_id:
                err_console.print(f"{t} repair {event.node_id}: {event.distance} tokens changed "
                                  f"({event.passing} of {event.candidates} candidates pass every test)")
            else:
                err_console.print(f"{t} [yellow]no repair passes every test[/] ({event.candidates} candidates)")
        elif event.type == "hint_drafted" and not event.accepted:
            err_console.print(f"{t} hint {event.level} draft {event.attempt} rejected: {shown(event.reason or '')}",
                              soft_wrap=True)
        elif event.type == "hint_drafted" and event.source == "template":
            err_console.print(f"{t} hint {event.level}: built from the test results (no tutor draft passed the guards)")
        elif event.type == "student_attempt":
            label = f"with hint {event.level}" if event.level else "without a hint"
            mark = "[green]fixed[/]" if event.passed else "[red]not fixed[/]"
            err_console.print(f"{t} student {label}, try {event.attempt}: {mark} ({shown(event.detail)})", soft_wrap=True)


def _failing_summary(result, program: str) -> None:
    from rich.text import Text

    check = result.check
    if check.compile_error:
        s = check.syntax
        where = f"line {s.line}: " if s and s.line else ""
        out(Text.assemble((f"{program} does not compile: ", "bold red"),
                                    f"{where}{s.message if s else check.compile_error}"))
        if s and s.text:
            out(Text(f"  {s.line:>4} | {s.text}"))
            if s.column:
                out(Text(" " * (9 + max(0, s.column - 1)) + "^", style="red"))
        return
    out(Text.assemble((f"{program}: ", "bold"),
                                (f"{check.passed}/{check.total} tests pass", "bold red" if check.failing else "bold green"),
                                f" on {result.problem}"))
    kind_label = "test" if any("\n" in f.test or f.test.startswith("assert") for f in check.failing) else "input"
    for f in check.failing[:MAX_FAILING_SHOWN]:
        out(Text.assemble("  ", (f.verdict, "bold red"), f"  {f.name}"))
        if f.test:
            lines = f.test.splitlines()
            shown = lines[-3:] if len(lines) > 3 else lines
            prefix = f"      {kind_label}: "
            for i, ln in enumerate(shown):
                out(Text((prefix if i == 0 else " " * len(prefix)) + ln))
        if f.expected is not None or f.actual is not None:
            out(Text(f"      expected: {f.expected}"))
            out(Text(f"      actual:   {f.actual}"))
        if f.error:
            where = f" (program line {f.program_line})" if f.program_line else ""
            out(Text(f"      error: {f.error}{where}"))
    if len(check.failing) > MAX_FAILING_SHOWN:
        out(Text(f"  ... and {len(check.failing) - MAX_FAILING_SHOWN} more failing tests", style="dim"))


def _validation_text(h) -> tuple[str, str]:
    v = h.validation
    if v is None:
        return "not validated", "dim"
    figures = f"student model fixed it {v.with_hint}/{v.k} times with this hint, {v.without_hint}/{v.k} without"
    return (f"validated: {figures}", "green") if v.kept else (f"not kept: {figures}", "yellow")


def print_result(result, program: str, level: int, show_dropped: bool, show_repair: bool) -> None:
    from rich.text import Text

    from ..modes.hint import LEVELS
    _failing_summary(result, program)
    if result.status == "correct":
        out(Text(f"{program} already passes every test: there is nothing to hint.", style="bold green"))
        return
    out()
    if result.repair is not None:
        r = result.repair
        lines = ", ".join(map(str, r.lines[:6]))
        out(Text(f"a verified repair changes {r.distance} token{'s' if r.distance != 1 else ''} "
                           f"(line{'s' if len(r.lines) != 1 else ''} {lines}); "
                           + ("shown below" if show_repair else "kept private (--show-repair shows it)"), style="dim"))
        if show_repair:
            out(Text(r.diff.rstrip()))
    else:
        out(Text("no repair passing every test was found: hints rest on the failing tests only",
                           style="yellow"))
    for h in result.ladder[:level]:
        name = LEVELS[h.level][0]
        out()
        if not h.text:
            out(Text.assemble((f"Hint {h.level} · {name}: ", "bold"),
                                        ("no hint at this level (every draft broke a rule)", "yellow")))
            continue
        status, style = _validation_text(h)
        if h.kept is False and not show_dropped:
            out(Text.assemble((f"Hint {h.level} · {name}: ", "bold"), (f"withheld, {status}", style),
                                        (" (--show-dropped prints it)", "dim")))
            continue
        origin = {"template": ", built from the test results", "syntax": ""}.get(h.source, "")
        out(Text.assemble((f"Hint {h.level} · {name}", "bold cyan"), (f"  [{status}{origin}]", style)))
        for para in h.text.split("\n"):
            out(Text("  " + para))
    out()
    if result.k and result.student_model:
        out(Text(f"validation: {result.k} repairs by {result.student_model} with each hint and "
                           f"{result.k} without; a hint is kept only when it raises the number that pass", style="dim"))
    nxt = level + 1
    if nxt <= 4 and result.status != "correct":
        out(Text(f"next: run again with --level {nxt} for hint {nxt} ({LEVELS[nxt][0]})", style="dim"))
    if result.status == "no_hint":
        out(Text("no hint survived validation at these levels", style="yellow"))


@main.command("hint")
@click.argument("program")
@click.option("-p", "--problem", "problem_spec", metavar="PROBLEM",
              help="Any problem orps loads (oj-tools directory, Competitive Companion .json, FILE.jsonl#ID, "
                   "statement .md/.txt with samples); with --tests, its statement.")
@click.option("--tests", "tests_spec", metavar="FILE",
              help="Tests to check against: a Python file of asserts / test_* functions, a JSON or JSONL list of "
                   "{input, output}, or a folder of NAME.in/NAME.out.")
@click.option("--level", type=click.IntRange(1, 4), default=1, show_default=True,
              help="Reveal the ladder up to this level: 1 nudge, 2 concept, 3 location, 4 partial code.")
@click.option("--model", "model_spec", help="The tutor model (repair and hints); default: the configured model.")
@click.option("--student-model", "student_spec", metavar="SPEC",
              help="The student model that validates each hint (default: the tutor model).")
@click.option("--k", "k", type=click.IntRange(0, 50), default=4, show_default=True,
              help="Student repairs with each hint and without it; 0 skips validation.")
@click.option("--budget", "max_calls", type=click.IntRange(1), default=None,
              help="Model-call budget of the tutor (default 40).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--show-dropped", is_flag=True, help="Also print hints that validation did not keep.")
@click.option("--show-repair", is_flag=True, help="Print the verified repair (for teachers); JSON then carries its code.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (schema: assistant/modes/hint/README.md).")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines.")
@click.option("--tui", is_flag=True, help="Reveal the hints one level at a time in the terminal UI.")
@sandbox_option
def hint_cmd(program, problem_spec, tests_spec, level, model_spec, student_spec, k, max_calls, seed, show_dropped,
             show_repair, as_json, quiet, tui, sandbox_choice) -> None:
    """Hints that lead to the fix of the buggy PROGRAM without handing over the code.

    The program runs on the tests; a verified smallest repair is found; hints are written level
    by level (nudge, concept, location, partial code) without quoting the fix, and each one is
    kept only if a student model repairs the program more often with it than without.

    hint works on Python programs only (a .cpp or .c file is refused in one line; `orps judge`
    runs C and C++ solutions, `orps solve --lang cpp` writes them).

    Exit status: 0 when hints are shown or the program already passes, 1 when no hint survived,
    2 for bad input (missing files, no tests, a model or sandbox that cannot start).
    """
    import asyncio

    from rich.markup import escape

    from ..modes.hint import HintConfig, hint, hint_problem, result_json

    if problem_spec is None and tests_spec is None:
        raise UserError("no problem given: pass --problem PROBLEM (with tests), or a statement with --tests FILE")
    source = read_solution(program, "orps hint")
    overrides = {"max_tutor_calls": max_calls} if max_calls else {}
    config = HintConfig(max_level=level, k=k, seed=seed, **overrides)
    with cli_sandbox(sandbox_choice) as sb:
        prob = asyncio.run(hint_problem(problem_spec, tests_spec, program, sb, source))
        if not prob.visible_tests:
            where = prob.source or problem_spec or tests_spec
            raise UserError(f"{where}: the problem has no tests; a hint needs a check: add sample tests or pass "
                            "--tests FILE")
        if tui:
            from .tui_cmd import run_tui  # the TUI drives the same hint session through its events
            run_tui(mode="hint", problem=prob, program=source, program_name=Path(program).name, config=config,
                    model_spec=model_spec, student_spec=student_spec, sandbox_choice=sandbox_choice)
            return
        tutor = open_cli_model(model_spec)
        student = None
        try:
            if student_spec and student_spec != (model_spec or tutor.spec):
                student = open_cli_model(student_spec)
            if not quiet and not as_json:
                who = escape(tutor.spec) + (f", student {escape(student.spec)}" if student else "")
                err_console.print(f"hints for {escape(program)} on {escape(prob.id)} ({len(prob.visible_tests)} tests) "
                                  f"with {who}, {sb.name} sandbox")
            result = asyncio.run(hint(source, prob, tutor, student, sb, config,
                                      on_event=HintProgress(quiet or as_json)))
        finally:
            async def close():
                await tutor.aclose()
                if student is not None:
                    await student.aclose()
            asyncio.run(close())
    if as_json:
        click.echo(json.dumps(result_json(result, program, show_repair), indent=2))
    else:
        print_result(result, program, level, show_dropped, show_repair)
    sys.exit(1 if result.status == "no_hint" else 0)
