"""`orps fix [REPO] [-k EXPR | TEST_ID ...]`: ranked, sandbox-verified patches for failing tests."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..errors import UserError
from . import console, err_console, main
from .outputs import check_output_file
from .sandbox_cmd import sandbox_option, warn
from .solve_cmd import Progress, open_cli_model


class FixProgress(Progress):
    """The solve progress lines, with fix-mode wording for executed patches."""

    def __call__(self, event) -> None:
        if event.type == "node_executed" and not self.quiet:
            t = f"[dim]{event.t:6.1f}s[/]"
            ok = event.passed == event.total and event.total
            colour = "green" if ok and not event.regressions else "yellow" if event.passed else "red"
            extra = "" if event.regressions is None else \
                f", [red]{event.regressions} regressions[/]" if event.regressions else ", no regressions"
            err_console.print(f"{t} {event.node_id} ran: [{colour}]{event.passed}/{event.total} target tests pass[/]{extra}")
            return
        super().__call__(event)


def split_args(args: tuple[str, ...]) -> tuple[str, list[str]]:
    """REPO (an existing directory, optional) and the test ids after it.

    A first argument that names nothing on disk, outside any git repository, is a mistyped REPO,
    not a test id: that is the error to report."""
    items = list(args)
    if items and "::" not in items[0] and Path(items[0]).is_dir():
        return items[0], items[1:]
    if items and "::" not in items[0] and not Path(items[0]).exists() and not _in_git_repo(Path.cwd()):
        raise UserError(f"{items[0]}: no such repository directory (and the current directory is not in a git "
                        "repository, so it is no test id either)")
    return ".", items


def _in_git_repo(path: Path) -> bool:
    return any((p / ".git").exists() for p in (path, *path.parents))


def normalize_tests(snap, tests: list[str]) -> list[str]:
    """Test ids as pytest sees them from the repository's top level; unknown files are an error."""
    out = []
    for tid in tests:
        file, sep, rest = tid.partition("::")
        file = file.strip().lstrip("./") if not file.startswith("../") else file
        cands = [f"{snap.scope}/{file}" if snap.scope else file, file]
        found = next((c for c in cands if snap.has_file(c) or any(f.startswith(c.rstrip("/") + "/")
                                                                  for f in snap.files)), None)
        if found is None:
            raise UserError(f"{tid}: no such test file or directory in {snap.root}")
        out.append(found + sep + rest)
    return out


def print_result(result, saved: Path | None, trace: Path | None, show_diffs: int = 3) -> None:
    from rich.markup import escape
    from rich.syntax import Syntax
    from rich.table import Table

    from ..modes.fix.run import candidate_rows
    from ..textsafe import printable, shown

    base = result.baseline
    rows = candidate_rows(result)
    title = f"{Path(result.repo).name}: {len(result.targets)} failing test{'s' if len(result.targets) != 1 else ''}" \
        f" of {len(base.tests)}, patches by {result.model}"
    table = Table(title=escape(title), title_justify="left")
    for col, kw in [("#", {"justify": "right"}), ("node", {}), ("targets", {"justify": "right"}),
                    ("regressions", {"justify": "right"}), ("suite", {"justify": "right"}),
                    ("lines", {"justify": "right"}), ("time s", {"justify": "right"}), ("critique", {"overflow": "fold"})]:
        table.add_column(col, **kw)
    for r in rows[:15]:
        ok = r["targets_fixed"] == r["targets_total"]
        targets = f"[{'green' if ok else 'yellow' if r['targets_fixed'] else 'red'}]{r['targets_fixed']}/{r['targets_total']}[/]"
        reg = "-" if r["regressions"] is None else (f"[red]{len(r['regressions'])}[/]" if r["regressions"] else "[green]0[/]")
        suite = f"{r['suite_passed']}/{r['suite_total']}" if r["suite_total"] is not None else "-"
        t = f"{r['suite_time_s']:.2f}" if r["suite_time_s"] is not None else "-"
        critic = (f"{r['critic_score']}/5 " if r["critic_score"] is not None else "") + r["critique"]
        table.add_row(str(r["rank"]), r["id"], targets, reg, suite, str(r["diff_lines"]), t, shown(critic[:160]))
    console.print(table)
    for r in rows[:show_diffs]:
        console.print(f"[bold]#{r['rank']} {r['id']}[/] ({', '.join(r['files'])}, {r['diff_lines']} changed lines)")
        console.print(Syntax(printable(r["diff"].rstrip()), "diff", theme="ansi_dark", background_color="default"))
    invalid = sum(1 for n in result.nodes if n.status == "invalid")
    dup = sum(1 for n in result.nodes if n.status == "duplicate")
    b = result.budget
    console.print(f"{len(result.nodes)} candidates ({invalid} invalid edits, {dup} duplicates) · {b['calls']} model "
                  f"calls · {b['tokens']} tokens · {b['wall_s']:.1f}s · {result.stop_reason}")
    status = {"fixed": "[green]fixed[/]: the top patch makes every failing test pass with no regressions",
              "partial": "[yellow]partly fixed[/]: the top patch fixes some failing tests",
              "not_fixed": "[red]not fixed[/]: no patch made a failing test pass"}[result.status]
    console.print(status)
    if rows:
        repo = result.repo if Path(result.repo).resolve() != Path.cwd().resolve() else "."
        console.print(f"your working tree is unchanged; apply one with: orps fix {escape(repo)} --apply N [--commit]")
    if trace is not None:
        console.print(f"trace: {trace}", soft_wrap=True)


