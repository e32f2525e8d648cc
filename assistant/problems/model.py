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
    language: str = Field("python", description="the language candidates are written in (a key of the "
                                                "sandbox's language table)")
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

    def test_limits(self, test: TestCase) -> Limits:
        """The limits `test` runs under: its test set's own, else the problem's."""
        return test.limits or self.limits()

    def has_test_set_limits(self) -> bool:
        return any(t.limits is not None for t in self.visible_tests + self.hidden_tests)

    def with_limits(self, time_s: float | None = None, memory_mb: int | None = None) -> Problem:
        """This problem with its time and/or memory limit replaced for every test (what
        --time-limit / --memory-limit do): a test set's own limit gives way too."""
        if time_s is None and memory_mb is None:
            return self
        update: dict = {}
        if time_s is not None:
            update["time_limit_s"] = time_s
        if memory_mb is not None:
            update["memory_limit_mb"] = memory_mb
        problem = self.model_copy(update=update)

        def override(test: TestCase) -> TestCase:
            if test.limits is None:
                return test
            changes: dict = {}
            if time_s is not None:
                changes.update(cpu_s=time_s, wall_s=None)
            if memory_mb is not None:
                changes["memory_mb"] = memory_mb
            return test.model_copy(update={"limits": test.limits.model_copy(update=changes)})

        problem.visible_tests = [override(t) for t in self.visible_tests]
        problem.hidden_tests = [override(t) for t in self.hidden_tests]
        return problem

    def tests(self, hidden: bool = False, visible: bool = True) -> list[TestCase]:
        return (list(self.visible_tests) if visible else []) + (list(self.hidden_tests) if hidden else [])

    def job(self, source: str, tests: list[TestCase] | None = None, hidden: bool = False,
            limits: Limits | None = None, repeat: int = 1, stop_on_failure: bool = False,
            language: str | None = None, sanitize: bool = False) -> Job:
        """The sandbox job that runs `source` on this problem's tests (visible, plus hidden if asked).

        Each test keeps its test set's own limits; explicit `limits` (a measurement's, a tool's)
        replace them for every test. The program is in `language` (default: the problem's)."""
        tests = tests if tests is not None else self.tests(hidden=hidden)
        if limits is not None:
            tests = [t.model_copy(update={"limits": None}) if t.limits is not None else t for t in tests]
        return Job(kind=self.kind, source=source, tests=tests,
                   limits=limits or self.limits(), setup=self.test_setup, module_name=self.module_name,
                   entry_point=self.entry_point,
                   judge=self.judge, repeat=repeat, stop_on_failure=stop_on_failure,
                   language=language or self.language, sanitize=sanitize)
