"""One narrow async interface for every model backend.

A backend answers `chat` (a list of messages; instruct models) and/or `complete` (a raw prompt;
base models). It declares which it can do: on completion-only models the engine falls back to
sampling with execution-based selection and no critic. Every answer carries token counts and
timing so budgets and tokens/s are real numbers, never estimates made up by the engine.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..errors import UserError


class Message(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class GenerationOptions(BaseModel):
    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 1024
    seed: int | None = None
    stop: list[str] = Field(default_factory=list)
    json_schema: dict[str, Any] | None = Field(
        None, description="ask for structured output matching this schema; callers still validate")


class Completion(BaseModel):
    text: str
    model: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    elapsed_s: float = 0.0
    tokens_per_s: float | None = None
    finish_reason: str | None = Field(None, description="stop | length | error | cancelled")
    backend: str = ""


class ModelError(UserError, RuntimeError):
    """The model could not answer (server down, model missing, bad reply). One clear line.

    A `UserError`, so the CLI prints it as one line (exit 2) without a traceback.
    """


class ModelRequest(BaseModel):
    """One request to a backend, as recorded in traces and seen by scripted test models."""

    kind: Literal["chat", "complete"]
    messages: list[Message] | None = None
    prompt: str | None = None
    options: GenerationOptions = Field(default_factory=GenerationOptions)

    def key(self) -> str:
        """Canonical hash of kind + messages/prompt + options: identical requests, identical keys."""
        payload = {"kind": self.kind, "options": self.options.model_dump(mode="json")}
        if self.kind == "chat":
            payload["messages"] = [m.model_dump(mode="json") for m in self.messages or []]
        else:
            payload["prompt"] = self.prompt or ""
        canon = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canon.encode("utf-8")).hexdigest()

    @property
    def text(self) -> str:
        """The prompt, or the last user message of a chat (what a person would call "the prompt")."""
        if self.kind == "complete":
            return self.prompt or ""
        users = [m.content for m in self.messages or [] if m.role == "user"]
        return users[-1] if users else (self.messages[-1].content if self.messages else "")

    def preview(self, limit: int = 80) -> str:
        """A short one-line preview of `text` for error messages."""
        flat = " ".join(self.text.split())
        return flat if len(flat) <= limit else flat[: limit - 1] + "\u2026"


TextCallback = Callable[[str], None]


class ModelBackend(ABC):
    """Base class: subclasses implement `chat` and/or `complete` and set the capability flags."""

    name: str = "model"
    can_chat: bool = True
    can_complete: bool = False
    supports_json_schema: bool = False
    context_tokens: int = 8192

    @property
    def spec(self) -> str:
        """The model spec that recreates this backend (recorded in traces)."""
        return self.name

    async def chat(self, messages: list[Message], options: GenerationOptions,
                   on_text: TextCallback | None = None) -> Completion:
        raise NotImplementedError(f"{self.spec} cannot chat")

    async def complete(self, prompt: str, options: GenerationOptions,
                       on_text: TextCallback | None = None) -> Completion:
        raise NotImplementedError(f"{self.spec} cannot complete raw prompts")

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections or model memory."""

    @abstractmethod
    def describe(self) -> dict[str, Any]:
        """What this backend is (for traces and `orps` status output)."""


class DelegatingModel(ModelBackend):
    """A wrapper that is its inner model in every respect but what a subclass overrides
    (recording, stopping, ...): capabilities, spec and description are read live from `inner`."""

    def __init__(self, inner: ModelBackend) -> None:
        self.inner = inner
        self.name = inner.name

    @property
    def can_chat(self) -> bool:  # type: ignore[override]
        return self.inner.can_chat

    @property
    def can_complete(self) -> bool:  # type: ignore[override]
        return self.inner.can_complete

    @property
    def supports_json_schema(self) -> bool:  # type: ignore[override]
        return self.inner.supports_json_schema

    @property
    def context_tokens(self) -> int:  # type: ignore[override]
        return self.inner.context_tokens

    @property
    def spec(self) -> str:
        return self.inner.spec

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()

    async def chat(self, messages: list[Message], options: GenerationOptions,
                   on_text: TextCallback | None = None) -> Completion:
        return await self.inner.chat(messages, options, on_text)

    async def complete(self, prompt: str, options: GenerationOptions,
                       on_text: TextCallback | None = None) -> Completion:
        return await self.inner.complete(prompt, options, on_text)

    async def aclose(self) -> None:
        await self.inner.aclose()
