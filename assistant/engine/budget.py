"""Budgets on model calls, tokens and wall time, counted the same way for every method."""

from __future__ import annotations

import time

from pydantic import BaseModel, Field


class BudgetExhausted(Exception):
    """No model call may start: a cap was reached. The search ends with what it has."""


class Budget(BaseModel):
    max_calls: int | None = Field(None, ge=1)
    max_tokens: int | None = Field(None, ge=1)
    max_wall_s: float | None = Field(None, gt=0)
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    started: float = Field(default_factory=time.monotonic)
    reserved: int = 0  # calls started but not finished

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def wall_s(self) -> float:
        return time.monotonic() - self.started

    def exhausted_reason(self) -> str | None:
        if self.max_calls is not None and self.calls + self.reserved >= self.max_calls:
            return f"model-call budget of {self.max_calls} used"
        if self.max_tokens is not None and self.tokens >= self.max_tokens:
            return f"token budget of {self.max_tokens} used"
        if self.max_wall_s is not None and self.wall_s >= self.max_wall_s:
            return f"wall-time budget of {self.max_wall_s:g}s used"
        return None

    def reserve(self) -> None:
        reason = self.exhausted_reason()
        if reason:
            raise BudgetExhausted(reason)
        self.reserved += 1

    def settle(self, prompt_tokens: int, completion_tokens: int) -> None:
        self.reserved -= 1
        self.calls += 1
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens

    def release(self) -> None:
        """A reserved call that failed before reaching the model does not count."""
        self.reserved -= 1

    def remaining_calls(self) -> int | None:
        return None if self.max_calls is None else max(0, self.max_calls - self.calls - self.reserved)
