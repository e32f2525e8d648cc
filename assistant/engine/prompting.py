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


# templates that say which language to write: every language of the table has its own (named
# PREFIX_NAME by the table's `prompts` key); the rest of the templates are the same for all
LANGUAGE_TEMPLATES = ("programmer_system", "refine", "reflexion_retry", "critic_task", "completion_stdio")


def for_language(name: str, language: str = "python") -> str:
    """The template `name` for programs in `language`: PREFIX_NAME when the language has its own."""
    from sandbox.languages import language as lookup
    prefix = lookup(language).prompts
    if prefix == "python":
        return name
    own = f"{prefix}_{name}"
    if resources.files("prompts").joinpath(f"{own}.txt").is_file():
        return own
    if name in LANGUAGE_TEMPLATES:
        raise KeyError(f"prompt template {own!r} is missing (the language table names prompts {prefix!r})")
    return name


def render_for(name: str, language: str, **values: object) -> str:
    return render(for_language(name, language), **values)


def available() -> list[str]:
    return sorted(p.name[:-4] for p in resources.files("prompts").iterdir() if p.name.endswith(".txt"))
