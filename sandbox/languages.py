"""The language table (languages.toml, package data): how each language is built and run."""

from __future__ import annotations

import functools
import tomllib
from importlib import resources

from pydantic import BaseModel, Field

from .api import SandboxError


class Language(BaseModel):
    id: str
    name: str
    extensions: list[str] = Field(default_factory=list)
    fences: list[str] = Field(default_factory=list)
    source: str
    binary: str | None = None
    compile: list[str] | None = None
    sanitize: list[str] = Field(default_factory=list)
    run: list[str]
    warm: bool = False
    packages: list[str] = Field(default_factory=list)
    version: list[str] = Field(default_factory=list)
    normalize: str = "text"
    prompts: str = "python"
    kinds: list[str] = Field(default_factory=lambda: ["stdio"])

    @property
    def compiled(self) -> bool:
        return self.compile is not None

    def compile_command(self, sanitize: bool = False) -> list[str]:
        if self.compile is None:
            raise SandboxError(f"{self.name} is not a compiled language")
        return [*self.compile, *(self.sanitize if sanitize else [])]


@functools.cache
def languages() -> dict[str, Language]:
    data = tomllib.loads(resources.files("sandbox").joinpath("languages.toml").read_text(encoding="utf-8"))
    return {key: Language(id=key, **value) for key, value in data.items()}


def language(key: str) -> Language:
    table = languages()
    lang = table.get(key.lower())
    if lang is None:
        for candidate in table.values():  # a fence name or a common spelling (c++, py)
            if key.lower() in candidate.fences:
                lang = candidate
                break
    if lang is None:
        raise SandboxError(f"unknown language {key!r}: use one of {', '.join(table)}")
    return lang


def for_filename(name: str) -> Language | None:
    lowered = name.lower()
    for lang in languages().values():
        if any(lowered.endswith(ext) for ext in lang.extensions):
            return lang
    return None


def image_packages() -> list[str]:
    """Every Debian package the table needs in the sandbox image."""
    seen: list[str] = []
    for lang in languages().values():
        for pkg in lang.packages:
            if pkg not in seen:
                seen.append(pkg)
    return seen
