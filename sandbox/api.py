"""The sandbox's public interface: what to run, under which limits, and what came out.

Every mode (solve, fix, hint, judge) talks to the sandbox through these types only. A backend
(Docker or local) turns a `Job` into an `ExecutionReport`; `sandbox.judge` decides verdicts.
"""

from __future__ import annotations

import statistics
from enum import Enum
from typing import Literal

from pydantic import BaseModel, Field


class Verdict(str, Enum):
    AC = "AC"  # accepted
    WA = "WA"  # wrong answer / failed assertion
    TLE = "TLE"  # time limit exceeded (CPU or wall)
    MLE = "MLE"  # memory limit exceeded
    RE = "RE"  # runtime error
    OLE = "OLE"  # output limit exceeded
    CE = "CE"  # does not compile (syntax error)

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.value


class Limits(BaseModel):
    """Per-test limits, enforced by the sandbox (rlimits, wall-clock timer, cgroup backstops)."""

    cpu_s: float = Field(2.0, gt=0, description="CPU time per test (user+system), seconds")
    wall_s: float | None = Field(None, gt=0, description="wall time per test; default 2*cpu+1")
    memory_mb: int = Field(256, gt=0, description="memory the program may allocate, MiB")
    output_bytes: int = Field(16 << 20, gt=0, description="cap on stdout, stderr and any file written")

    @property
    def wall(self) -> float:
        return self.wall_s if self.wall_s is not None else 2 * self.cpu_s + 1

    def for_runner(self) -> dict:
        return {"cpu_s": self.cpu_s, "wall_s": self.wall, "memory_mb": self.memory_mb,
                "output_bytes": self.output_bytes}


class JudgeSpec(BaseModel):
    """How stdout is compared with the expected output (stdin/stdout problems).

    `tokens` compares whitespace-separated tokens; `lines` compares lines (trailing spaces and
    blank lines at the end ignored); `exact` compares bytes. Under a float tolerance a number in
    the expected output matches a number within the absolute or relative error, except that an
    integer in the expected output must be matched exactly unless `reals` says every number is
    real (then integers get the tolerance too, as Kattis's default validator does)."""

    type: Literal["tokens", "exact", "lines"] = "tokens"
    float_tolerance: float | None = Field(None, ge=0, description="absolute and relative tolerance")
    float_absolute_tolerance: float | None = Field(None, ge=0)
    float_relative_tolerance: float | None = Field(None, ge=0)
    reals: bool = Field(False, description="every number is real: integer tokens get the tolerance too")
    case_sensitive: bool = True
    space_change_sensitive: bool = Field(False, description="tokens: whitespace must match exactly too")
    checker: str | None = Field(None, description="source of a checker program")
    checker_language: str = Field("python", description="the checker's language (a key of the language table); "
                                                         "a compiled checker is built once, like a solution")
    checker_style: Literal["testlib", "kattis"] = Field(
        "testlib", description="testlib: argv input output answer, exit 0 = accepted; kattis: argv input "
                               "answer feedback_dir [flags], output on stdin, exit 42 = accepted, 43 = wrong")
    checker_flags: list[str] = Field(default_factory=list, description="kattis: extra arguments for the checker")
    checker_name: str = Field("", description="where the checker came from, for messages")

    @property
    def absolute_tolerance(self) -> float | None:
        return self.float_absolute_tolerance if self.float_absolute_tolerance is not None else self.float_tolerance

    @property
    def relative_tolerance(self) -> float | None:
        return self.float_relative_tolerance if self.float_relative_tolerance is not None else self.float_tolerance

    @property
    def uses_tolerance(self) -> bool:
        return self.absolute_tolerance is not None or self.relative_tolerance is not None


class TestCase(BaseModel):
    """One test: an assert snippet (function problems) or an input/output pair (stdin/stdout)."""

    __test__ = False  # not a pytest class

    name: str = ""
    code: str | None = None
    input: str | None = None
    output: str | None = None
    argv: list[str] | None = Field(None, description="command jobs: this test's command line")
    limits: Limits | None = Field(None, description="this test's own limits (a test set's); else the job's")
    judge: JudgeSpec | None = Field(None, description="this test's own judge (a test group's flags); else the job's")


