"""The engine's own event loop, on a background thread, so the UI never waits on the engine.

Searches, re-runs and model loading are coroutines submitted to this loop; the UI awaits them
from Textual workers (`asyncio.wrap_future`), and events come back with `post_message`, which
Textual makes thread-safe. Models and the sandbox are opened here and kept for the app's life
(loading the embedded model takes seconds; the sandbox keeps a warm pool).

Shutting down is one order, whatever is running: every task on the loop is cancelled and awaited
(a model call in flight is interrupted by its backend, and a backend's own thread is waited for,
never killed), then models and the sandbox close (containers removed), then the loop stops.
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
        self._opening: set[asyncio.Future] = set()  # loads that finish even when their caller is cancelled
        self._closers: dict[int, Callable[[], None]] = {}  # what jobs opened themselves, closed at exit at the latest
        self.warn = warn or (lambda message: None)

    def close_later(self, close: Callable[[], None]) -> int:
        """Run `close` (in a thread) when the resources close, unless `forget` comes first."""
        key = id(close)
        self._closers[key] = close
        return key

    def forget(self, key: int) -> None:
        self._closers.pop(key, None)

    async def open_in_thread(self, open_in_thread: Callable[[], Any], keep: Callable[[Any], None]) -> Any:
        """Open something in a thread. A cancelled caller does not lose it: `keep` takes it when
        the thread is done, so `aclose` closes it (a thread cannot be interrupted, only awaited)."""
        future = asyncio.ensure_future(asyncio.to_thread(open_in_thread))
        self._opening.add(future)

        def done(f: asyncio.Future) -> None:
            self._opening.discard(f)
            if not f.cancelled() and f.exception() is None:
                keep(f.result())

        future.add_done_callback(done)
        return await asyncio.shield(future)

    async def model(self, spec: str) -> ModelBackend:
        """The backend for `spec`. Replay models are opened fresh (a replay consumes its trace)."""
        if spec.strip().lower().startswith("replay"):
            return await asyncio.to_thread(self._model_factory, spec)
        async with self._model_lock:
            if spec not in self._models:
                model = await self.open_in_thread(lambda: self._model_factory(spec),
                                         lambda m: self._models.setdefault(spec, m))
                self._models.setdefault(spec, model)
            return self._models[spec]

    def owns(self, model: ModelBackend) -> bool:
        """Whether the model is cached here (closed at exit) rather than the caller's to close."""
        return any(m is model for m in self._models.values())

    async def sandbox(self):
        async with self._sandbox_lock:
            if self._sandbox is None:
                from sandbox.core import open_sandbox
                settings, choice = self.sandbox_settings, self.sandbox_choice

                def keep(sb) -> None:
                    if self._sandbox is None:
                        self._sandbox = sb

                keep(await self.open_in_thread(lambda: open_sandbox(settings, choice, self.warn), keep))
            return self._sandbox

    async def reconfigure(self, sandbox_settings, sandbox_choice: str | None) -> None:
        """New sandbox settings: an app-owned sandbox is closed and reopened on next use."""
        async with self._sandbox_lock:
            self.sandbox_settings, self.sandbox_choice = sandbox_settings, sandbox_choice
            if self._own_sandbox and self._sandbox is not None:
                sb, self._sandbox = self._sandbox, None
                await asyncio.to_thread(sb.close)

    async def aclose(self) -> None:
        """Close models and the sandbox: after any load still in its thread has finished, and
        each model only once its calls have stopped (backends wait for their own workers)."""
        if self._opening:
            await asyncio.gather(*list(self._opening), return_exceptions=True)

        async def close_model(model: ModelBackend) -> None:
            try:
                await model.aclose()
            except Exception:  # closing is best effort at exit
                pass

        closing = [close_model(m) for m in self._models.values()]
        self._models.clear()
        closing += [asyncio.to_thread(close) for close in self._closers.values()]
        self._closers.clear()
        if self._own_sandbox and self._sandbox is not None:
            sb, self._sandbox = self._sandbox, None
            closing.append(asyncio.to_thread(sb.close))
        await asyncio.gather(*closing, return_exceptions=True)


class EngineLoop:
    """An asyncio loop on a daemon thread; `submit` schedules a coroutine on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name="orps-engine", daemon=True)
        self._thread.start()
        self.shutdown: concurrent.futures.Future | None = None

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def begin_shutdown(self, cleanup: Coroutine[Any, Any, Any] | None = None,
                       grace: float = 10.0) -> concurrent.futures.Future:
        """Cancel everything running on the loop, wait for it (at most `grace` seconds), then run
        `cleanup` (closing models and the sandbox). Returns at once; the future says when it is
        done. Called again, it returns the same future."""
        if self.shutdown is not None:
            if cleanup is not None:
                cleanup.close()
            return self.shutdown
        if not self._thread.is_alive():
            if cleanup is not None:
                cleanup.close()
            self.shutdown = concurrent.futures.Future()
            self.shutdown.set_result(None)
            return self.shutdown

        async def shut_down() -> None:
            me = asyncio.current_task()
            running = [t for t in asyncio.all_tasks() if t is not me]
            for task in running:
                task.cancel()
            if running:
                await asyncio.wait(running, timeout=grace)
            if cleanup is not None:
                try:
                    await cleanup
                except Exception:  # exit goes on even when a model or the sandbox will not close
                    pass

        self.shutdown = self.submit(shut_down())
        return self.shutdown

    def close(self, cleanup: Coroutine[Any, Any, Any] | None = None, timeout: float = 30.0) -> None:
        """Shut down (see `begin_shutdown`), wait for it up to `timeout`, stop the loop and its thread."""
        future = self.begin_shutdown(cleanup)
        try:
            future.result(timeout)
        except Exception:  # a timeout or a failed cleanup: the loop stops anyway
            pass
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)
