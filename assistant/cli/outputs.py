"""Files a command writes for the user (--out, --trace): checked before any work starts."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..errors import UserError


def check_output_file(path: Path, option: str, force: bool) -> None:
    """Refuse, up front, an output path that cannot be written or that would replace a file.

    An existing file is replaced only with --force, or after a yes on a terminal; without a
    terminal the answer is no. Each refusal is one UserError naming the option and the path."""
    where = f"{option} {path}"
    if path.is_dir():
        raise UserError(f"{where}: is a directory; give a file name")
    parent = path.parent
    if not parent.exists():
        raise UserError(f"{where}: no such directory {parent}")
    if not parent.is_dir():
        raise UserError(f"{where}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{where}: cannot write in {parent} (permission denied)")
    if path.exists() and not force:
        if sys.stdin.isatty() and sys.stderr.isatty():
            if click.confirm(f"{path} exists: overwrite it?", default=False, err=True):
                return
            raise UserError(f"{where}: not overwritten")
        raise UserError(f"{where}: already exists; pass --force to overwrite it")


def write_output(path: Path, text: str, option: str) -> None:
    """Write a result file; a failure (disk full, the directory removed meanwhile) is a UserError."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{option} {path}: cannot write ({exc.strerror or exc})") from None