class Job(BaseModel):
    """A program and the tests to run it on.

    `command` jobs run a program (e.g. `python -m pytest`) in a fresh copy of a directory tree
    mounted into the sandbox (`copy_from`), with `files` written over it; `collect` names files
    (e.g. a junit report) to read back. Only `orps fix` uses them."""

    kind: Literal["function", "stdio", "command"]
    source: str = ""
    tests: list[TestCase]
    limits: Limits = Field(default_factory=Limits)
    setup: str | None = Field(None, description="function problems: code run before each test")
    module_name: str | None = Field(None, description="save the solution as MODULE.py; tests import it")
    language: str = Field("python", description="a key of the language table (sandbox/languages.toml)")
    sanitize: bool = Field(False, description="compiled languages: build with address and undefined-behaviour "
                                              "sanitizers (slower; explains a runtime error)")
    entry_point: str | None = Field(None, description="function problems: the function the tests call "
                                    "(resolved to the solution's even when it shadows a builtin)")
    files: dict[str, str] = Field(default_factory=dict, description="extra files in the work dir")
    judge: JudgeSpec = Field(default_factory=JudgeSpec)
    repeat: int = Field(1, ge=1, le=50, description="runs per passing test; CPU time is the median")
    stop_on_failure: bool = False
    argv: list[str] | None = Field(None, description="command jobs: the command line")
    copy_from: str | None = Field(None, description="command jobs: tree to copy (path inside the sandbox)")
    collect: list[str] = Field(default_factory=list, description="command jobs: files to read back")
    env: dict[str, str] = Field(default_factory=dict, description="command jobs: extra environment")

    @property
    def filename(self) -> str:
        if self.language != "python":
            from .languages import language
            return language(self.language).source
        return f"{self.module_name}.py" if self.module_name else "solution.py"


class Mismatch(BaseModel):
    """Where a wrong answer first differs from the expected output, with a few lines around it."""

    expected_line: int = Field(description="1-based line of the expected output (one past the end: it ended)")
    actual_line: int = Field(description="1-based line of the program's output (one past the end: it ended)")
    expected: list[tuple[int, str]] = Field(default_factory=list, description="(line number, text) around it")
    actual: list[tuple[int, str]] = Field(default_factory=list)
    reason: str = ""


class TestResult(BaseModel):
    __test__ = False

    index: int
    name: str = ""
    verdict: Verdict
    detail: str = ""
    wall_ms: float | None = None
    cpu_ms: float | None = None
    cpu_ms_runs: list[float] = Field(default_factory=list)
    peak_rss_kb: int | None = None
    instructions: int | None = None
    exit_code: int | None = None
    signal: int | None = None
    error_type: str | None = None
    message: str | None = None
    traceback: str | None = None
    expected: str | None = None
    actual: str | None = None
    stdout: str = ""
    stderr: str = ""
    leftover_processes: int = 0
    temp_kb: int | None = Field(None, description="peak size of the files the program wrote, KiB")
    harness: dict[str, int] = Field(default_factory=dict,
                                    description="function tests: calls into the program, and live objects "
                                                "(solution objects kept by handle, test objects lent to it)")
    files: dict[str, str] = Field(default_factory=dict, description="command jobs: collected files")
    rule: str | None = Field(None, description="what judged the output: tokens, lines, exact, float "
                                               "tolerance or checker (None when the output was not judged)")
    mismatch: Mismatch | None = Field(None, description="WA: where the output first differs")

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.AC


class ExecutionReport(BaseModel):
    """What one job produced: a result per test (in order), or a compile error."""

    kind: Literal["function", "stdio", "command"]
    results: list[TestResult] = Field(default_factory=list)
    compile_error: str | None = None
    compile_ms: float | None = Field(None, description="compiled languages: build time (never part of a test's)")
    compile_cached: bool | None = Field(None, description="the build came from the cache")
    backend: str = ""
    image: str | None = None
    runner_python: str | None = None
    instructions_unavailable: str | None = None
    seccomp: str | None = Field(None, description="state of the system-call filter: active, or why not")
    sandbox_error: str | None = None
    elapsed_ms: float = 0.0

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def all_passed(self) -> bool:
        return self.compile_error is None and self.sandbox_error is None and self.total > 0 \
            and self.passed == self.total

    @property
    def pass_ratio(self) -> float:
        return self.passed / self.total if self.total else 0.0

    def verdict_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.results:
            counts[r.verdict.value] = counts.get(r.verdict.value, 0) + 1
        return counts

    def cpu_ms_total(self) -> float | None:
        """Sum over tests of the median CPU time (all tests must have been measured)."""
        values = [statistics.median(r.cpu_ms_runs) if r.cpu_ms_runs else r.cpu_ms for r in self.results]
        if not values or any(v is None for v in values):
            return None
        return float(sum(values))

    def peak_rss_kb(self) -> int | None:
        values = [r.peak_rss_kb for r in self.results if r.peak_rss_kb is not None]
        return max(values) if values else None


class SandboxError(RuntimeError):
    """The sandbox itself failed (engine down, image missing, runner lost); not the candidate's fault."""
