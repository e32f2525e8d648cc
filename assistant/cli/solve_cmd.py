"""`orps solve PROBLEM`: search for solutions and print the ranked candidates."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import UserError
from . import console, err_console, main
from .outputs import check_output_file, write_output
from .problem_options import apply_judging_options, judging_options
from .sandbox_cmd import cli_sandbox, sandbox_option

if TYPE_CHECKING:
    from ..engine.events import Event


def open_cli_model(spec: str | None):
    """The model a command asked for (or the configured default); errors are one line."""
    from ..config import load_settings
    from ..models import open_model
    from ..models.base import ModelError

    spec = spec or load_settings().model
    try:
        return open_model(spec)
    except ModelError as exc:
        raise UserError(str(exc)) from None


def output_path(problem_id: str, out: Path | None, language: str = "python") -> Path:
    """Where the best solution goes: --out as given, else a new file that clobbers nothing (named
    with the language's extension)."""
    if out is not None:
        return out
    from sandbox.languages import language as lookup

    from ..engine.programmer import slug
    lang = lookup(language)
    ext = lang.extensions[0] if lang.extensions else ".py"
    base = Path(f"{slug(problem_id)}.solution{ext}")
    candidate, n = base, 2
    while candidate.exists():
        candidate = base.with_name(f"{slug(problem_id)}.solution-{n}{ext}")
        n += 1
    return candidate


class Progress:
    """One line per event that matters, on stderr, so stdout stays clean for --json."""

    def __init__(self, quiet: bool):
        self.quiet = quiet

    def __call__(self, event: Event) -> None:
        from rich.markup import escape

        from ..textsafe import printable

        def safe(text: str | None) -> str:  # model and candidate text: shown, never markup
            return escape(printable(text))

        if self.quiet:
            if event.type == "notice" and event.level != "info":
                err_console.print(f"[yellow]{event.level}:[/] {safe(event.message)}", soft_wrap=True)
            return
        t = f"[dim]{event.t:6.1f}s[/]"
        if event.type == "node_created":
            origin = f"from {event.parent_id}" if event.parent_id else "new"
            if event.invalid:
                err_console.print(f"{t} {event.node_id} ({origin}, round {event.round}): [red]no program[/] - {safe(event.invalid)}")
            elif event.duplicate_of:
                err_console.print(f"{t} {event.node_id} ({origin}): same program as {event.duplicate_of}, not rerun")
        elif event.type == "node_executed":
            colour = "green" if event.passed == event.total and event.total else "yellow" if event.passed else "red"
            extra = f", generated {event.generated_passed}/{event.generated_total}" if event.generated_total else ""
            cpu = f", {event.cpu_ms:.1f} ms CPU" if event.cpu_ms is not None else ""
            ce = " [red]compile error[/]" if event.compile_error else ""
            err_console.print(f"{t} {event.node_id} ran: [{colour}]{event.passed}/{event.total} passed[/]{extra}{cpu}{ce}")
        elif event.type == "node_critiqued":
            score = f"{event.score}/5" if event.score is not None else "no score"
            err_console.print(f"{t} {event.node_id} critic {score}: {safe(event.summary)}", soft_wrap=True)
        elif event.type == "round_done":
            err_console.print(f"{t} [bold]round {event.round} done[/]: best {event.best_node_id} "
                              f"({event.best_pass_ratio:.0%} visible), beam {', '.join(event.beam)}")
        elif event.type == "notice":
            style = {"warning": "yellow", "error": "red"}.get(event.level, "cyan")
            err_console.print(f"{t} [{style}]{event.level}:[/] {safe(event.message)}", soft_wrap=True)
        elif event.type == "finished":
            err_console.print(f"{t} finished: {safe(event.stop_reason)}")


def print_ranking(result, out: Path | None, trace: Path | None, sources: bool = False) -> None:
    """The ranked table; `sources`: each node's column also names where it came from (orps rank)."""
    from rich.markup import escape
    from rich.table import Table

    from ..modes.solve import candidate_rows
    from ..textsafe import printable

    rows = candidate_rows(result)
    table = Table(title=escape(f"{result.problem_id}: {result.method} with {result.model}"), title_justify="left")
    for col, kw in [("#", {"justify": "right"}), ("node", {}), ("visible", {"justify": "right"}),
                    ("generated", {"justify": "right"}), ("CPU ms", {"justify": "right"}),
                    ("mem MB", {"justify": "right"}), ("complexity", {}), ("critic", {"overflow": "fold"})]:
        table.add_column(col, **kw)
    for r in rows[:15]:
        ok = r["visible_passed"] == r["visible_total"] and r["visible_total"]
        vis = f"[{'green' if ok else 'yellow'}]{r['visible_passed']}/{r['visible_total']}[/]"
        gen = f"{r['generated_passed']}/{r['generated_total']}" if r["generated_total"] else "-"
        cpu = f"{r['cpu_ms']:.1f}" if r["cpu_ms"] is not None else "-"
        mem = f"{r['peak_memory_mb']:.0f}" if r["peak_memory_mb"] else "-"
        critic = (f"{r['critic_score']}/5 " if r["critic_score"] is not None else "") + (r["critique"] or "")
        if r["compile_error"]:
            critic = "compile error: " + r["compile_error"].splitlines()[0]
        node = f"{r['id']} {escape(printable(r['strategy']))}" if sources else r["id"]
        table.add_row(str(r["rank"]), node, vis, gen, cpu, mem, r["complexity"] or "-", escape(printable(critic[:120])))
    console.print(table)
    invalid = sum(1 for n in result.nodes if n.status == "invalid")
    dup = sum(1 for n in result.nodes if n.status == "duplicate")
    b = result.budget
    console.print(f"{len(result.nodes)} candidates ({invalid} without a program, {dup} duplicates) · "
                  f"{b['calls']} model calls · {b['tokens']} tokens · {b['wall_s']:.1f}s · {result.stop_reason}")
    if result.suspect_tests:
        console.print(f"[yellow]suspect visible tests (likely wrong):[/] {', '.join(result.suspect_tests)}")
    if result.unverified:
        console.print("[yellow]unverified:[/] the problem has no tests; the result was checked only on generated tests")
    if out is not None:
        console.print(f"best solution ({result.best_node_id}) written to {escape(str(out))}")
    elif not rows:
        console.print("[red]no runnable candidate[/]")
    best = result.best
    if best is not None and best.execution is not None and best.execution.passed < best.execution.total:
        console.print(f"[yellow]the best candidate fails {best.execution.total - best.execution.passed} of "
                      f"{best.execution.total} visible tests[/]")
    if trace is not None:
        console.print(escape(f"trace: {trace}  (replay with --model replay:{trace})"), soft_wrap=True)


@main.command("solve")
@click.argument("problem")
@click.option("--model", "model_spec", help="embedded[:PATH.gguf] | ollama:NAME | openai:URL[,URL]#MODEL | replay:TRACE.jsonl")
@click.option("--method", type=click.Choice(["orps", "bon", "cot", "reflexion"]), default="orps", show_default=True)
@click.option("--budget", "max_calls", type=click.IntRange(1), default=None, help="Model-call budget (default 40).")
@click.option("--max-tokens", type=click.IntRange(1), default=None, help="Token budget.")
@click.option("--max-time", "max_wall_s", type=click.FloatRange(min=1), default=None, help="Wall-time budget, seconds.")
@click.option("--rounds", type=click.IntRange(0), default=None, help="Refinement rounds (R).")
@click.option("--beam", type=click.IntRange(1), default=None, help="Beam width (K).")
@click.option("--initial", type=click.IntRange(1), default=None, help="Round-0 candidates.")
@click.option("--parallel", type=click.IntRange(1), default=None, help="Concurrent model requests.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--lang", "lang", default=None, metavar="NAME",
              help="The language the model writes: python, pypy, cpp or c (default: the config's `language`, "
                   "else python). Function problems are Python only.")
@click.option("--no-generated-tests", is_flag=True, help="Do not ask the model for extra tests.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (schema in the README).")
@click.option("--out", type=click.Path(path_type=Path), help="Write the best solution here (default: a new file).")
@click.option("--force", is_flag=True, help="Let --out and --trace replace existing files.")
@click.option("--trace", "trace_path", type=click.Path(path_type=Path), help="Write the run trace here.")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines.")
@click.option("--tui", is_flag=True, help="Watch the search in the terminal UI.")
@judging_options
@sandbox_option
def solve_cmd(problem, model_spec, method, max_calls, max_tokens, max_wall_s, rounds, beam, initial, parallel,
              seed, lang, no_generated_tests, as_json, out, force, trace_path, quiet, tui, time_limit, memory_limit,
              checker, checker_style, sandbox_choice) -> None:
    """Search for solutions to PROBLEM and rank them by real execution.

    PROBLEM: a Kattis/ICPC problem package (problem.yaml, data/), an online-judge-tools directory, a
    Competitive Companion JSON file, a dataset record FILE.jsonl#ID, or a Markdown/text statement
    with sample blocks.

    Exit status: 0 when the best candidate passes every visible test, 1 when it does not (or there
    is no runnable candidate, or the problem has no tests to verify it), 2 for bad input.
    """
    import asyncio

    from rich.markup import escape

    from ..config import load_settings
    from ..engine.search import SearchConfig
    from ..languages import for_problem
    from ..modes.solve import default_trace_path, result_json, solve
    from ..problems import load_problem

    prob = apply_judging_options(load_problem(problem), time_limit, memory_limit, checker, checker_style)
    settings = load_settings()
    prob = for_problem(prob, lang, settings.language)
    overrides = {k: v for k, v in dict(method=method, max_calls=max_calls, max_tokens=max_tokens, max_wall_s=max_wall_s,
                                        rounds=rounds, beam=beam, initial=initial, parallel=parallel,
                                        seed=seed).items() if v is not None}
    if no_generated_tests:
        overrides["generated_tests"] = False
    config = SearchConfig(**overrides)
    if tui:
        from .tui_cmd import run_tui  # the TUI consumes the same engine API
        run_tui(mode="solve", problem=prob, config=config, model_spec=model_spec, sandbox_choice=sandbox_choice)
        return
    # every file this run writes is checked before the search, so nothing fails after it
    check_output_file(output_path(prob.id, out, prob.language), "--out" if out else "output", force)
    if trace_path is not None:
        check_output_file(trace_path, "--trace", force)
    trace = trace_path or default_trace_path(settings.runs_dir, prob, method)
    model = open_cli_model(model_spec)
    with cli_sandbox(sandbox_choice) as sb:
        if not quiet and not as_json:
            err_console.print(f"solving {prob.id} ({prob.kind}, {len(prob.visible_tests)} visible tests) in "
                              f"{escape(language_name(prob.language))} with {escape(model.spec)} \\[{method}], "
                              f"{sb.name} sandbox")
        try:
            result = asyncio.run(solve(prob, model, sb, config, on_event=Progress(quiet or as_json), trace=trace))
        finally:
            asyncio.run(model.aclose())
    written, write_error = None, None
    if result.best is not None and result.best.code:
        written = output_path(prob.id, out, prob.language)
        try:
            write_output(written, result.best.code, "--out" if out else "output")
        except UserError as exc:  # show the result first: the search is not lost
            written, write_error = None, exc
    if as_json:
        click.echo(json.dumps(result_json(result, written, trace), indent=2))
    else:
        print_ranking(result, written, trace)
    if write_error is not None:
        raise write_error
    sys.exit(0 if pick_passes(result) else 1)


def language_name(key: str) -> str:
    from sandbox.languages import language
    return language(key).name


def pick_passes(result) -> bool:
    """The exit-status rule: a pick that passes every visible test (at least one)."""
    best = result.best
    return best is not None and best.execution is not None and best.execution.total > 0 \
        and best.execution.passed == best.execution.total
