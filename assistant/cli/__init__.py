"""The `orps` command line. Each command group lives in its own module and registers here.

Start-up stays fast (`orps --version`, `orps judge --help`): this package and the command modules
import only click at the top; rich, pydantic, the engine and the sandbox are imported inside the
functions that use them (`benchmarks/cli_startup.py` measures it).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from .. import __version__
from ..errors import UserError


class _LazyConsole:
    """A rich Console made on first use, so that importing the CLI does not import rich."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console
            self._console = Console(highlight=False, **self._options)
        return getattr(self._console, name)


console: Any = _LazyConsole()
err_console: Any = _LazyConsole(stderr=True)


def fail(message: str, code: int = 2) -> None:
    """Print one clear line and exit: the shape of every user-facing error."""
    from rich.markup import escape

    err_console.print(f"[bold red]orps: error:[/] {escape(message)}", soft_wrap=True)
    sys.exit(code)


class OrpsGroup(click.Group):
    """Turns user errors (bad files, Docker down, missing image) into one line and exit 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UserError as exc:
            fail(str(exc))
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise  # --help, usage errors: click's own handling
        except Exception as exc:
            from sandbox.api import SandboxError  # imported only when something failed
            if isinstance(exc, SandboxError):
                fail(str(exc))
            raise
        except KeyboardInterrupt:
            err_console.print("orps: interrupted")
            sys.exit(130)


@click.group(cls=OrpsGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="orps")
@click.option("-v", "--verbose", count=True, help="More logging (-vv for debug).")
@click.pass_context
def main(ctx: click.Context, verbose: int) -> None:
    """orps: solve, fix and tutor code with a local model, every candidate run in a sandbox.

    Candidates are written by a local model (Ollama, an OpenAI-compatible server, or the
    built-in llama.cpp model), executed against tests in an isolated Docker sandbox, critiqued
    from their real execution reports, and refined in a budgeted tree search.
    """
    import logging

    logging.basicConfig(level=logging.WARNING - 10 * min(verbose, 2),
                        format="%(levelname)s %(name)s: %(message)s")
    if ctx.invoked_subcommand is None:
        if sys.stdin.isatty() and sys.stdout.isatty():
            from .tui_cmd import run_tui  # `orps` alone opens the terminal UI
            run_tui()
        else:
            click.echo(ctx.get_help())


def _register() -> None:
    from . import bench_cmd, fix_cmd, hint_cmd, judge_cmd, rank_cmd, sandbox_cmd, solve_cmd  # noqa: F401  (commands attach themselves to `main`)
    from . import tui_cmd  # noqa: F401


_register()
