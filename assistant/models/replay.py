"""`replay:TRACE.jsonl`: answer every request with the answer recorded for the identical request.

Requests match on `ModelRequest.key()` (kind + messages/prompt + every generation option,
seed included). Identical requests recorded several times are answered in recorded order; a
request the trace does not hold is a `ReplayMiss` (a `ModelError`) naming the trace and previewing
the prompt. No model is asked for it: the engine does not count it as a call, and once the replay
has answered something a miss ends the run where the recording ends (a replay at a larger
budget than recorded, say) instead of failing request after request. The trace of a solve or fix
run that did not finish (no `result` record) is a budget: once every recorded answer is used, the
next request ends the search the way a spent budget does, with what it has.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..engine.budget import BudgetExhausted
from .base import Completion, GenerationOptions, Message, ModelBackend, ModelError, ModelRequest, TextCallback


class _Entry:
    __slots__ = ("request", "response", "error", "line")

    def __init__(self, request: ModelRequest, response: Completion | None, error: str | None,
                 line: int) -> None:
        self.request = request
        self.response = response
        self.error = error
        self.line = line


def load_trace(path: str | Path, records: list[str] | None = None) -> tuple[dict[str, Any], list[_Entry]]:
    """Header and request entries of a trace file; a broken file is a one-line ModelError.
    `records` collects the types of the engine's own records (measurement, timing, result)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ModelError(f"{path}: no such trace file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: cannot read trace: {exc}") from None
    header: dict[str, Any] | None = None
    entries: list[_Entry] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise ModelError(f"{path}:{number}: not a JSON line") from None
        kind = record.get("type") if isinstance(record, dict) else None
        if kind == "header":
            header = record
        elif kind == "request":
            try:
                body = record["request"]
                request = ModelRequest(kind=record["kind"], messages=body.get("messages"),
                                       prompt=body.get("prompt"),
                                       options=GenerationOptions(**body.get("options", {})))
                response = (Completion(**record["response"]) if record.get("response") is not None
                            else None)
            except (KeyError, TypeError, ValidationError) as exc:
                raise ModelError(f"{path}:{number}: malformed trace entry: "
                                 f"{str(exc).splitlines()[0]}") from None
            if response is None and not record.get("error"):
                raise ModelError(f"{path}:{number}: trace entry has neither response nor error")
            entries.append(_Entry(request, response, record.get("error"), number))
        elif kind in ("measurement", "timing", "result"):
            if records is not None:  # the engine's own records (solve mode reads the measurements)
                records.append(kind)
        else:
            raise ModelError(f"{path}:{number}: unknown trace line type {kind!r}")
    if header is None:
        raise ModelError(f"{path}: not an orps trace (no header line)")
    return header, entries


class ReplayMiss(ModelError):
    """The trace holds no (more) answers for a request. `answered`: requests this replay had
    answered before; `recorded_config`: the search settings the trace was recorded with."""

    def __init__(self, message: str, answered: int, recorded_config: dict[str, Any] | None) -> None:
        super().__init__(message)
        self.answered = answered
        self.recorded_config = recorded_config or {}


class ReplayModel(ModelBackend):
    """Answers from a recorded trace; capabilities are those recorded in its header."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        records: list[str] = []
        self.header, entries = load_trace(self.path, records)
        # solve and fix runs record their config first and a result last; without that result
        # the recorded run did not finish (cancelled, crashed)
        options = self.header.get("options") or {}
        self.unfinished = isinstance(options, dict) and "config" in options and "result" not in records
        self.name = f"replay:{self.path}"
        caps = self.header.get("capabilities") or {}
        self.can_chat = bool(caps.get("can_chat", True))
        self.can_complete = bool(caps.get("can_complete", False))
        self.supports_json_schema = bool(caps.get("supports_json_schema", False))
        self.context_tokens = int(caps.get("context_tokens", 8192))
        self._pending: dict[str, deque[_Entry]] = defaultdict(deque)
        self._counts: dict[str, int] = defaultdict(int)
        for entry in entries:
            key = entry.request.key()
            self._pending[key].append(entry)
            self._counts[key] += 1
        self._entries = entries
        self.answered = 0

    @property
    def spec(self) -> str:
        return self.name

    @property
    def recorded_spec(self) -> str:
        return str(self.header.get("spec", "?"))

    def describe(self) -> dict[str, Any]:
        return {"backend": "replay", "trace": str(self.path), "recorded_spec": self.recorded_spec,
                "recorded": self.header.get("describe"), "requests": len(self._entries),
                "remaining": sum(len(q) for q in self._pending.values()),
                "can_chat": self.can_chat, "can_complete": self.can_complete}

    async def chat(self, messages: list[Message], options: GenerationOptions,
                   on_text: TextCallback | None = None) -> Completion:
        if not self.can_chat:
            raise ModelError(f"{self.path}: the recorded model ({self.recorded_spec}) cannot chat")
        return self._answer(ModelRequest(kind="chat", messages=list(messages), options=options),
                            on_text)

    async def complete(self, prompt: str, options: GenerationOptions,
                       on_text: TextCallback | None = None) -> Completion:
        if not self.can_complete:
            raise ModelError(f"{self.path}: the recorded model ({self.recorded_spec}) "
                             "cannot complete raw prompts")
        return self._answer(ModelRequest(kind="complete", prompt=prompt, options=options), on_text)

    def _answer(self, request: ModelRequest, on_text: TextCallback | None) -> Completion:
        key = request.key()
        queue = self._pending.get(key)
        if not queue:
            if self.unfinished and not any(self._pending.values()):
                raise BudgetExhausted(f"the replayed run ended here: {self.path.name} did not finish "
                                      "and every recorded answer is used")
            options = self.header.get("options") or {}
            raise ReplayMiss(self._unmatched(request, key), self.answered, options.get("config"))
        entry = queue.popleft()
        self.answered += 1
        if entry.error is not None:
            raise ModelError(entry.error)
        response = entry.response.model_copy()
        if on_text is not None and response.text:
            on_text(response.text)
        return response

    def _unmatched(self, request: ModelRequest, key: str) -> str:
        what = f"{request.kind} request"
        if self._counts.get(key):
            return (f"{self.path}: {what} '{request.preview()}' was recorded "
                    f"{self._counts[key]} time(s) and all answers are used up")
        hint = ""
        same_text = [e for e in self._entries if e.request.kind == request.kind
                     and e.request.messages == request.messages
                     and e.request.prompt == request.prompt]
        if same_text:
            ours = request.options.model_dump()
            theirs = same_text[0].request.options.model_dump()
            diffs = [f"{k} {theirs[k]!r} vs {ours[k]!r}" for k in ours if ours[k] != theirs.get(k)]
            hint = f" (recorded with other options: {', '.join(diffs)})"
        return f"{self.path}: no recorded answer for {what} '{request.preview()}'{hint}"
