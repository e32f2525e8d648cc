"""`orps tui [PROBLEM|REPO]`: the terminal UI, on the start screen or straight on a problem."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ..errors import UserError
from . import main
from .sandbox_cmd import sandbox_option


def check_model_option(spec: str | None) -> None:
    """A --model that names no usable model is a one-line error before the UI takes the screen."""
    if spec is None:
        return
    from ..models import check_spec
    from ..models.base import ModelError

    try:
        check_spec(spec)
    except ModelError as exc:
        raise UserError(f"--model {spec}: {exc}") from None


def run_tui(**kw: Any) -> None:
    """Run the terminal UI; a crash inside it (Textual prints the traceback) exits non-zero."""
    import tui.app

    check_model_option(kw.get("model_spec"))
    code = tui.app.run_app(**kw)
    if code:
        sys.exit(code)


@main.command("tui")
@click.argument("target", required=False)
@click.option("--model", "model_spec", help="embedded[:PATH.gguf] | ollama:NAME | openai:URL[,URL]#MODEL | replay:TRACE.jsonl")
@click.option("--method", type=click.Choice(["orps", "bon", "cot", "reflexion"]), default=None)
@click.option("--budget", "max_calls", type=click.IntRange(1), default=None, help="Model-call budget.")
@click.option("--max-tokens", type=click.IntRange(1), default=None, help="Token budget.")
@click.option("--max-time", "max_wall_s", type=click.FloatRange(min=1), default=None, help="Wall-time budget, seconds.")
@click.option("--rounds", type=click.IntRange(0), default=None, help="Refinement rounds (R).")
@click.option("--beam", type=click.IntRange(1), default=None, help="Beam width (K).")
@click.option("--initial", type=click.IntRange(1), default=None, help="Round-0 candidates.")
@click.option("--original", type=click.Path(path_type=Path, dir_okay=False),
              help="Your own program: the diff tab compares candidates with it.")
@click.option("--program", type=click.Path(path_type=Path, dir_okay=False),
              help="Hint mode: your program for PROBLEM; hints are revealed one at a time.")
@click.option("--no-companion", is_flag=True, help="Do not listen for Competitive Companion.")
@sandbox_option
def tui_cmd(target, model_spec, method, max_calls, max_tokens, max_wall_s, rounds, beam, initial, original,
            program, no_companion, sandbox_choice) -> None:
    """Open the terminal UI; with PROBLEM, start solving it at once.

    PROBLEM is anything `orps solve` takes; with --program FILE the TUI gives hints on FILE for
    PROBLEM instead. A git repository (REPO) opens in fix mode: ranked patches for its failing
    tests. Without an argument the start screen opens: a problem file, a repository, a pasted
    statement, recent runs, and problems pushed by Competitive Companion (127.0.0.1:27121 by
    default; the port is in the settings).
    """
    from tui.prefs import load_prefs

    from ..problems import load_problem
    from ..problems.loaders import read_text

    original_code = read_text(original, str(original)) if original else None
    overrides = {k: v for k, v in dict(method=method, max_calls=max_calls, max_tokens=max_tokens,
                                        max_wall_s=max_wall_s, rounds=rounds, beam=beam,
                                        initial=initial).items() if v is not None}
    if target is None:
        if overrides:
            raise UserError("budget and search options need a PROBLEM (or set them in the settings screen)")
        run_tui(model_spec=model_spec, sandbox_choice=sandbox_choice, original=original_code,
                companion=not no_companion)
        return
    path = Path(target).expanduser()
    prefs = load_prefs()
    common = dict(model_spec=model_spec, sandbox_choice=sandbox_choice, companion=not no_companion)
    try:
        problem = load_problem(target)
    except UserError:
        if not (path.is_dir() and (path / ".git").exists()) or program is not None:
            raise
        from ..modes.fix import FixConfig
        fix_keys = ("max_calls", "max_tokens", "max_wall_s", "rounds", "beam", "initial")
        values = {k: getattr(prefs, k) for k in fix_keys} | {k: v for k, v in overrides.items() if k in fix_keys}
        if "method" in overrides:
            raise UserError("--method is for solving problems; fix mode has its own patch search") from None
        run_tui(mode="fix", repo=path, config=FixConfig(**values), **common)
        return
    if program is not None:
        from ..modes.hint import HintConfig
        source = read_text(program, str(program))
        config = HintConfig(max_level=4, max_tutor_calls=overrides.get("max_calls", prefs.max_calls))
        run_tui(mode="hint", problem=problem, program=source, program_name=program.name, config=config, **common)
        return
    config = prefs.search_config(**overrides)
    run_tui(mode="solve", problem=problem, config=config, original=original_code, **common)
