"""Errors the user can act on: shown as one line, exit code 2, never a traceback."""


class UserError(Exception):
    """Bad input or environment the user can fix (missing file, malformed JSON, Docker down...)."""

    exit_code = 2
