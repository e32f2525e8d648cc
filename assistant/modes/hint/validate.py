"""Validation: does a hint help a student model repair the program?

The student model repairs the buggy program k times with the hint and k times without it (the
same k seeds both ways, so the two conditions differ only by the hint); each repair runs in the
sandbox and counts when it passes every test. A hint is kept only when it raises the count.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ...engine.budget import BudgetExhausted
from ...engine.context import EngineContext
from ...engine.node import Execution
from ...models.base import GenerationOptions, ModelError
from .check import ProgramCheck
from .events import StudentAttempt
from .repair import parse_repair, repair_prompt


@dataclass
class StudentSettings:
    k: int = 4
    temperature: float = 0.8
    max_tokens: int = 1024
    completion_max_tokens: int = 384
    seed: int = 0


class Student:
    def __init__(self, ctx: EngineContext, program: str, check: ProgramCheck, settings: StudentSettings):
        self.ctx = ctx
        self.problem = ctx.problem
        self.program = program
        self.check = check
        self.settings = settings
        self.chat = bool(ctx.model.can_chat)

    async def _attempt(self, hints: list[str], level: int | None, i: int) -> bool:
        s = self.settings
        request = repair_prompt(self.problem, self.program, self.check, self.chat, hints)
        options = GenerationOptions(temperature=s.temperature, seed=(s.seed * 1_000_003 + 7919 * (i + 1)) % (2 ** 31),
                                    max_tokens=s.max_tokens if request.messages is not None else s.completion_max_tokens,
                                    stop=request.stops)
        try:
            if request.messages is not None:
                reply = await self.ctx.call("student", options, messages=request.messages)
            else:
                reply = await self.ctx.call("student", options, prompt=request.prompt)
        except ModelError as exc:
            self.ctx.emit(StudentAttempt(level=level, attempt=i + 1, passed=False, detail=f"model error: {exc}"))
            return False
        got = parse_repair(self.problem, self.program, reply.text, request)
        if got.code is None:
            self.ctx.emit(StudentAttempt(level=level, attempt=i + 1, passed=False, detail=got.error or "no program"))
            return False
        report = await self.ctx.execute(self.problem.job(got.code))
        ex = Execution.from_report(report, len(self.problem.visible_tests))
        passed = ex.compile_error is None and ex.total > 0 and ex.passed == ex.total
        detail = f"{ex.passed}/{ex.total} tests pass" + (" (does not compile)" if ex.compile_error else "")
        self.ctx.emit(StudentAttempt(level=level, attempt=i + 1, passed=passed, detail=detail))
        return passed

    async def successes(self, hints: list[str], level: int | None) -> list[bool]:
        """k repairs (with `hints`, or none); raises BudgetExhausted when the budget ran out."""
        results = await asyncio.gather(*(self._attempt(hints, level, i) for i in range(self.settings.k)),
                                       return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException):
                raise r
        return list(results)


__all__ = ["Student", "StudentSettings", "BudgetExhausted"]
