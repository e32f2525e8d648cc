"""Ollama backend through the official `ollama` client (`ollama:NAME`).

Chat goes to /api/chat, raw completion to /api/generate with `raw=True` (no template applied).
Every request sets `options.num_ctx` explicitly: Ollama's default context is small and it
truncates silently; the value stays fixed per model because changing it reloads the model.
Token counts and tokens/s come from the final streamed chunk (`prompt_eval_count`, `eval_count`,
`eval_duration` in ns).
"""

from __future__ import annotations

import importlib.metadata
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import ollama

from .base import Completion, GenerationOptions, Message, ModelBackend, ModelError, TextCallback

DEFAULT_HOST = "http://127.0.0.1:11434"
DEFAULT_NUM_CTX = 8192


def _client_version() -> str:
    try:
        return importlib.metadata.version("ollama")
    except importlib.metadata.PackageNotFoundError:
        return "?"


class OllamaModel(ModelBackend):
    """A model served by Ollama. Chat and raw completion; structured output via `format`."""

    can_chat = True
    can_complete = True
    supports_json_schema = True

    def __init__(self, model: str, *, host: str | None = None, num_ctx: int = DEFAULT_NUM_CTX,
                 keep_alive: str | float | None = None, timeout: float = 600.0) -> None:
        if not model:
            raise ModelError("ollama spec needs a model name: ollama:NAME "
                             "(for example ollama:qwen2.5-coder:7b)")
        if num_ctx <= 0:
            raise ModelError(f"ollama:{model}: num_ctx must be positive, got {num_ctx}")
        self.model = model
        self.name = f"ollama:{model}"
        self.host = host or os.environ.get("OLLAMA_HOST") or DEFAULT_HOST
        self.num_ctx = num_ctx
        self.context_tokens = num_ctx
        self.keep_alive = keep_alive
        self.timeout = timeout
        # connect fails fast; a read may wait while Ollama loads the model into memory
        self._client = ollama.AsyncClient(
            host=self.host, timeout=httpx.Timeout(timeout, connect=10.0))

    @property
    def spec(self) -> str:
        return self.name + (f"?num_ctx={self.num_ctx}" if self.num_ctx != DEFAULT_NUM_CTX else "")

    def describe(self) -> dict[str, Any]:
        return {"backend": "ollama", "model": self.model, "host": self.host, "num_ctx": self.num_ctx,
                "keep_alive": self.keep_alive, "can_chat": self.can_chat,
                "can_complete": self.can_complete, "supports_json_schema": self.supports_json_schema,
                "client": f"ollama-python {_client_version()}"}

    def _options(self, options: GenerationOptions) -> dict[str, Any]:
        opts: dict[str, Any] = {"num_ctx": self.num_ctx, "temperature": options.temperature,
                                "top_p": options.top_p, "num_predict": options.max_tokens}
        if options.seed is not None:
            opts["seed"] = options.seed
        if options.stop:
            opts["stop"] = list(options.stop)
        return opts

    def _common(self, options: GenerationOptions) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"model": self.model, "stream": True, "options": self._options(options)}
        if options.json_schema is not None:
            kwargs["format"] = options.json_schema
        if self.keep_alive is not None:
            kwargs["keep_alive"] = self.keep_alive
        return kwargs

    async def chat(self, messages: list[Message], options: GenerationOptions,
                   on_text: TextCallback | None = None) -> Completion:
        payload = [{"role": m.role, "content": m.content} for m in messages]
        return await self._run(lambda: self._client.chat(messages=payload, **self._common(options)),
                               lambda chunk: chunk.message.content if chunk.message else None, on_text)

    async def complete(self, prompt: str, options: GenerationOptions,
                       on_text: TextCallback | None = None) -> Completion:
        return await self._run(
            lambda: self._client.generate(prompt=prompt, raw=True, **self._common(options)),
            lambda chunk: chunk.response, on_text)

    async def _run(self, start, text_of, on_text: TextCallback | None) -> Completion:
        t0 = time.perf_counter()
        parts: list[str] = []
        final = None
        try:
            stream: AsyncIterator = await start()
            async for chunk in stream:
                piece = text_of(chunk)
                if piece:
                    parts.append(piece)
                    if on_text is not None:
                        on_text(piece)
                if chunk.done:
                    final = chunk
        except ollama.ResponseError as exc:
            raise await self._response_error(exc) from None
        except (ConnectionError, httpx.ConnectError, httpx.ConnectTimeout):
            raise ModelError(f"cannot reach Ollama at {self.host}: start it with `ollama serve` "
                             "(or set OLLAMA_HOST to where it runs)") from None
        except httpx.TimeoutException:
            raise ModelError(f"Ollama at {self.host} sent nothing for {self.timeout:g} s while "
                             f"generating with {self.model}") from None
        except httpx.HTTPError as exc:
            raise ModelError(f"connection to Ollama at {self.host} failed: "
                             f"{type(exc).__name__}: {exc}") from None
        elapsed = time.perf_counter() - t0
        if final is None:
            raise ModelError(f"Ollama at {self.host} ended the stream for {self.model} "
                             "without a final chunk")
        completion_tokens = final.eval_count or 0
        tokens_per_s = None
        if final.eval_count and final.eval_duration:
            tokens_per_s = final.eval_count / final.eval_duration * 1e9
        reason = final.done_reason or "stop"
        return Completion(text="".join(parts), model=final.model or self.model,
                          prompt_tokens=final.prompt_eval_count or 0,
                          completion_tokens=completion_tokens, elapsed_s=elapsed,
                          tokens_per_s=tokens_per_s,
                          finish_reason="length" if reason == "length" else "stop",
                          backend=self.name)

    async def _response_error(self, exc: ollama.ResponseError) -> ModelError:
        message = str(exc.error).strip()
        if exc.status_code == 404 and "not found" in message.lower():
            try:
                listing = await self._client.list()
                names = sorted(m.model for m in listing.models if m.model)
            except (ollama.ResponseError, ConnectionError, httpx.HTTPError):
                names = None
            if names is None:
                available = ""
            elif names:
                available = f" (available here: {', '.join(names)})"
            else:
                available = " (no models pulled yet)"
            return ModelError(f"Ollama at {self.host} has no model '{self.model}': "
                              f"run `ollama pull {self.model}`{available}")
        status = f"HTTP {exc.status_code}" if exc.status_code > 0 else "in stream"
        return ModelError(f"Ollama at {self.host} failed for {self.model} ({status}): {message}")

    async def aclose(self) -> None:
        await self._client.close()
