"""A programming problem: statement, tests (visible and hidden), limits and how to judge."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from sandbox.api import Job, JudgeSpec, Limits, TestCase

# Function tests are single asserts: generous per-test limits, as HumanEval/EvalPlus harnesses use.
FUNCTION_CPU_S = 4.0
FUNCTION_MEMORY_MB = 512
STDIO_DEFAULT_CPU_S = 2.0
STDIO_DEFAULT_MEMORY_MB = 256


class Problem(BaseModel):
    id: str
    kind: Literal["function", "stdio"]
    title: str = ""
    statement: str = ""
    starter_code: str | None = None
    entry_point: str | None = None
    test_setup: str | None = None
    module_name: str | None = None
    visible_tests: list[TestCase] = Field(default_factory=list)
    hidden_tests: list[TestCase] = Field(default_factory=list)
    time_limit_s: float | None = None
    memory_limit_mb: int | None = None
    judge: JudgeSpec = Field(default_factory=JudgeSpec)
    source: str = Field("", description="where the problem came from (path, path#id)")
    requires: list[str] = Field(default_factory=list, description="third-party packages the tests import")
    # evaluation metadata: never shown to a model
    reference_solution: str | None = None
    noisy_visible: list[int] = Field(default_factory=list, description="visible tests the reference fails")

    @property
    def has_tests(self) -> bool:
        return bool(self.visible_tests)

    def limits(self, time_multiplier: float = 1.0) -> Limits:
        if self.kind == "function":
            cpu = self.time_limit_s or FUNCTION_CPU_S
            mem = self.memory_limit_mb or FUNCTION_MEMORY_MB
        else:
            cpu = self.time_limit_s or STDIO_DEFAULT_CPU_S
            mem = self.memory_limit_mb or STDIO_DEFAULT_MEMORY_MB
        cpu *= time_multiplier
        return Limits(cpu_s=cpu, wall_s=2 * cpu + 1, memory_mb=mem)

    def tests(self, hidden: bool = False, visible: bool = True) -> list[TestCase]:
        return (list(self.visible_tests) if visible else []) + (list(self.hidden_tests) if hidden else [])

    def job(self, source: str, tests: list[TestCase] | None = None, hidden: bool = False,
            limits: Limits | None = None, repeat: int = 1, stop_on_failure: bool = False) -> Job:
        """The sandbox job that runs `source` on this problem's tests (visible, plus hidden if asked)."""
        return Job(kind=self.kind, source=source,
                   tests=tests if tests is not None else self.tests(hidden=hidden),
                   limits=limits or self.limits(), setup=self.test_setup, module_name=self.module_name,
                   entry_point=self.entry_point,
                   judge=self.judge, repeat=repeat, stop_on_failure=stop_on_failure)
