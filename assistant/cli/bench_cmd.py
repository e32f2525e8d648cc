"""`orps bench`: run a method over a dataset, score picks on hidden tests; `--report` compares runs."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..errors import UserError
from . import err_console, main
from .sandbox_cmd import cli_sandbox, sandbox_option


def _problem_line(i: int, n: int, problem, rec: dict, resumed: bool) -> str:
    from rich.markup import escape

    head = f"[{i}/{n}] {escape(problem.id)}:"
    if resumed:
        verdict = "[green]pass[/]" if rec.get("passed") else "[red]fail[/]"
        return f"{head} {verdict} (already in the results file)"
    if rec.get("no_candidate"):
        verdict = "[red]no runnable candidate[/]"
    elif rec.get("passed"):
        verdict = f"[green]pass[/] hidden {rec['hidden_passed']}/{rec['hidden_total']}"
    else:
        verdict = f"[red]fail[/] hidden {rec['hidden_passed']}/{rec['hidden_total']}"
    eff = f", efficiency {rec['efficiency']:.2f}x" if rec.get("efficiency") is not None else ""
    return (f"{head} {verdict}{eff} · visible {rec.get('pick_visible') or '-'} · {rec['calls']} calls · "
            f"{rec['tokens']} tokens · {rec['wall_s']:.1f}s")


@main.command("bench")
@click.argument("report_files", nargs=-1, type=click.Path(path_type=Path), metavar="[RESULTS.jsonl ...]")
@click.option("--dataset", type=click.Path(path_type=Path), help="Dataset file (JSON Lines of function/stdio records).")
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N records of the file.")
@click.option("--ids", default=None, help="Only these record ids, comma-separated.")
@click.option("--method", type=click.Choice(["orps", "bon", "cot", "reflexion"]), default="orps", show_default=True)
@click.option("--model", "model_spec", help="embedded[:PATH.gguf] | ollama:NAME | openai:URL[,URL]#MODEL | replay:TRACE.jsonl")
@click.option("--budget", "max_calls", type=click.IntRange(1), default=None,
              help="Model-call budget per problem (default 40).")
@click.option("--parallel", type=click.IntRange(1), default=None, help="Concurrent model requests.")
@click.option("--out", type=click.Path(path_type=Path),
              help="Results file (JSONL, appended; traces go to RESULTS.traces/). Default: one file per "
                   "dataset, method, model and budget in the data directory.")
@click.option("--fresh", is_flag=True, help="Start over: drop this configuration's earlier results.")
@click.option("--report", "report", is_flag=True,
              help="Print the comparison table of existing results files (given as arguments); run nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--markdown", "as_markdown", is_flag=True, help="Print a Markdown table (the default).")
@click.option("-q", "--quiet", is_flag=True, help="No per-problem progress lines.")
@sandbox_option
def bench_cmd(report_files, dataset, limit, ids, method, model_spec, max_calls, parallel, out, fresh, report,
              as_json, as_markdown, quiet, sandbox_choice) -> None:
    """Benchmark a method on a dataset: pass@1 and efficiency on HIDDEN tests.

    The search sees only visible tests; its pick is scored on the hidden ones. Runs resume:
    problems already in the results file are not run again (--fresh starts over).

    \b
    orps bench --dataset humaneval.jsonl --limit 20 --method bon --budget 4 --out bon.jsonl
    orps bench --report orps.jsonl bon.jsonl cot.jsonl
    """
    import asyncio

    from rich.markup import escape

    from .. import bench
    from ..engine.search import SearchConfig

    if as_json and as_markdown:
        raise UserError("--json and --markdown: choose one output format")
    if report:
        if dataset is not None or ids is not None or limit is not None or out is not None or fresh:
            raise UserError("--report only reads results files: it takes no --dataset, --ids, --limit, --out or --fresh")
        doc = bench.report_document(list(report_files))
        if as_json:
            click.echo(json.dumps(doc, indent=2))
        else:
            click.echo(bench.markdown_table(doc["rows"], doc["notes"]), nl=False)
        return
    if report_files:
        raise UserError(f"unexpected argument '{report_files[0]}': use --dataset FILE to run, "
                        "or --report RESULTS.jsonl ... to compare results")
    if dataset is None:
        raise UserError("no dataset: pass --dataset FILE.jsonl (or --report RESULTS.jsonl ... for a table)")

    selection = bench.select_records(dataset, limit=limit, ids=bench.parse_ids(ids), display=str(dataset))
    overrides = {k: v for k, v in dict(method=method, max_calls=max_calls, parallel=parallel).items() if v is not None}
    config = SearchConfig(**overrides)

    from ..config import data_dir
    from .solve_cmd import open_cli_model

    model = open_cli_model(model_spec)
    results_path = out or bench.default_results_path(data_dir() / "bench", dataset, method, model.spec,
                                                     config.max_calls)
    if results_path.exists() and results_path.is_dir():
        raise UserError(f"{results_path}: is a directory; --out needs a results file (RESULTS.jsonl)")
    progress = not quiet

    def on_start(i, n, problem):
        if progress:
            err_console.print(f"[dim][{i}/{n}] {escape(problem.id)}: solving ({len(problem.visible_tests)} visible, "
                              f"{len(problem.hidden_tests)} hidden tests)...[/]")

    def on_done(i, n, problem, rec, resumed):
        if progress:
            err_console.print(_problem_line(i, n, problem, rec, resumed), soft_wrap=True)

    with cli_sandbox(sandbox_choice) as sb:
        if progress:
            err_console.print(f"bench: {len(selection.problems)} problems from {escape(str(dataset))} "
                              f"({len(selection.skipped)} skipped) · {method} · {escape(model.spec)} · "
                              f"budget {config.max_calls} calls · {sb.name} sandbox")
            err_console.print(f"results: {escape(str(results_path))}", soft_wrap=True)
            for s in selection.skipped:
                err_console.print(f"[yellow]skipped[/] {escape(s['id'])}: {escape(s['reason'])}", soft_wrap=True)

        async def go():
            try:
                return await bench.run_bench(selection, model, sb, config, results_path, fresh=fresh,
                                             on_start=on_start, on_done=on_done)
            finally:
                await model.aclose()

        run = asyncio.run(go())
    doc = run.document()
    if as_json:
        click.echo(json.dumps(doc, indent=2))
        return
    rows = [doc["summary"]]
    click.echo(bench.markdown_table(rows, bench.report_notes(rows)), nl=False)
    skipped = ", ".join(f"{n} {reason}" for reason, n in doc["skipped_reasons"].items())
    err_console.print(f"{doc['benchmarked']} problems ({run.ran} run now, {run.resumed} from the results file)"
                  + (f"; {doc['skipped_count']} skipped: {escape(skipped)}" if doc["skipped_count"] else "")
                  + (f"; {run.ignored_lines} unreadable lines ignored" if run.ignored_lines else ""), soft_wrap=True)
    err_console.print(f"results: {escape(str(results_path))} · traces: {escape(str(bench.traces_dir(results_path)))}",
                  soft_wrap=True)
