"""`hint()`: the hint mode's public entry point (CLI, TUI and benchmarks call it).

    result = await hint(program_source, problem, tutor_model, student_model, sandbox, HintConfig(max_level=2),
                        on_event=print)

Steps: run the student's program on the problem's tests (failing tests with expected vs actual);
find the smallest passing repair with the tutor model; write the ladder up to `max_level`
(nudge, concept, location, partial code) under the leak guard; validate each hint with the
student model (k repairs with it, k without). Every step emits events (the engine's NodeCreated /
NodeExecuted / Notice / Finished and the hint events in `events.py`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from sandbox.api import SandboxError
from sandbox.core import Sandbox

from ...engine.budget import Budget, BudgetExhausted
from ...engine.context import EngineContext, EventSink
from ...engine.events import Finished
from ...engine.node import Execution
from ...errors import UserError
from ...models.base import ModelBackend
from ...problems.model import Problem
from .check import ProgramCheck, check_from_execution, skipped_tests
from .diff import changes, unified_diff, word_count
from .events import HintStage, HintValidated, ProgramChecked, RepairChosen
from .ladder import LEVELS, HintLevel, Tutor, TutorSettings, Validation, syntax_hint
from .repair import RepairOutcome, RepairSearch, RepairSettings
from .validate import Student, StudentSettings


class HintConfig(BaseModel):
    max_level: int = Field(1, ge=1, le=4, description="write the ladder up to this level")
    k: int = Field(4, ge=0, le=50, description="student repairs with each hint and without; 0 skips validation")
    repair_samples: int = Field(4, ge=1, description="repair candidates per round")
    repair_rounds: int = Field(2, ge=0, description="extra rounds while no candidate passes every test")
    repair_branching: int = Field(2, ge=1, description="retries per close miss per round (chat models)")
    minimize: bool = Field(True, description="revert hunks of the repair that the tests do not need")
    retries: int = Field(2, ge=0, description="regenerations of a hint a guard rejected")
    ngram: int = Field(3, ge=2, description="token n-gram size of the leak guard")
    max_words: int = Field(160, ge=20, description="words per hint")
    max_tutor_calls: int | None = Field(40, ge=1, description="model-call budget of the tutor (repair + hints)")
    max_student_calls: int | None = Field(None, ge=1, description="model-call budget of the student")
    parallel: int = Field(2, ge=1, description="concurrent model requests per model")
    seed: int = 0
    repair_temperature: float = 0.7
    hint_temperature: float = 0.5
    student_temperature: float = 0.8
    max_tokens_per_call: int = 1024
    completion_max_tokens: int = Field(384, description="repair continuations of completion-only models")
    hint_max_tokens: int = 400
    hint_completion_max_tokens: int = 120


class RepairSummary(BaseModel):
    node_id: str
    distance: int = Field(description="token edit distance from the student's program")
    lines: list[int] = Field(description="lines of the student's program the repair changes")
    code: str
    diff: str
    minimized_from: str | None = None


class CandidateRow(BaseModel):
    id: str
    status: str
    passed: int | None = None
    total: int | None = None
    distance: int | None = None
    note: str | None = None


class HintResult(BaseModel):
    schema_version: int = Field(1, serialization_alias="schema")
    problem: str
    status: Literal["correct", "hinted", "no_hint"] = Field(
        description="correct: every test passes; hinted: at least one hint to show; no_hint: none survived")
    tutor_model: str
    tutor_can_chat: bool
    student_model: str | None = None
    student_can_chat: bool | None = None
    check: ProgramCheck
    skipped_tests: list[str] = Field(default_factory=list)
    repair: RepairSummary | None = None
    repair_stop_reason: str = ""
    candidates: list[CandidateRow] = Field(default_factory=list)
    ladder: list[HintLevel] = Field(default_factory=list)
    k: int = 0
    without_hint: int | None = Field(None, description="student successes out of k without any hint")
    budget: dict[str, Any] = Field(default_factory=dict)
    notices: list[str] = Field(default_factory=list)

    def shown(self) -> list[HintLevel]:
        """The hints a student gets: written, and kept by validation (or not validated)."""
        return [h for h in self.ladder if h.text and h.kept is not False]


def _budget(b: Budget) -> dict[str, Any]:
    return {"calls": b.calls, "prompt_tokens": b.prompt_tokens, "completion_tokens": b.completion_tokens,
            "tokens": b.tokens, "max_calls": b.max_calls}


def _candidates(outcome: RepairOutcome, search: RepairSearch) -> list[CandidateRow]:
    rows = []
    for n in outcome.nodes:
        ex = n.execution
        rows.append(CandidateRow(id=n.id, status=n.status, passed=ex.passed if ex else None,
                                 total=ex.total if ex else None, distance=search.distance.get(n.id),
                                 note=n.invalid_reason or (f"same as {n.duplicate_of}" if n.duplicate_of else None)))
    return rows


class HintSession:
    """One student program, hinted level by level (what `hint()` runs, and what a UI that reveals
    one hint at a time keeps between clicks):

        session = HintSession(program, problem, tutor, student, sandbox, config, on_event)
        result = await session.prepare()          # run the program, find the repair
        level = await session.next_level()        # write + validate hint 1, then 2 ... (None after 4)
        result = session.finish()
    """

    def __init__(self, program_source: str, problem: Problem, tutor_model: ModelBackend,
                 student_model: ModelBackend | None, sandbox: Sandbox, config: HintConfig | None = None,
                 on_event: EventSink | None = None, stream: bool = False):
        """`stream`: the models' text comes as `ModelText` events while it is written."""
        self.program = program_source
        self.problem = problem
        self.tutor_model = tutor_model
        self.student_model = student_model or tutor_model
        self.sandbox = sandbox
        self.config = config or HintConfig()
        self.on_event = on_event
        self.tutor_budget = Budget(max_calls=self.config.max_tutor_calls)
        self.student_budget = Budget(max_calls=self.config.max_student_calls)
        self.stream = stream
        self.ctx = EngineContext(tutor_model, sandbox, problem, self.tutor_budget, on_event=on_event,
                                 parallel=self.config.parallel, stream=stream)
        self.result: HintResult | None = None
        self.outcome: RepairOutcome | None = None
        self.tutor: Tutor | None = None
        self.student: Student | None = None
        self.baseline: int | None = None
        self._validation_stopped = False
        self._finished = False

    async def prepare(self) -> HintResult:
        """Run the student's program and, when it fails, find the smallest passing repair.

        Raises UserError when the problem has no tests (a hint needs a check)."""
        config, ctx, problem = self.config, self.ctx, self.problem
        where = problem.source or problem.id
        if not problem.visible_tests:
            hidden = f" (its {len(problem.hidden_tests)} hidden tests are for scoring only)" if problem.hidden_tests else ""
            raise UserError(f"{where}: the problem has no tests{hidden}; a hint needs a check: add sample tests "
                            "or pass --tests FILE")
        ctx.emit(HintStage(stage="check", message=f"running the program on {len(problem.visible_tests)} tests"))
        report = await ctx.execute(problem.job(self.program))
        if report.sandbox_error and not report.results:
            raise SandboxError(f"the sandbox could not run the program: {report.sandbox_error}")
        execution = Execution.from_report(report, len(problem.visible_tests))
        skipped = skipped_tests(execution)
        if skipped:
            problem = problem.model_copy(update={"visible_tests": [t for t in problem.visible_tests
                                                                   if t.name not in skipped]})
            execution.visible = [t for t in execution.visible if t.name not in skipped]
            self.problem = ctx.problem = problem
            ctx.notice(f"{len(skipped)} test(s) skip themselves (pytest.skip) and check nothing: not used "
                       f"({', '.join(skipped[:4])})")
            if not problem.visible_tests:
                raise UserError(f"{where}: every test skips itself; a hint needs a check")
        check = check_from_execution(problem, execution, self.program)
        ctx.emit(ProgramChecked(passed=check.passed, total=check.total, compile_error=check.compile_error,
                                failing=[f.name for f in check.failing]))
        result = self.result = HintResult(problem=problem.id, status="correct", tutor_model=self.tutor_model.spec,
                                          tutor_can_chat=bool(self.tutor_model.can_chat), check=check,
                                          skipped_tests=skipped, k=config.k)
        if check.all_passed:
            return result

        ctx.emit(HintStage(stage="repair", message="looking for the smallest repair that passes every test"))
        search = RepairSearch(ctx, self.program, check, RepairSettings(
            samples=config.repair_samples, rounds=config.repair_rounds, branching=config.repair_branching,
            temperature=config.repair_temperature, max_tokens=config.max_tokens_per_call,
            completion_max_tokens=config.completion_max_tokens, seed=config.seed, minimize=config.minimize))
        outcome = self.outcome = await search.run()
        best = outcome.best
        if best is not None:
            ch = changes(self.program, best.code)
            result.repair = RepairSummary(node_id=best.id, distance=outcome.distance or 0, lines=ch.lines_touched,
                                          code=best.code, diff=unified_diff(self.program, best.code),
                                          minimized_from=outcome.minimized_from)
        else:
            ctx.notice("no repair passing every test was found: hints are based on the failing tests only, are "
                       "not checked for leaks, and there is no partial-code hint", "warning")
        result.repair_stop_reason = outcome.stop_reason
        result.candidates = _candidates(outcome, search)
        ctx.emit(RepairChosen(node_id=best.id if best else None, distance=outcome.distance,
                              lines=result.repair.lines if result.repair else [], candidates=len(outcome.nodes),
                              passing=len(outcome.passing)))
        self.tutor = Tutor(ctx, self.program, check, best.code if best else None, TutorSettings(
            retries=config.retries, ngram=config.ngram, max_words=config.max_words,
            temperature=config.hint_temperature, max_tokens=config.hint_max_tokens,
            completion_max_tokens=config.hint_completion_max_tokens, seed=config.seed))
        if config.k > 0:
            sctx = EngineContext(self.student_model, self.sandbox, problem, self.student_budget,
                                 on_event=self.on_event, parallel=config.parallel, stream=self.stream)
            sctx.started = ctx.started  # one clock for every event of the run
            self.student = Student(sctx, self.program, check, StudentSettings(
                k=config.k, temperature=config.student_temperature, max_tokens=config.max_tokens_per_call,
                completion_max_tokens=config.completion_max_tokens, seed=config.seed))
            result.student_model = self.student_model.spec
            result.student_can_chat = bool(self.student_model.can_chat)
        result.status = "no_hint"
        return result

    async def next_level(self) -> HintLevel | None:
        """Write and validate the next level of the ladder; None when the program passes or all
        four levels are written."""
        if self.result is None:
            await self.prepare()
        result, ctx = self.result, self.ctx
        if result.check.all_passed or len(result.ladder) >= 4:
            return None
        level = len(result.ladder) + 1
        ctx.emit(HintStage(stage="ladder", message=f"writing hint {level} ({LEVELS[level][0]})"))
        if level == 1 and result.check.compile_error:
            text = syntax_hint(result.check)
            entry = HintLevel(level=1, name=LEVELS[1][0], text=text, source="syntax", words=word_count(text))
        else:
            entry = await self.tutor.level(level, [h for h in result.ladder if h.text])
        result.ladder.append(entry)
        if self.student is not None and entry.text and not self._validation_stopped:
            await self._validate(entry)
        result.status = "hinted" if result.shown() else "no_hint"
        return entry

    async def _validate(self, entry: HintLevel) -> None:
        k = self.config.k
        self.ctx.emit(HintStage(stage="validate", message=f"validating hint {entry.level}: {k} student repairs "
                                                          "with it" + ("" if self.baseline is not None
                                                                       else f" and {k} without")))
        try:
            if self.baseline is None:
                self.baseline = sum(await self.student.successes([], None))
                self.result.without_hint = self.baseline
                if self.baseline == k:
                    self.ctx.notice(f"the student model repairs the program without any hint in {k}/{k} tries: "
                                    "no hint can raise that, so none is kept", "warning")
            with_hint = sum(await self.student.successes([entry.text], entry.level))
        except BudgetExhausted as exc:
            self.ctx.notice(f"validation stopped: {exc}; later hints are not validated", "warning")
            self._validation_stopped = True
            return
        entry.validation = Validation(k=k, with_hint=with_hint, without_hint=self.baseline,
                                      kept=with_hint > self.baseline)
        self.ctx.emit(HintValidated(level=entry.level, k=k, with_hint=with_hint, without_hint=self.baseline,
                                    kept=with_hint > self.baseline))

    def finish(self) -> HintResult:
        """The result with notices and budgets; emits the engine's `Finished` once."""
        result = self.result
        notices = list(self.ctx.notices)
        if self.student is not None:
            notices += [n for n in self.student.ctx.notices if n not in notices]
        result.notices = notices
        result.budget = {"tutor": _budget(self.tutor_budget),
                         "student": _budget(self.student_budget) if self.student is not None else None}
        if not self._finished:
            self._finished = True
            shown = result.shown()
            if result.status == "correct":
                reason = "the program already passes every test"
            else:
                reason = f"{len(shown)} hint(s) to show" if shown else "no hint survived"
            self.ctx.emit(Finished(best_node_id=result.repair.node_id if result.repair else None,
                                   ranking=list(self.outcome.passing) if self.outcome else [], stop_reason=reason,
                                   summary={"status": result.status, "levels": len(result.ladder),
                                            "tutor_calls": self.tutor_budget.calls,
                                            "student_calls": self.student_budget.calls}))
        return result


