"""Prompt templates: text files in the `prompts` package, rendered with $-placeholders.

Templates are data (prompts/*.txt), not code. `render("critic_task", code=...)` fills `$code`;
a placeholder without a value is an error (a silently empty prompt section helps nobody).
Long, stable parts (system text, the problem) come first in every prompt so a server's prompt
cache can reuse them across the many calls of one run.
"""

from __future__ import annotations

import functools
import string
from importlib import resources


@functools.cache
def template(name: str) -> string.Template:
    path = resources.files("prompts").joinpath(f"{name}.txt")
    return string.Template(path.read_text(encoding="utf-8"))


def render(name: str, **values: object) -> str:
    try:
        return template(name).substitute({k: "" if v is None else str(v) for k, v in values.items()})
    except KeyError as exc:
        raise KeyError(f"prompt template {name!r} needs a value for {exc.args[0]!r}") from None


def available() -> list[str]:
    return sorted(p.name[:-4] for p in resources.files("prompts").iterdir() if p.name.endswith(".txt"))