def json_error(message: str) -> None:
    """Under --json, bad input still leaves a JSON document on stdout (the one-line error goes to stderr)."""
    click.echo(json.dumps({"schema": 1, "mode": "fix", "status": "error", "error": message}, indent=2))


class FixCommand(click.Command):
    """`orps fix`, whose --json promise holds for bad input too: usage errors and user errors print a
    JSON error document on stdout before the usual one-line error and exit 2."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        as_json = "--json" in args  # the parser consumes `args`
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            if as_json:
                json_error(exc.format_message())
            raise

    def invoke(self, ctx: click.Context):
        from sandbox.api import SandboxError
        try:
            return super().invoke(ctx)
        except (UserError, SandboxError, click.UsageError) as exc:
            if ctx.params.get("as_json"):
                json_error(exc.format_message() if isinstance(exc, click.UsageError) else str(exc))
            raise


@main.command("fix", cls=FixCommand)
@click.argument("args", nargs=-1, metavar="[REPO] [TEST_ID]...")
@click.option("-k", "keyword", help="Only fix the failing tests matching this pytest -k expression.")
@click.option("--model", "model_spec", help="embedded[:PATH.gguf] | ollama:NAME | openai:URL[,URL]#MODEL | replay:TRACE.jsonl")
@click.option("--budget", "max_calls", type=click.IntRange(1), default=None, help="Model-call budget (default 20).")
@click.option("--max-time", "max_wall_s", type=click.FloatRange(min=1), default=None, help="Wall-time budget, seconds.")
@click.option("--rounds", type=click.IntRange(0), default=None, help="Refinement rounds.")
@click.option("--initial", type=click.IntRange(1), default=None, help="Round-0 patches.")
@click.option("--beam", type=click.IntRange(1), default=None, help="Beam width.")
@click.option("--parallel", type=click.IntRange(1), default=None, help="Concurrent model requests.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--timeout", "per_test_timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Per-test timeout in seconds (pytest-timeout).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (schema in assistant/modes/fix/README.md).")
@click.option("--apply", "apply_rank", type=click.IntRange(1), default=None,
              help="Apply patch N of the last `orps fix` run on REPO to the working tree (no new search).")
@click.option("--commit", is_flag=True, help="With --apply: commit the patch on a new branch.")
@click.option("--trace", "trace_path", type=click.Path(path_type=Path), help="Write the run trace here.")
@click.option("--force", is_flag=True, help="Let --trace replace an existing file.")
@click.option("--rebuild-env", is_flag=True, help="Rebuild the test environment image even if it is cached.")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines.")
@click.option("--tui", is_flag=True, help="Watch the search and apply a patch in the terminal UI.")
@sandbox_option
def fix_cmd(args, keyword, model_spec, max_calls, max_wall_s, rounds, initial, beam, parallel, seed, per_test_timeout,
            as_json, apply_rank, commit, trace_path, force, rebuild_env, quiet, tui, sandbox_choice) -> None:
    """Propose patches for REPO's failing pytest tests, run each against the whole suite in the
    sandbox, and rank them. Your working tree is not touched until you --apply one.

    REPO defaults to the current directory; TEST_IDs (pytest node ids) or -k narrow which failing
    tests to fix (the whole suite still guards against regressions).

    fix works on Python repositories with pytest suites only (C and C++ are judged and solved by
    `orps judge` and `orps solve --lang`, not fixed).

    Exit status: 0 when the top patch fixes every target with no regressions (or no test fails, or
    --apply succeeded), 1 when no patch does, 2 for bad input.
    """
    import asyncio

    from rich.markup import escape

    from ..config import load_settings
    from ..modes.fix import FixConfig, prepared, result_json, run_fix, save_run
    from ..modes.fix.pytest_run import PytestOptions
    from ..modes.fix.run import apply_candidate, default_trace_path

    repo, tests = split_args(args)
    settings = load_settings()
    if commit and apply_rank is None:
        raise click.UsageError("--commit needs --apply N (it commits the applied patch)")
    if apply_rank is not None:
        if tests or keyword:
            raise click.UsageError("--apply N applies a patch from the last run; it takes no test selection")
        cand, applied = apply_candidate(settings.runs_dir, repo, apply_rank, commit=commit)
        for text in applied.warnings:
            err_console.print(f"[yellow]warning:[/] {escape(text)}", soft_wrap=True)
        if as_json:
            click.echo(json.dumps({"schema": 1, "applied": cand["id"], "rank": apply_rank, "files": applied.files,
                                   "branch": applied.branch, "commit": applied.commit,
                                   "warnings": applied.warnings}, indent=2))
        else:
            console.print(f"applied patch #{apply_rank} ({cand['id']}) to {', '.join(applied.files)}")
            if applied.commit:
                console.print(f"committed {applied.commit[:12]} on new branch {applied.branch}: "
                              f"{applied.message.splitlines()[0]}")
        return
    overrides = {k: v for k, v in dict(max_calls=max_calls, max_wall_s=max_wall_s, rounds=rounds, initial=initial,
                                        beam=beam, parallel=parallel, seed=seed).items() if v is not None}
    config = FixConfig(**overrides, pytest=PytestOptions(per_test_timeout=per_test_timeout))
    if tui:
        from .tui_cmd import run_tui  # the TUI drives the same fix mode through its events
        run_tui(mode="fix", repo=repo, tests=list(tests) or None, keyword=keyword, config=config,
                model_spec=model_spec, sandbox_choice=sandbox_choice)
        return
    if trace_path is not None:
        check_output_file(trace_path, "--trace", force)
    model = open_cli_model(model_spec)
    from ..textsafe import shown
    say = (lambda s: None) if (quiet or as_json) else (lambda s: err_console.print(shown(s), soft_wrap=True))
    trace = None
    try:
        with prepared(repo, settings.sandbox, sandbox_choice, warn=warn, progress=say,
                      rebuild=rebuild_env) as prep:
            snap = prep.snap
            tests = normalize_tests(snap, tests)
            if snap.dirty:
                say(f"working on your uncommitted changes ({len(snap.modified)} modified, {len(snap.untracked)} "
                    "untracked files) in a private copy; your working tree is not touched")
            say(f"fixing {snap.root} at {snap.head[:12] if snap.head else 'no commit'} with {model.spec}; "
                f"tests: {prep.env.description}")
            trace = trace_path or default_trace_path(settings.runs_dir, snap.root)
            result = asyncio.run(run_fix(prep, model, config, tests=tests, keyword=keyword,
                                         on_event=FixProgress(quiet or as_json), trace=trace))
    finally:
        asyncio.run(model.aclose())
    if result.status == "all_pass":
        if as_json:
            click.echo(json.dumps(result_json(result), indent=2))
        else:
            console.print(result.stop_reason)
        sys.exit(0)
    saved = save_run(result, settings.runs_dir)
    if as_json:
        click.echo(json.dumps(result_json(result, trace if trace and trace.exists() else None, saved), indent=2))
    else:
        print_result(result, saved, trace if trace and trace.exists() else None)
    sys.exit(0 if result.status == "fixed" else 1)