async def hint(program_source: str, problem: Problem, tutor_model: ModelBackend, student_model: ModelBackend | None,
               sandbox: Sandbox, config: HintConfig | None = None, on_event: EventSink | None = None) -> HintResult:
    """Hints for a buggy program up to `config.max_level`; the caller owns the models and the
    sandbox (and closes them). `student_model` None: the tutor model validates its own hints.

    Raises UserError when the problem has no tests (a hint needs a check)."""
    session = HintSession(program_source, problem, tutor_model, student_model, sandbox, config, on_event)
    await session.prepare()
    while len(session.result.ladder) < session.config.max_level and await session.next_level() is not None:
        pass
    return session.finish()


def result_json(result: HintResult, program: str | None = None, show_repair: bool = False) -> dict[str, Any]:
    """The `orps hint --json` document (schema in assistant/modes/hint/README.md)."""
    doc = result.model_dump(mode="json", by_alias=True)
    doc = {"schema": doc.pop("schema"), "program": program, **doc}
    if doc.get("repair") is not None and not show_repair:
        doc["repair"]["code"] = None
        doc["repair"]["diff"] = None
    for level, entry in zip(result.ladder, doc["ladder"]):
        entry["kept"] = level.kept
        if not show_repair:  # a rejected draft may quote the fix: only its reason is public
            for rejected in entry["rejected"]:
                rejected["text"] = None
    doc["shown_levels"] = [h.level for h in result.shown()]
    return doc


__all__ = ["HintConfig", "HintResult", "HintSession", "RepairSummary", "hint", "result_json"]
