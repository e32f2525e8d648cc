"""The engine's own event loop, on a background thread, so the UI never waits on the engine.

Searches, re-runs and model loading are coroutines submitted to this loop; the UI awaits them
from Textual workers (`asyncio.wrap_future`), and events come back with `post_message`, which
Textual makes thread-safe. Models and the sandbox are opened here and kept for the app's life
(loading the embedded model takes seconds; the sandbox keeps a warm pool).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from assistant.models.base import ModelBackend

ModelFactory = Callable[[str], ModelBackend]
Warn = Callable[[str], None]


def _default_model_factory(spec: str) -> ModelBackend:
    from assistant.models import open_model
    return open_model(spec)


class Resources:
    """Models (by spec) and the sandbox, opened on first use in the engine thread."""

    def __init__(self, sandbox_settings, model_factory: ModelFactory | None = None, sandbox=None,
                 sandbox_choice: str | None = None, warn: Warn | None = None):
        self.sandbox_settings = sandbox_settings
        self.sandbox_choice = sandbox_choice
        self._model_factory = model_factory or _default_model_factory
        self._own_sandbox = sandbox is None
        self._sandbox = sandbox
        self._models: dict[str, ModelBackend] = {}
        self._model_lock = asyncio.Lock()
        self._sandbox_lock = asyncio.Lock()
        self.warn = warn or (lambda message: None)

    async def model(self, spec: str) -> ModelBackend:
        """The backend for `spec`. Replay models are opened fresh (a replay consumes its trace)."""
        if spec.strip().lower().startswith("replay"):
            return await asyncio.to_thread(self._model_factory, spec)
        async with self._model_lock:
            if spec not in self._models:
                self._models[spec] = await asyncio.to_thread(self._model_factory, spec)
            return self._models[spec]

    def owns(self, model: ModelBackend) -> bool:
        """Whether the model is cached here (closed at exit) rather than the caller's to close."""
        return any(m is model for m in self._models.values())

    async def sandbox(self):
        async with self._sandbox_lock:
            if self._sandbox is None:
                from sandbox.core import open_sandbox
                self._sandbox = await asyncio.to_thread(open_sandbox, self.sandbox_settings, self.sandbox_choice,
                                                        self.warn)
            return self._sandbox

    async def reconfigure(self, sandbox_settings, sandbox_choice: str | None) -> None:
        """New sandbox settings: an app-owned sandbox is closed and reopened on next use."""
        async with self._sandbox_lock:
            self.sandbox_settings, self.sandbox_choice = sandbox_settings, sandbox_choice
            if self._own_sandbox and self._sandbox is not None:
                sb, self._sandbox = self._sandbox, None
                await asyncio.to_thread(sb.close)

    async def aclose(self) -> None:
        for model in self._models.values():
            try:
                await model.aclose()
            except Exception:  # closing is best effort at exit
                pass
        self._models.clear()
        if self._own_sandbox and self._sandbox is not None:
            await asyncio.to_thread(self._sandbox.close)
            self._sandbox = None


class EngineLoop:
    """An asyncio loop on a daemon thread; `submit` schedules a coroutine on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name="orps-engine", daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def close(self, cleanup: Coroutine[Any, Any, Any] | None = None, timeout: float = 30.0) -> None:
        if not self._thread.is_alive():
            if cleanup is not None:
                cleanup.close()
            return
        if cleanup is not None:
            try:
                self.submit(cleanup).result(timeout)
            except Exception:  # exit goes on even when a model or the sandbox will not close
                pass

        def stop() -> None:
            for task in asyncio.all_tasks(self.loop):
                task.cancel()
            self.loop.stop()

        self.loop.call_soon_threadsafe(stop)
        self._thread.join(timeout)
