"""Any OpenAI-compatible server (`openai:URL[,URL...]#MODEL`): llama.cpp, vLLM, LM Studio, ...

Plain `httpx` against /chat/completions and /completions with SSE streaming. Usage is requested
with `stream_options.include_usage`; servers that ignore it leave the token counts at zero and
tokens/s unknown (nothing is estimated). Several URLs are load-balanced: the least in-flight
requests wins, ties go round robin; a URL that refuses connections is marked down for a while
and the request is retried on another one.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass
from typing import Any

import httpx

from .base import Completion, GenerationOptions, Message, ModelBackend, ModelError, TextCallback

# errors that mean "this server is not there": safe to retry elsewhere, nothing was generated
_UNREACHABLE = (httpx.ConnectError, httpx.ConnectTimeout)
# gateway / overload answers from a proxy in front of a server: also retried elsewhere
_RETRY_STATUS = {502, 503, 504}


@dataclass
class Endpoint:
    """One server URL and what the balancer knows about it."""

    url: str
    in_flight: int = 0
    down_until: float = 0.0
    last_error: str = ""
    # response_format style: OpenAI's {"type": "json_schema"} first; servers that reject it
    # (llama-cpp-python) get {"type": "json_object", "schema": ...}
    json_style: str = "json_schema"

    def is_down(self, now: float) -> bool:
        return now < self.down_until


class _Retry(Exception):
    """This endpoint cannot serve the request; try another one."""


def _error_message(body: bytes) -> str:
    """The server's own error text from an OpenAI / FastAPI / plain error body."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return " ".join(text.split())[:300] or "(empty body)"
    if isinstance(data, dict):
        err = data.get("error", data.get("detail", data.get("message")))
        if isinstance(err, dict):
            err = err.get("message") or json.dumps(err)
        elif isinstance(err, list):  # FastAPI validation errors
            err = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', []))}: {e.get('msg')}"
                            if isinstance(e, dict) else str(e) for e in err)
        if err:
            return " ".join(str(err).split())[:300]
    return " ".join(text.split())[:300]


