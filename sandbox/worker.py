"""Live runners and the warm pool that hands them out.

A `Worker` is one runner process (in a container, or a local subprocess) reached through a
`Transport`. The `Pool` keeps N of them warm, gives one to each job, and replaces a worker after
any failure (lost runner, protocol error, missed deadline) or after `jobs_per_worker` jobs.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from importlib import resources

from . import runner as runner_module
from .api import SandboxError
from .runner import FrameReader, encode_frame

log = logging.getLogger(__name__)

HANDSHAKE_TIMEOUT = 30.0


def runner_bundle() -> bytes:
    """The modules the sandbox runs, as the bootstrap's first frame (harness first, runner last)."""
    import json
    files = resources.files("sandbox")
    modules = [["orps_harness", files.joinpath("harness.py").read_text(encoding="utf-8")],
               ["orps_runner", files.joinpath("runner.py").read_text(encoding="utf-8")]]
    return json.dumps({"modules": modules}).encode("utf-8")


BOOTSTRAP = runner_module.BOOTSTRAP


class Transport(ABC):
    """A byte pipe to a runner's stdin/stdout."""

    @abstractmethod
    def send(self, data: bytes) -> None: ...

    @abstractmethod
    def recv(self, timeout: float) -> bytes:
        """Next chunk of the runner's stdout; b"" at EOF; raises TimeoutError."""

    @abstractmethod
    def close(self) -> None: ...

    def describe_exit(self) -> str:
        """Why the runner ended, when the backend can tell (container state, exit code)."""
        return ""

    def alive(self) -> bool:
        """False when the runner is known to have ended (checked before a job is handed out)."""
        return True


class WorkerLost(Exception):
    """The runner died, stopped answering or broke the protocol."""


class WorkerGone(WorkerLost):
    """The runner had already ended before the job reached it: nothing of the job ran."""


