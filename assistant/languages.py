"""The language table (sandbox/languages.toml) as the commands see it: names the user types,
file extensions, and which problems a language can solve. Every failure is a one-line UserError."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .errors import UserError

if TYPE_CHECKING:
    from sandbox.languages import Language

    from .problems import Problem


def supported() -> str:
    from sandbox.languages import languages
    return ", ".join(languages())


def resolve(name: str, what: str = "--lang") -> Language:
    """The table's language for a name or a common spelling (cpp, c++, py, pypy)."""
    from sandbox.api import SandboxError
    from sandbox.languages import language
    try:
        return language(name)
    except SandboxError:
        raise UserError(f"{what} {name}: unknown language; orps supports {supported()}") from None


def for_file(path: Path, spec: str, lang: str | None = None) -> Language:
    """The language of a program file: --lang when given, else its extension; a file without an
    extension is Python (a script)."""
    from sandbox.languages import for_filename, language
    if lang:
        return resolve(lang)
    found = for_filename(path.name)
    if found is not None:
        return found
    if not path.suffix:
        return language("python")
    raise UserError(f"{spec}: no language for {path.suffix} files; orps supports {supported()} "
                    f"(extensions {', '.join(_extensions())}; or pass --lang NAME)")


def _extensions() -> list[str]:
    from sandbox.languages import languages
    return [ext for lang in languages().values() for ext in lang.extensions]


def check_binary(data: bytes, spec: str) -> None:
    """A compiled program (ELF, Mach-O, PE) or other binary data is not a source file."""
    magic = {b"\x7fELF": "an ELF executable", b"MZ": "a Windows executable", b"\xcf\xfa\xed\xfe": "a Mach-O executable",
             b"\xca\xfe\xba\xbe": "a Mach-O or Java class file"}
    for head, what in magic.items():
        if data.startswith(head):
            raise UserError(f"{spec}: is {what}, not source code; judge the source file (e.g. sol.cpp), orps "
                            "compiles it in the sandbox")
    if b"\x00" in data[:8192]:
        raise UserError(f"{spec}: is binary data, not source code; judge the source file")


def check_kind(problem: Problem, lang: Language, what: str) -> None:
    """Function problems are Python asserts: another language cannot be judged on them."""
    if problem.kind not in lang.kinds:
        raise UserError(f"{what}: problem {problem.id} is a {problem.kind} problem (its tests call a Python "
                        f"function); {lang.name} solves stdin/stdout problems only, use Python")


def for_problem(problem: Problem, lang: str | None, default: str = "python") -> Problem:
    """The problem with the language its candidates are written in: `lang` (--lang), else the
    configured default. A function problem is Python only: --lang cpp on one is a one-line error;
    the configured default does not apply to it (it stays Python)."""
    if lang is not None:
        language = resolve(lang)
        check_kind(problem, language, f"--lang {lang}")
    else:
        language = resolve(default, "language")
        if problem.kind not in language.kinds:
            return problem
    return problem.model_copy(update={"language": language.id})


def fence(lang_id: str) -> str:
    """The code-fence name a prompt shows this language's programs in."""
    from sandbox.languages import language
    return language(lang_id).fences[0]