class OpenAICompatModel(ModelBackend):
    """A model behind one or more OpenAI-compatible HTTP servers."""

    can_chat = True
    can_complete = True
    supports_json_schema = True

    def __init__(self, urls: list[str] | str, model: str, *, api_key: str | None = None,
                 timeout: float = 600.0, down_s: float = 30.0, context_tokens: int = 8192) -> None:
        if isinstance(urls, str):
            urls = [urls]
        urls = [u.strip().rstrip("/") for u in urls if u.strip()]
        if not urls:
            raise ModelError("openai spec needs a server URL: openai:URL[,URL...]#MODEL")
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ModelError(f"openai spec: '{url}' is not an http(s) URL "
                                 "(expected openai:http://HOST:PORT/v1#MODEL)")
        if not model:
            raise ModelError("openai spec needs a model name after '#': openai:URL[,URL...]#MODEL")
        self.endpoints = [Endpoint(u) for u in urls]
        self.model = model
        self.name = f"openai:{','.join(urls)}#{model}"
        self.timeout = timeout
        self.down_s = down_s
        self.context_tokens = context_tokens
        self._rr = 0
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=5.0),
                                       headers=headers)

    @property
    def spec(self) -> str:
        return self.name

    def describe(self) -> dict[str, Any]:
        now = time.monotonic()
        return {"backend": "openai", "model": self.model, "context_tokens": self.context_tokens,
                "can_chat": self.can_chat, "can_complete": self.can_complete,
                "supports_json_schema": self.supports_json_schema,
                "servers": [{"url": e.url, "in_flight": e.in_flight, "down": e.is_down(now),
                             **({"last_error": e.last_error} if e.last_error else {})}
                            for e in self.endpoints]}

    # -- balancing ---------------------------------------------------------------------------

    def _pick(self, tried: set[int]) -> int | None:
        """Least in-flight among live endpoints not tried yet; ties in round-robin order.

        When every untried endpoint is marked down, the one that went down first is tried anyway:
        a request never fails only because of old marks.
        """
        now = time.monotonic()
        n = len(self.endpoints)
        untried = [i for i in range(n) if i not in tried]
        if not untried:
            return None
        live = [i for i in untried if not self.endpoints[i].is_down(now)]
        if live:
            best = min(live, key=lambda i: (self.endpoints[i].in_flight, (i - self._rr) % n))
        else:
            best = min(untried, key=lambda i: self.endpoints[i].down_until)
        self._rr = (best + 1) % n
        return best

    async def _request(self, path: str, body: dict[str, Any], text_of,
                       on_text: TextCallback | None, schema: dict[str, Any] | None) -> Completion:
        tried: set[int] = set()
        failures: list[str] = []
        while (i := self._pick(tried)) is not None:
            tried.add(i)
            ep = self.endpoints[i]
            ep.in_flight += 1
            try:
                result = await self._stream(ep, path, body, text_of, on_text, schema)
            except _Retry as exc:
                ep.down_until = time.monotonic() + self.down_s
                ep.last_error = str(exc)
                failures.append(f"{ep.url} ({exc})")
                continue
            finally:
                ep.in_flight -= 1
            ep.down_until = 0.0
            ep.last_error = ""
            return result
        if len(self.endpoints) == 1:
            raise ModelError(f"cannot reach the OpenAI-compatible server {failures[0]}: "
                             "is it running?")
        raise ModelError("cannot reach any OpenAI-compatible server: " + "; ".join(failures))

    # -- one attempt on one server -------------------------------------------------------------

    def _body_for(self, ep: Endpoint, body: dict[str, Any], schema: dict[str, Any] | None) -> dict:
        if schema is None:
            return body
        if ep.json_style == "json_schema":
            fmt = {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}
        else:
            fmt = {"type": "json_object", "schema": schema}
        return {**body, "response_format": fmt}

    async def _stream(self, ep: Endpoint, path: str, body: dict[str, Any], text_of,
                      on_text: TextCallback | None, schema: dict[str, Any] | None) -> Completion:
        url = ep.url + path
        t0 = time.perf_counter()
        while True:  # a second pass only after switching the response_format style (once)
            try:
                async with self._http.stream("POST", url, json=self._body_for(ep, body, schema)) as resp:
                    if resp.status_code < 400:
                        return await self._read_sse(resp, url, t0, text_of, on_text)
                    message = _error_message(await resp.aread())
            except _UNREACHABLE as exc:
                raise _Retry(_describe_connect_error(exc)) from None
            except httpx.TimeoutException:
                raise ModelError(f"{url} sent nothing for {self.timeout:g} s "
                                 f"while generating with '{self.model}'") from None
            except httpx.HTTPError as exc:
                raise ModelError(f"connection to {url} failed: {type(exc).__name__}: {exc}") from None
            if (schema is not None and ep.json_style == "json_schema"
                    and resp.status_code in (400, 422)
                    and ("response_format" in message or "json_schema" in message)):
                ep.json_style = "json_object"
                continue
            if resp.status_code in _RETRY_STATUS:
                raise _Retry(f"HTTP {resp.status_code}: {message}")
            raise ModelError(f"{url} answered HTTP {resp.status_code} for model "
                             f"'{self.model}': {message}")

    async def _read_sse(self, resp: httpx.Response, url: str, t0: float, text_of,
                        on_text: TextCallback | None) -> Completion:
        parts: list[str] = []
        usage: dict[str, Any] | None = None
        timings: dict[str, Any] | None = None
        finish: str | None = None
        model = self.model
        first_t = last_t = None
        async for line in resp.aiter_lines():
            if not line.startswith("data:"):
                continue  # blank separators, comments (": ping"), event names
            data = line[5:].strip()
            if data == "[DONE]":
                break
            try:
                chunk = json.loads(data)
            except ValueError:
                raise ModelError(f"{url} sent a malformed stream event: {data[:120]}") from None
            if not isinstance(chunk, dict):
                continue
            if chunk.get("error"):
                raise ModelError(f"{url} failed while generating: "
                                 f"{_error_message(json.dumps(chunk).encode())}")
            model = chunk.get("model") or model
            if chunk.get("usage"):
                usage = chunk["usage"]
            if isinstance(chunk.get("timings"), dict):
                timings = chunk["timings"]
            for choice in chunk.get("choices") or []:
                if choice.get("index", 0) != 0:
                    continue
                piece = text_of(choice)
                if piece:
                    now = time.perf_counter()
                    first_t = first_t or now
                    last_t = now
                    parts.append(piece)
                    if on_text is not None:
                        on_text(piece)
                if choice.get("finish_reason"):
                    finish = choice["finish_reason"]
        elapsed = time.perf_counter() - t0
        prompt_tokens = int((usage or {}).get("prompt_tokens") or 0)
        completion_tokens = int((usage or {}).get("completion_tokens") or 0)
        tokens_per_s = None
        if timings and timings.get("predicted_per_second"):
            tokens_per_s = float(timings["predicted_per_second"])  # llama.cpp's own measurement
        elif completion_tokens >= 2 and first_t is not None and last_t > first_t:
            tokens_per_s = (completion_tokens - 1) / (last_t - first_t)
        elif completion_tokens and elapsed > 0:
            tokens_per_s = completion_tokens / elapsed
        return Completion(text="".join(parts), model=model, prompt_tokens=prompt_tokens,
                          completion_tokens=completion_tokens, elapsed_s=elapsed,
                          tokens_per_s=tokens_per_s,
                          finish_reason="length" if finish == "length" else "stop",
                          backend=self.name)

    # -- public API ----------------------------------------------------------------------------

    def _sampling(self, options: GenerationOptions) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "stream": True,
                                "stream_options": {"include_usage": True},
                                "temperature": options.temperature, "top_p": options.top_p,
                                "max_tokens": options.max_tokens}
        if options.seed is not None:
            body["seed"] = options.seed
        if options.stop:
            body["stop"] = list(options.stop)
        return body

    async def chat(self, messages: list[Message], options: GenerationOptions,
                   on_text: TextCallback | None = None) -> Completion:
        body = {**self._sampling(options),
                "messages": [{"role": m.role, "content": m.content} for m in messages]}
        return await self._request("/chat/completions", body,
                                   lambda c: (c.get("delta") or {}).get("content"),
                                   on_text, options.json_schema)

    async def complete(self, prompt: str, options: GenerationOptions,
                       on_text: TextCallback | None = None) -> Completion:
        body = {**self._sampling(options), "prompt": prompt}
        return await self._request("/completions", body, lambda c: c.get("text"),
                                   on_text, options.json_schema)

    async def aclose(self) -> None:
        await self._http.aclose()


def _describe_connect_error(exc: BaseException) -> str:
    """A short reason from the exception chain (httpx wraps the OSError that says what failed)."""
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and len(chain) < 10:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "connection refused"
    if any(isinstance(e, (httpx.ConnectTimeout, TimeoutError)) for e in chain):
        return "connection timed out"
    if any(isinstance(e, socket.gaierror) for e in chain):
        return "unknown host"
    detail = str(chain[-1]) or type(chain[-1]).__name__
    return f"cannot connect: {detail}"
