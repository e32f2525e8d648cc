"""A scripted model for tests: answers from a list or a function, and remembers every request.

    model = ScriptedModel(responses=["first answer", "second answer"])
    model = ScriptedModel(handler=lambda req: "yes" if "prime" in req.text else "no")
    model = ScriptedModel(responses=[...], can_chat=False)   # a base, completion-only model
    ...
    assert model.requests[0].options.seed == 7

A response (list item or handler result) is a `str`, a full `Completion` (kept as given, for
exact token counts) or an exception instance (raised). A handler may be sync or async. For a
`str` the token counts are whitespace word counts: deterministic, so budget logic can be tested,
and never presented as a real model's figures. `on_text` receives the text in word-sized pieces.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable
from typing import Any

from .base import Completion, GenerationOptions, Message, ModelBackend, ModelError, ModelRequest, TextCallback

Response = str | Completion | BaseException
Handler = Callable[[ModelRequest], Any]


class ScriptedModel(ModelBackend):
    """Deterministic stand-in for a model backend (see module docstring)."""

    def __init__(self, responses: Iterable[Response] | None = None, *,
                 handler: Handler | None = None, can_chat: bool = True, can_complete: bool = True,
                 supports_json_schema: bool = False, context_tokens: int = 8192,
                 name: str = "scripted") -> None:
        if (responses is None) == (handler is None):
            raise ValueError("ScriptedModel needs exactly one of responses=[...] or handler=...")
        self._responses = list(responses) if responses is not None else None
        self._handler = handler
        self.can_chat = can_chat
        self.can_complete = can_complete
        self.supports_json_schema = supports_json_schema
        self.context_tokens = context_tokens
        self.name = name
        self.requests: list[ModelRequest] = []
        self.closed = False

    @property
    def remaining(self) -> int:
        """Scripted responses not used yet (0 for a handler)."""
        return len(self._responses) if self._responses is not None else 0

    @property
    def last_request(self) -> ModelRequest:
        return self.requests[-1]

    def describe(self) -> dict[str, Any]:
        return {"backend": "scripted", "name": self.name, "can_chat": self.can_chat,
                "can_complete": self.can_complete,
                "supports_json_schema": self.supports_json_schema,
                "context_tokens": self.context_tokens}

    async def chat(self, messages: list[Message], options: GenerationOptions,
                   on_text: TextCallback | None = None) -> Completion:
        if not self.can_chat:
            return await super().chat(messages, options, on_text)  # NotImplementedError
        return await self._answer(ModelRequest(kind="chat", messages=list(messages),
                                               options=options), on_text)

    async def complete(self, prompt: str, options: GenerationOptions,
                       on_text: TextCallback | None = None) -> Completion:
        if not self.can_complete:
            return await super().complete(prompt, options, on_text)  # NotImplementedError
        return await self._answer(ModelRequest(kind="complete", prompt=prompt, options=options),
                                  on_text)

    async def _answer(self, request: ModelRequest, on_text: TextCallback | None) -> Completion:
        self.requests.append(request)
        if self._handler is not None:
            result = self._handler(request)
            if inspect.isawaitable(result):
                result = await result
        elif self._responses:
            result = self._responses.pop(0)
        else:
            raise ModelError(f"{self.name}: no scripted response left for request "
                             f"#{len(self.requests)} ({request.kind} '{request.preview()}')")
        if isinstance(result, BaseException):
            raise result
        if isinstance(result, Completion):
            completion = result.model_copy()
        elif isinstance(result, str):
            prompt_text = (request.prompt if request.kind == "complete"
                           else "\n".join(m.content for m in request.messages or []))
            completion = Completion(text=result, model=self.name,
                                    prompt_tokens=len(prompt_text.split()),
                                    completion_tokens=len(result.split()), finish_reason="stop")
        else:
            raise TypeError(f"ScriptedModel: a response must be str, Completion or an exception, "
                            f"got {type(result).__name__}")
        completion.backend = completion.backend or self.name
        if on_text is not None:
            for piece in re.findall(r"\s*\S+|\s+", completion.text):
                on_text(piece)
        return completion

    async def aclose(self) -> None:
        self.closed = True