class Worker:
    def __init__(self, transport: Transport, name: str):
        self.transport = transport
        self.name = name
        self.jobs = 0
        self.broken = False
        self.info: dict = {}
        self._reader = FrameReader(lambda: b"")

    def _next(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            try:
                frame = self._reader.pop()
            except ValueError as exc:
                raise WorkerLost(f"protocol error: {exc}") from exc
            if frame is not None:
                return frame
            left = deadline - time.monotonic()
            if left <= 0:
                raise WorkerLost(f"the runner sent nothing for {timeout:.0f}s")
            try:
                chunk = self.transport.recv(left)
            except TimeoutError:
                raise WorkerLost(f"the runner sent nothing for {timeout:.0f}s") from None
            except OSError as exc:
                raise WorkerLost(f"connection to the runner failed: {exc}") from exc
            if not chunk:
                why = self.transport.describe_exit()
                raise WorkerLost("the runner exited" + (f" ({why})" if why else ""))
            self._reader.feed(chunk)

    def handshake(self, timeout: float = HANDSHAKE_TIMEOUT) -> dict:
        from .seccomp import profiles
        bundle = runner_bundle()
        filters, why = profiles()
        hello = {"op": "hello", "seccomp": filters, "seccomp_reason": why}
        self.transport.send(len(bundle).to_bytes(4, "big") + bundle + encode_frame(hello))
        msg = self._next(timeout)
        if msg.get("type") != "hello":
            raise WorkerLost(f"unexpected first message from the runner: {str(msg)[:200]}")
        if msg.get("protocol") != runner_module.PROTOCOL:
            raise WorkerLost(f"runner protocol {msg.get('protocol')} != {runner_module.PROTOCOL}")
        if msg.get("damaged"):
            raise WorkerLost(f"the sandbox cannot give tests a clean box: {msg['damaged']}")
        self.info = msg
        return msg

    def execute(self, job: dict, per_test_timeout: float,
                on_test: Callable[[dict], None] | None = None) -> list[dict]:
        """Run one job; returns the runner's messages (one per test, plus errors), in order."""
        self.jobs += 1
        try:
            self.transport.send(encode_frame(job))
        except OSError as exc:
            self.broken = True
            raise WorkerGone(f"could not send the job: {exc}") from exc
        messages: list[dict] = []
        while True:
            try:
                msg = self._next(per_test_timeout)
            except WorkerLost:
                self.broken = True
                raise WorkerLostDuring(messages) from None
            kind = msg.get("type")
            if kind == "done":
                return messages
            if kind == "damaged":  # the runner could not restore a clean box: it ends itself
                self.broken = True
                messages.append(msg)
                return messages
            if kind == "fatal":
                self.broken = True
                raise RunnerFailure(f"sandbox runner failure: {msg.get('error')}")
            messages.append(msg)
            if kind == "test" and on_test is not None:
                on_test(msg)

    def close(self) -> None:
        try:
            self.transport.close()
        except Exception:  # closing is best effort; the backend reaps by label as well
            log.debug("closing %s failed", self.name, exc_info=True)


class RunnerFailure(WorkerLost):
    """The runner reported its own failure (a bug or a broken sandbox, not the candidate)."""


class WorkerLostDuring(WorkerLost):
    """The worker was lost in the middle of a job; `messages` holds what arrived before."""

    def __init__(self, messages: list[dict]):
        super().__init__("the runner was lost during the job")
        self.messages = messages


class Pool:
    """N warm workers; `acquire()` blocks until one is free, `release()` returns or replaces it."""

    def __init__(self, factory: Callable[[], Worker], size: int, jobs_per_worker: int = 500):
        self.factory = factory
        self.size = max(1, size)
        self.jobs_per_worker = jobs_per_worker
        self._idle: queue.Queue[Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._all: set[Worker] = set()
        self._started = False
        self._closed = False
        self._errors: list[str] = []
        self.replaced = 0

    def start(self) -> None:
        """Start every worker concurrently; raises SandboxError when none came up."""
        with self._lock:
            if self._started:
                return
            self._started = True
        threads = [threading.Thread(target=self._spawn, daemon=True) for _ in range(self.size)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if not self._all:
            raise SandboxError(self._errors[0] if self._errors else "no sandbox worker started")

    def _spawn(self) -> None:
        try:
            worker = self.factory()
        except SandboxError as exc:
            self._errors.append(str(exc))
            return
        except Exception as exc:
            self._errors.append(f"{type(exc).__name__}: {exc}")
            return
        with self._lock:
            if self._closed:
                worker.close()
                return
            self._all.add(worker)
        self._idle.put(worker)

    def acquire(self, timeout: float = 600.0) -> Worker:
        self.start()
        deadline = time.monotonic() + timeout
        while True:
            if self._closed:
                raise SandboxError("the sandbox is closed")
            if not self._all and self._errors:
                raise SandboxError(self._errors[-1])
            try:
                worker = self._idle.get(timeout=min(1.0, max(0.01, deadline - time.monotonic())))
            except queue.Empty:
                if time.monotonic() >= deadline:
                    raise SandboxError("no sandbox worker became free in time") from None
                continue
            if worker.transport.alive():
                return worker
            worker.broken = True  # ended while idle: replace it, hand out another
            self.release(worker)

    def release(self, worker: Worker) -> None:
        if worker.broken or worker.jobs >= self.jobs_per_worker:
            with self._lock:
                self._all.discard(worker)
            worker.close()
            self.replaced += 1
            if not self._closed:
                threading.Thread(target=self._spawn, daemon=True).start()
            return
        self._idle.put(worker)

    def worker_info(self) -> dict:
        """What a live worker reported at start (runner version, filter, perf), if any is up."""
        with self._lock:
            for w in self._all:
                return dict(w.info)
        return {}

    @property
    def live(self) -> int:
        return len(self._all)

    @property
    def idle(self) -> int:
        return self._idle.qsize()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
        for w in workers:
            w.close()
