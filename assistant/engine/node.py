"""A node of the search tree: one candidate program with its execution report and critique."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from sandbox.api import ExecutionReport, Mismatch, TestResult

NodeStatus = Literal["invalid", "duplicate", "executed", "critiqued", "pruned"]


class Critique(BaseModel):
    """What the critic said: read from a structured reply, or parsed out of free text."""

    analysis: str = ""
    complexity: str = ""
    suggestion: str = ""
    score: int | None = Field(None, ge=1, le=5)
    done: bool = False
    raw: str = ""
    parsed_from: Literal["json", "text", "none"] = "none"

    def summary(self, limit: int = 110) -> str:
        text = " ".join((self.analysis or self.suggestion or self.raw).split())
        return text if len(text) <= limit else text[: limit - 1] + "\u2026"


class TestOutcome(BaseModel):
    """One test's result as the engine keeps it (prompts and the UI read these)."""

    __test__ = False

    name: str
    verdict: str
    detail: str = ""
    expected: str | None = None
    actual: str | None = None
    cpu_ms: float | None = None
    peak_rss_kb: int | None = None
    error_type: str | None = None
    traceback: str | None = None
    stdout: str = ""
    rule: str | None = None
    mismatch: Mismatch | None = None

    @classmethod
    def from_result(cls, r: TestResult) -> TestOutcome:
        return cls(name=r.name or f"test {r.index + 1}", verdict=r.verdict.value, detail=r.detail,
                   expected=r.expected, actual=r.actual, cpu_ms=r.cpu_ms, peak_rss_kb=r.peak_rss_kb,
                   error_type=r.error_type, traceback=r.traceback, stdout=r.stdout[:500], rule=r.rule,
                   mismatch=r.mismatch)


class Execution(BaseModel):
    """A candidate's run on the visible tests (and the generated tests, kept apart)."""

    visible: list[TestOutcome] = Field(default_factory=list)
    generated: list[TestOutcome] = Field(default_factory=list)
    compile_error: str | None = None
    sandbox_error: str | None = None
    cpu_ms: float | None = Field(None, description="sum over visible tests of median CPU time")
    peak_rss_kb: int | None = None
    instructions: int | None = None
    elapsed_ms: float = 0.0

    @property
    def passed(self) -> int:
        return sum(t.verdict == "AC" for t in self.visible)

    @property
    def total(self) -> int:
        return len(self.visible)

    @property
    def generated_passed(self) -> int:
        return sum(t.verdict == "AC" for t in self.generated)

    def passed_names(self) -> set[str]:
        return {t.name for t in self.visible if t.verdict == "AC"}

    def verdicts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for t in self.visible:
            counts[t.verdict] = counts.get(t.verdict, 0) + 1
        return counts

    @classmethod
    def from_report(cls, report: ExecutionReport, n_visible: int) -> Execution:
        results = report.results
        visible = [TestOutcome.from_result(r) for r in results[:n_visible]]
        generated = [TestOutcome.from_result(r) for r in results[n_visible:]]
        cpu = [r.cpu_ms for r in results[:n_visible]]
        mem = [r.peak_rss_kb for r in results if r.peak_rss_kb is not None]
        instr = [r.instructions for r in results[:n_visible]]
        return cls(visible=visible, generated=generated, compile_error=report.compile_error,
                   sandbox_error=report.sandbox_error,
                   cpu_ms=sum(cpu) if cpu and all(c is not None for c in cpu) else None,
                   peak_rss_kb=max(mem) if mem else None,
                   instructions=sum(instr) if instr and all(i is not None for i in instr) else None,
                   elapsed_ms=report.elapsed_ms)


class Node(BaseModel):
    id: str
    parent_id: str | None = None
    round: int = 0
    strategy: str = ""
    role: Literal["programmer", "sample", "reflexion", "cot"] = "programmer"
    reasoning: str = ""
    code: str = ""
    language: str = Field("python", description="the program's language (a key of the sandbox's table)")
    code_hash: str = ""
    status: NodeStatus = "executed"
    invalid_reason: str | None = None
    duplicate_of: str | None = None
    execution: Execution | None = None
    critique: Critique | None = None
    outcome_score: float = 0.0
    complexity: str | None = Field(None, description="empirical complexity class, when measured")
    final_cpu_ms: float | None = Field(None, description="median CPU over repeated runs (finalists)")
    tokens: int = 0
    pinned: bool = False
    diff: str | None = Field(None, description="fix mode: the candidate patch as a unified diff")

    @property
    def runnable(self) -> bool:
        return self.status not in ("invalid", "duplicate") and self.execution is not None
