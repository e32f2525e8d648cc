"""Run traces: every model request and its answer, one JSON line each, for reproduction.

Line 1 is a header: {"type": "header", "format": 1, "spec", "describe", "capabilities",
"options", "orps_version", "timestamp"}. Then one line per request:
{"type": "request", "seq", "kind", "key", "request": {messages|prompt, options},
"response": <Completion fields> | null, "error": str | null, "started", "elapsed_s"}.
`replay:TRACE.jsonl` answers from such a file (see replay.py).
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import __version__
from .base import (Completion, DelegatingModel, GenerationOptions, Message, ModelBackend, ModelError,
                   ModelRequest, TextCallback)

TRACE_FORMAT = 1


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def capabilities(model: ModelBackend) -> dict[str, Any]:
    return {"can_chat": bool(model.can_chat), "can_complete": bool(model.can_complete),
            "supports_json_schema": bool(model.supports_json_schema),
            "context_tokens": int(model.context_tokens)}


def request_record(request: ModelRequest) -> dict[str, Any]:
    """The request as stored in a trace (messages or prompt, never both)."""
    body: dict[str, Any] = {"options": request.options.model_dump(mode="json")}
    if request.kind == "chat":
        body["messages"] = [m.model_dump(mode="json") for m in request.messages or []]
    else:
        body["prompt"] = request.prompt or ""
    return body


class TraceWriter:
    """Appends a run's trace to a JSONL file; each line is flushed as soon as it is written."""

    def __init__(self, path: str | Path, *, options: dict[str, Any] | None = None) -> None:
        self.path = Path(path)
        self.options = dict(options or {})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("w", encoding="utf-8")
        self._lock = threading.Lock()
        self._seq = 0
        self.header_written = False

    def _write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def write_header(self, model: ModelBackend) -> None:
        """The first line: what the model is and what the run asked for. Written once."""
        if self.header_written:
            return
        self.header_written = True
        self._write({"type": "header", "format": TRACE_FORMAT, "spec": model.spec,
                     "describe": model.describe(), "capabilities": capabilities(model),
                     "options": self.options, "orps_version": __version__,
                     "timestamp": _now_iso()})

    def write_record(self, record: dict[str, Any]) -> None:
        """Any other line of the run (measurements, the result); replay skips non-request lines."""
        if record.get("type") in ("header", "request"):
            raise ValueError("header and request lines are written by write_header() and record()")
        self._write(record)

    def record(self, request: ModelRequest, *, response: Completion | None = None,
               error: str | None = None, started: str | None = None,
               elapsed_s: float = 0.0) -> None:
        with self._lock:
            self._seq += 1
            seq = self._seq
        self._write({"type": "request", "seq": seq, "kind": request.kind, "key": request.key(),
                     "request": request_record(request),
                     "response": response.model_dump(mode="json") if response is not None else None,
                     "error": error, "started": started or _now_iso(),
                     "elapsed_s": round(elapsed_s, 6)})

    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class RecordingModel(DelegatingModel):
    """Wraps any backend and records every request and answer (or error) to a trace."""

    def __init__(self, inner: ModelBackend, trace_writer: TraceWriter) -> None:
        super().__init__(inner)
        self.trace = trace_writer
        trace_writer.write_header(inner)

    async def chat(self, messages: list[Message], options: GenerationOptions,
                   on_text: TextCallback | None = None) -> Completion:
        request = ModelRequest(kind="chat", messages=list(messages), options=options)
        return await self._recorded(request, self.inner.chat(messages, options, on_text))

    async def complete(self, prompt: str, options: GenerationOptions,
                       on_text: TextCallback | None = None) -> Completion:
        request = ModelRequest(kind="complete", prompt=prompt, options=options)
        return await self._recorded(request, self.inner.complete(prompt, options, on_text))

    async def _recorded(self, request: ModelRequest, call) -> Completion:
        started = _now_iso()
        t0 = time.perf_counter()
        try:
            response = await call
        except ModelError as exc:
            self.trace.record(request, error=str(exc), started=started,
                              elapsed_s=time.perf_counter() - t0)
            raise
        self.trace.record(request, response=response, started=started,
                          elapsed_s=time.perf_counter() - t0)
        return response
