"""The search: execution-grounded tree refinement (orps) and the baselines, in one engine.

Every method shares node development (model call -> code extraction -> de-duplication -> sandbox
execution -> critique), budget accounting and the final pick, so comparisons at an equal number
of model calls are fair. Only visible and generated tests ever steer or pick; hidden tests never
enter this module.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

from sandbox.api import ExecutionReport, TestCase

from ..models.base import GenerationOptions, Message
from .budget import BudgetExhausted
from .context import EngineContext
from .critic import format_report
from .events import Finished, NodeExecuted
from .lifecycle import InOrder, announce, ask, close_round, critique, develop_all
from .extract import normalized_hash
from .node import Execution, Node, TestOutcome
from .programmer import (completion_prompt, completion_stops, fenced, first_messages, lineage, parse_chat_reply,
                         parse_completion, refine_messages, strategy, task_message, system_message)
from .prompting import render, render_for
from .scoring import agreement_scores, beam_key, final_key, generated_ratio, node_index, outcome_score, visible_ratio

log = logging.getLogger(__name__)

Method = Literal["orps", "bon", "cot", "reflexion"]


class SearchConfig(BaseModel):
    method: Method = "orps"
    initial: int = Field(4, ge=1, description="round-0 candidates, each with its own strategy hint")
    beam: int = Field(2, ge=1, description="K: nodes kept after each round")
    branching: int = Field(2, ge=1, description="children per beam node per round")
    rounds: int = Field(3, ge=0, description="refinement rounds after round 0")
    max_calls: int | None = Field(40, ge=1, description="model-call budget (every role counts)")
    max_tokens: int | None = Field(None, ge=1)
    max_wall_s: float | None = Field(None, gt=0)
    parallel: int = Field(2, ge=1, description="concurrent model requests")
    temperature: float = 0.6
    sample_temperature: float = 0.8
    critic_temperature: float = 0.2
    max_tokens_per_call: int = 1024
    completion_max_tokens: int = Field(384, description="per call on completion-only (base) models")
    critic_max_tokens: int = 400
    seed: int = 0
    critic: bool = True
    generated_tests: bool = True
    max_generated_tests: int = 10
    counterexamples: bool = True
    adaptive: bool = True
    finalists: int = 3
    repeat_final: int = 3
    complexity: bool = True


class SearchResult(BaseModel):
    problem_id: str
    method: Method
    language: str = "python"
    model: str
    can_chat: bool
    nodes: list[Node]
    ranking: list[str]
    best_node_id: str | None
    stop_reason: str
    suspect_tests: list[str] = Field(default_factory=list)
    generated_tests: list[TestCase] = Field(default_factory=list)
    test_trust: dict[str, float] = Field(default_factory=dict)
    counterexamples: list[dict[str, Any]] = Field(default_factory=list)
    budget: dict[str, Any] = Field(default_factory=dict)
    timeline: dict[str, Any] = Field(default_factory=dict)
    notices: list[str] = Field(default_factory=list)
    unverified: bool = False
    config: SearchConfig

    def node(self, node_id: str) -> Node | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    @property
    def best(self) -> Node | None:
        return self.node(self.best_node_id) if self.best_node_id else None


@dataclass
class SearchControl:
    """Steering from a front end while the search runs (thread-safe: the TUI sets it).

    `stop`: no new model call starts; calls in flight finish and the search ranks what it has.
    `pinned` nodes always stay in the beam; `pruned` nodes never enter it."""

    stop: threading.Event = field(default_factory=threading.Event)
    pinned: set[str] = field(default_factory=set)
    pruned: set[str] = field(default_factory=set)


Measurements = dict[str, Any]  # from a trace: {"cost": {hash: ms}, "tests": {(hash, test name): (cpu ms, rss kb)}}


@dataclass
class Spec:
    """A node to develop: its id and parent are fixed before any call, so runs are reproducible."""

    node_id: str
    parent: Node | None
    round: int
    strategy: str
    role: str
    messages: list[Message] | None = None
    prompt: str | None = None
    program_prefix: str = ""
    order: InOrder | None = None  # its batch's turns for the duplicate check
    index: int = 0


class Engine:
    def __init__(self, ctx: EngineContext, config: SearchConfig, measurements: Measurements | None = None,
                 control: SearchControl | None = None, previous: SearchResult | None = None):
        self.ctx = ctx
        self.config = config
        self.problem = ctx.problem
        self.nodes: dict[str, Node] = {}
        self.by_hash: dict[str, str] = {}
        self._counter = 0
        self.stop_reason = ""
        self.suspect: set[str] = set()
        self.trust: dict[str, float] = {}
        self.agreement: dict[str, tuple[float, int]] = {}  # node id -> (group score, group rank)
        self.generated: list[TestCase] = []
        self.counterexamples: list[dict[str, Any]] = []
        self._gentests: asyncio.Task | None = None
        self._stdio_tools = None
        self._checked_for_counterexample: set[str] = set()
        # Replaying a trace: the costs and per-test timings it recorded stand in for this run's, so
        # every prompt (reports carry CPU ms and MB) and every ranking comes out exactly the same.
        measurements = measurements or {}
        self.recorded: dict[str, float] = dict(measurements.get("cost", {}))
        self.recorded_tests: dict[tuple[str, str], tuple[float | None, int | None]] = dict(measurements.get("tests", {}))
        self.measured: dict[str, float] = {}      # code hash -> CPU ms the ranking used in this run
        self.control = control or SearchControl()
        self._early: dict[str, asyncio.Task] = {}   # code hash -> timing started as soon as it looked best
        self._without_generated: set[str] = set()  # ran before the generated tests existed
        self._timed_with: dict[str, int] = {}      # code hash -> number of tests its final timing used
        self._best_ratio_seen = 0.0
        self._ranking_given = False
        self._scaled = None                        # inputs of growing size for complexity (False: none)
        if previous is not None:
            self._adopt(previous)
        self.can_chat = bool(ctx.model.can_chat)
        self._models_ok = False
        self._first_answer = asyncio.Event()  # side tasks wait for proof that the model answers

    def _adopt(self, previous: SearchResult) -> None:
        """Continue from an earlier run: its nodes keep their ids, new ones follow."""
        for n in previous.nodes:
            node = n.model_copy(deep=True)
            if node.status == "pruned":
                node.status = "critiqued" if node.critique else "executed"
            self.nodes[node.id] = node
            if node.runnable and node.code_hash:
                self.by_hash.setdefault(node.code_hash, node.id)
        self._counter = 1 + max((int(i[1:]) for i in self.nodes), default=-1)
        self.generated = list(previous.generated_tests)
        self.suspect = set(previous.suspect_tests)
        self.trust = dict(previous.test_trust)
        self.counterexamples = list(previous.counterexamples)

    # ------------------------------------------------------------------ public

    async def refine_from(self, node_id: str) -> SearchResult:
        """More refinement rounds with the beam seeded by one node (of an adopted earlier run)."""
        node = self.nodes.get(node_id)
        if node is None or not node.runnable:
            raise ValueError(f"{node_id} is not a runnable candidate of this run")
        if not self.can_chat:
            raise ValueError(f"{self.ctx.model.spec} cannot chat: refinement needs a chat model")
        self.control.pinned.add(node_id)
        try:
            try:
                await self._orps(start=[node])
            except BudgetExhausted as exc:
                self.stop_reason = str(exc)
            return await self._finalize()
        finally:
            self._settle_side_tasks()

    async def rank_given(self, candidates: list[tuple[str, str | None, str]],
                         generated: list[TestCase] | None = None) -> SearchResult:
        """Rank programs that were written elsewhere through the final pick every search ends with.

        `candidates` are (label, program or None, why there is none); each becomes a node, in
        order, de-duplicated like the search's own. `generated` tests are used as given; without
        them and with `config.generated_tests`, the model writes them as in a search."""
        self._ranking_given = True
        try:
            if generated is not None:
                self.generated = [t.model_copy(update={"name": f"gen-{i + 1}"}) for i, t in enumerate(generated)]
            elif self.config.generated_tests:
                self._first_answer.set()  # no programmer call comes first: the model is asked at once
                await self._make_generated_tests()
            pending = []
            for label, code, why in candidates:
                node = Node(id=self._next_id(), round=0, strategy=label, role="sample", code=code or "")
                if code is None:
                    node.status, node.invalid_reason = "invalid", why or "no program"
                else:
                    node.code_hash = normalized_hash(code)
                    original = self.by_hash.get(node.code_hash)
                    if original is not None:
                        node.status, node.duplicate_of = "duplicate", original
                    else:
                        self.by_hash[node.code_hash] = node.id
                        pending.append(node)
                self.nodes[node.id] = node
                announce(self.ctx, node)
            await asyncio.gather(*(self._execute(n) for n in pending))
            self._update_suspects()
            self._update_trust()
            self.stop_reason = f"{len(candidates)} candidates ranked"
            return await self._finalize()
        finally:
            self._settle_side_tasks()

    async def run(self) -> SearchResult:
        try:
            return await self._run()
        finally:
            self._settle_side_tasks()

    def _settle_side_tasks(self) -> None:
        """Generated tests and early timings run beside the search: when it ends (or is cancelled)
        the unfinished ones are cancelled and the failed ones' errors are consumed, so nothing
        keeps running on the loop after the run or is reported as a never-retrieved exception."""
        for task in [self._gentests, *self._early.values()]:
            if task is None:
                continue
            if not task.done():
                task.cancel()
            elif not task.cancelled():
                task.exception()

    async def _run(self) -> SearchResult:
        method = self.config.method
        try:
            if not self.problem.visible_tests:
                self.ctx.notice("the problem has no tests: results are unverified; candidates are only "
                                "checked to run and against generated tests", "warning")
            if not self.can_chat:
                self.ctx.notice(f"{self.ctx.model.spec} is a completion-only model: no critic and no refinement; "
                                "orps samples candidates and selects them by execution", "warning")
            if method == "orps" and self.can_chat:
                await self._orps()
            elif method == "orps" or method == "bon":
                await self._sample(hinted=method == "orps")
            elif method == "cot":
                await self._cot()
            elif method == "reflexion":
                await self._reflexion()
        except BudgetExhausted as exc:
            self.stop_reason = str(exc)
        if self._gentests is not None and not self._gentests.done():
            self._gentests.cancel()
        if not self.stop_reason:
            self.stop_reason = "search finished"
        return await self._finalize()

    # ------------------------------------------------------------------ node development

    def _next_id(self) -> str:
        node_id = f"n{self._counter}"
        self._counter += 1
        return node_id

    def _seed(self, node_id: str, role: int = 0) -> int:
        return (self.config.seed * 1_000_003 + int(node_id[1:]) * 7 + role) % (2 ** 31)

    def _chat_spec(self, parent: Node | None, round_: int, strategy_text: str, role: str = "programmer",
                   messages: list[Message] | None = None) -> Spec:
        node_id = self._next_id()
        if messages is None:
            if parent is None:
                messages = first_messages(self.problem, strategy_text)
            else:
                messages = refine_messages(self.problem, lineage(self.nodes, parent), strategy_text, self.suspect)
        return Spec(node_id, parent, round_, strategy_text, role, messages=messages)

    def _completion_spec(self, round_: int, strategy_text: str, role: str = "sample") -> Spec:
        prompt, prefix = completion_prompt(self.problem, strategy_text)
        return Spec(self._next_id(), None, round_, strategy_text, role, prompt=prompt, program_prefix=prefix)

    def _check_stop(self) -> None:
        if self.control.stop.is_set():
            raise BudgetExhausted("stopped by the user")

    async def _develop(self, spec: Spec) -> Node | None:
        self._check_stop()
        temperature = self.config.sample_temperature if spec.role == "sample" else self.config.temperature
        max_tokens = self.config.max_tokens_per_call if spec.prompt is None else self.config.completion_max_tokens
        options = GenerationOptions(temperature=temperature, max_tokens=max_tokens,
                                    seed=self._seed(spec.node_id),
                                    stop=completion_stops(self.problem) if spec.prompt is not None else [])
        completion = await ask(self.ctx, "programmer", options, spec.node_id, spec.messages, spec.prompt,
                               answered=self._models_ok)
        if completion is None:
            return None
        self._models_ok = True
        self._first_answer.set()
        if spec.order is not None:
            await spec.order.wait_turn(spec.index)
        if spec.messages is not None:
            extracted = parse_chat_reply(self.problem, completion.text)
        else:
            extracted = parse_completion(self.problem, spec.program_prefix, completion.text)
        node = Node(id=spec.node_id, parent_id=spec.parent.id if spec.parent else None, round=spec.round,
                    strategy=spec.strategy, role=spec.role if spec.role in ("programmer", "sample", "reflexion", "cot")
                    else "programmer", reasoning=extracted.reasoning[:4000], code=extracted.code or "",
                    tokens=completion.prompt_tokens + completion.completion_tokens, language=self.problem.language)
        if extracted.code is None:
            node.status = "invalid"
            node.invalid_reason = extracted.error
            node.reasoning = (completion.text or "")[:4000]
        else:
            node.code_hash = normalized_hash(node.code, node.language)
            original = self.by_hash.get(node.code_hash)
            if original is not None:
                node.status = "duplicate"
                node.duplicate_of = original
            else:
                self.by_hash[node.code_hash] = node.id
        self.nodes[node.id] = node
        announce(self.ctx, node)
        if spec.order is not None:
            spec.order.passed(spec.index)
        if node.status in ("invalid", "duplicate"):
            return node
        await self._execute(node)
        if self.config.critic and self.can_chat and self.config.method == "orps":
            await self._critique(node)
        return node

    async def _generated_tests(self) -> list[TestCase]:
        if self._gentests is None:
            return list(self.generated)
        try:
            await asyncio.shield(self._gentests)
        except BudgetExhausted:
            pass
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the search itself is being cancelled, not just its test generation
        except Exception as exc:  # generated tests are a bonus: a failure is reported, not fatal
            self.ctx.notice(f"generated tests unavailable: {exc}", "warning")
        return list(self.generated)

    async def _execute(self, node: Node) -> None:
        # Round-0 candidates run on the visible tests at once (their generated tests follow in
        # `_catch_up_generated`, before the beam is chosen), so the sandbox works while the model
        # still writes tests. Always at round 0, never "if the tests are not ready yet": what a
        # prompt contains must not depend on timing, or a replay would ask something else.
        early = self._gentests is not None and node.round == 0
        generated = [] if early else await self._generated_tests()
        visible = list(self.problem.visible_tests)
        report = await self._run_tests(node.code, visible, generated)
        node.execution = Execution.from_report(report, len(visible))
        if early:
            self._without_generated.add(node.id)
        self._stabilise(node)
        node.status = "executed"
        self._measure_early(node)
        self._announce_execution(node)

    async def _run_tests(self, code: str, visible: list[TestCase], generated: list[TestCase],
                         repeat: int = 1) -> ExecutionReport:
        """One report, visible results first: the visible tests one sandbox test each, generated
        asserts in batches (see batch.py) in the same job; other generated tests one each."""
        from .batch import batchable, run_batched

        if not generated or not batchable(self.problem, generated):
            return await self.ctx.execute(self.problem.job(code, tests=visible + generated, repeat=repeat))
        return await run_batched(self.ctx, self.problem, code, generated, repeat=repeat, leading=visible)

    def _announce_execution(self, node: Node) -> None:
        node.outcome_score = outcome_score(node, self.suspect)
        ex = node.execution
        self.ctx.emit(NodeExecuted(node_id=node.id, passed=ex.passed, total=ex.total,
                                   generated_passed=ex.generated_passed, generated_total=len(ex.generated),
                                   verdicts=ex.verdicts(), cpu_ms=ex.cpu_ms, peak_rss_kb=ex.peak_rss_kb,
                                   compile_error=ex.compile_error, node=node))

    async def _catch_up_generated(self) -> None:
        """Run the generated tests on candidates that ran before they existed."""
        if not self._without_generated:
            return
        generated = await self._generated_tests()
        pending = [self.nodes[i] for i in sorted(self._without_generated, key=lambda i: int(i[1:]))]
        self._without_generated.clear()
        if not generated:
            return

        async def run(node: Node) -> None:
            if not node.runnable or node.execution.compile_error:
                return
            rep = await self._run_tests(node.code, [], generated)
            node.execution.generated = [TestOutcome.from_result(r) for r in rep.results]
            self._stabilise(node)
            self._announce_execution(node)

        await asyncio.gather(*(run(n) for n in pending))

    def _stabilise(self, node: Node) -> None:
        """Under replay, use the trace's timings for tests it recorded (prompts show them)."""
        ex = node.execution
        if not self.recorded_tests or ex is None:
            return
        changed = False
        for t in ex.visible + ex.generated:
            rec = self.recorded_tests.get((node.code_hash, t.name))
            if rec is not None:
                t.cpu_ms, t.peak_rss_kb = rec
                changed = True
        if changed:
            cpu = [t.cpu_ms for t in ex.visible]
            ex.cpu_ms = sum(cpu) if cpu and all(c is not None for c in cpu) else None
            mem = [t.peak_rss_kb for t in ex.visible + ex.generated if t.peak_rss_kb is not None]
            ex.peak_rss_kb = max(mem) if mem else None

    def test_timings(self) -> list[dict[str, Any]]:
        """Every per-test timing a prompt or ranking may have used, for the trace."""
        out = []
        for n in self.nodes.values():
            if n.runnable and n.code_hash:
                for t in n.execution.visible + n.execution.generated:
                    out.append({"code_hash": n.code_hash, "test": t.name, "cpu_ms": t.cpu_ms,
                                "peak_rss_kb": t.peak_rss_kb})
        return out

    async def _critique(self, node: Node) -> None:
        messages = [Message(role="system", content=render("critic_system")),
                    Message(role="user", content=render_for("critic_task", self.problem.language,
                                                            statement=self.problem.statement.strip(),
                                                            code=node.code.rstrip(),
                                                            report=format_report(node.execution, self.suspect)))]
        await critique(self.ctx, node, messages, self.config.critic_temperature, self.config.critic_max_tokens,
                       self._seed(node.id, 1))

    async def _run_specs(self, specs: list[Spec]) -> list[Node]:
        order = InOrder(len(specs))
        for i, spec in enumerate(specs):
            spec.order, spec.index = order, i
        return await develop_all(self._develop_in_turn(s) for s in specs)

    async def _develop_in_turn(self, spec: Spec) -> Node | None:
        try:
            return await self._develop(spec)
        finally:  # whatever happened to it, the nodes after it may pass
            if spec.order is not None:
                spec.order.passed(spec.index)

    # ------------------------------------------------------------------ analysis between rounds

    def runnable(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.runnable]

    def _update_suspects(self) -> None:
        nodes = self.runnable()
        names = [t.name for t in self.problem.visible_tests]
        if len(names) < 3:  # with one or two tests, "passes every other test" says too little
            return
        for name in names:
            if name in self.suspect:
                continue
            passers = [n for n in nodes if name in n.execution.passed_names()]
            strong = [n for n in nodes if set(names) - n.execution.passed_names() == {name}]
            if not passers and len(strong) >= 2:
                self.suspect.add(name)
                self.ctx.notice(f"visible test '{name}' looks wrong: {len(strong)} candidates pass every other test "
                                "and all fail it; it is reported, not chased", "warning")
        for n in nodes:
            n.outcome_score = outcome_score(n, self.suspect)

    def _update_trust(self) -> None:
        if not self.generated:
            return
        try:
            from .gentests import codet_rank
        except ImportError:
            return
        ids = [t.name for t in self.generated]
        matrix = {n.id: {t.name for t in n.execution.generated if t.verdict == "AC"} for n in self.runnable()}
        if not matrix:
            return
        self.trust = dict(codet_rank(matrix, ids).test_trust)

    def _copies(self) -> dict[str, int]:
        """How many candidates wrote each runnable program (itself and its duplicates)."""
        copies = {n.id: 1 for n in self.runnable()}
        for n in self.nodes.values():
            if n.status == "duplicate" and n.duplicate_of in copies:
                copies[n.duplicate_of] += 1
        return copies

    def _fully_passing(self, node: Node) -> bool:
        if visible_ratio(node, self.suspect) < 1.0:
            return False
        return not node.execution.generated or generated_ratio(node, self.trust) >= 0.999

    def _beam(self, candidates: list[Node]) -> list[Node]:
        candidates = [n for n in candidates if n.id not in self.control.pruned]
        ranked = sorted(candidates, key=lambda n: (n.id in self.control.pinned,
                                                   beam_key(n, self.suspect, self.trust)), reverse=True)
        pinned = [n for n in ranked if n.id in self.control.pinned]
        return pinned + [n for n in ranked if n.id not in self.control.pinned][: max(0, self.config.beam - len(pinned))]

    # ------------------------------------------------------------------ methods

    async def _orps(self, start: list[Node] | None = None) -> None:
        cfg = self.config
        if start is None:
            if cfg.generated_tests:
                self._gentests = asyncio.create_task(self._make_generated_tests())
            frontier = await self._run_specs([self._chat_spec(None, 0, strategy(i)) for i in range(cfg.initial)])
            first_round = 1
        else:  # refining from chosen nodes of an earlier run
            frontier = list(start)
            first_round = 1 + max(n.round for n in self.nodes.values())
        beam: list[Node] = []
        best_key = None
        stale_rounds = 0
        asked = start is not None  # the user asked to refine these: no early stop before one round
        for r in range(first_round, first_round + cfg.rounds):
            await self._catch_up_generated()
            self._update_suspects()
            self._update_trust()
            await self._find_counterexamples()
            pool = [n for n in {id(x): x for x in beam + frontier}.values() if n.runnable]
            beam = self._beam(pool)
            best = beam[0] if beam else None
            close_round(self.ctx, r - 1, pool, beam, visible_ratio(best, self.suspect) if best else 0.0)
            if best is None:
                self.stop_reason = "no runnable candidate to refine"
                return
            key = beam_key(best, self.suspect, self.trust)[:4]
            stale_rounds = stale_rounds + 1 if key == best_key else 0
            best_key = key
            if cfg.adaptive and self._fully_passing(best) and not asked:
                if best.critique is None or best.critique.done or (best.critique.score or 0) >= 5 or stale_rounds >= 1:
                    self.stop_reason = ("solved: the best candidate passes every visible and generated test "
                                        "and the last round brought no further gain")
                    return
            specs = []
            for b in beam:
                if b.critique and b.critique.done and self._fully_passing(b) and not (asked and b in start):
                    continue  # the critic's sentinel ends this branch
                for j in range(cfg.branching):
                    specs.append(self._chat_spec(b, r, strategy(r * cfg.branching + j + int(b.id[1:]))))
            if not specs:
                self.stop_reason = "every branch was judged done"
                return
            frontier = await self._run_specs(specs)
            asked = False
        self._update_suspects()
        self._update_trust()
        self.stop_reason = f"all {cfg.rounds} refinement rounds done"

    def _sample_count(self) -> int:
        cfg = self.config
        if cfg.max_calls is not None:
            return cfg.max_calls
        return cfg.initial + cfg.beam * cfg.branching * cfg.rounds

    async def _sample(self, hinted: bool) -> None:
        """Best-of-N (and orps on completion-only models): independent samples, picked by execution."""
        n = self._sample_count()
        if hinted and self.config.generated_tests:
            # orps on a base model: generated tests (trusted by CodeT agreement) help pick among samples
            self._gentests = asyncio.create_task(self._make_generated_tests())
            n = max(1, n - 1)  # the test-writing call comes out of the same budget
        plain = "a straightforward approach that is clearly correct"
        if self.can_chat:
            specs = [self._chat_spec(None, 0, strategy(i) if hinted else plain, role="sample") for i in range(n)]
        else:
            specs = [self._completion_spec(0, strategy(i) if hinted else plain) for i in range(n)]
        drawn = len(await self._run_specs(specs))
        await self._catch_up_generated()
        self._update_suspects()
        self._update_trust()
        # what the model really answered: a call that failed drew no sample
        self.stop_reason = f"{n} samples drawn" if drawn == n else \
            f"{drawn} of {n} samples drawn ({n - drawn} calls gave no answer)"

    async def _cot(self) -> None:
        if not self.can_chat:
            await self._run_specs([self._completion_spec(0, "think through the examples, then write the code")])
            self.stop_reason = "one chain-of-thought sample"
            return
        messages = [system_message(self.problem), task_message(self.problem, "", template="cot_task")]
        await self._run_specs([self._chat_spec(None, 0, "chain of thought", role="cot", messages=messages)])
        self.stop_reason = "one chain-of-thought sample"

    async def _reflexion(self) -> None:
        """Generate, run, reflect in words on the real report, retry; one chain, until it passes."""
        if not self.can_chat:
            await self._sample(hinted=False)
            return
        plain = "a straightforward approach that is clearly correct"
        spec = self._chat_spec(None, 0, plain, role="reflexion")
        history = list(spec.messages)
        node = (await self._run_specs([spec]) or [None])[0]
        round_ = 0
        while node is not None:
            if node.runnable and self._fully_passing(node):
                self.stop_reason = "reflexion: the program passes the tests"
                return
            round_ += 1
            if node.code:
                history.append(Message(role="assistant", content=fenced(self.problem, node.code)))
                report = format_report(node.execution, self.suspect) if node.execution else "(not run)"
            else:
                history.append(Message(role="assistant", content=node.reasoning or "(no code)"))
                report = f"No program could be taken from the reply: {node.invalid_reason}"
            history.append(Message(role="user", content=render("reflexion_reflect", report=report)))
            reflection = await self.ctx.call("reflexion", GenerationOptions(
                temperature=self.config.temperature, max_tokens=300, seed=self._seed(node.id, 2)),
                messages=history, node_id=node.id)
            history.append(Message(role="assistant", content=reflection.text.strip()[:2000]))
            history.append(Message(role="user", content=render_for("reflexion_retry", self.problem.language)))
            spec = self._chat_spec(node, round_, "reflexion retry", role="reflexion", messages=list(history))
            node = (await self._run_specs([spec]) or [None])[0]
        self.stop_reason = "reflexion chain ended"

    # ------------------------------------------------------------------ generated tests

    async def _make_generated_tests(self) -> None:
        try:
            from . import gentests
        except ImportError:
            return
        # an unreachable model is reported once, by the programmer's call, not also from here
        await self._first_answer.wait()
        if self.problem.kind == "function":
            if not self.problem.entry_point:
                return
            made = await gentests.generate_function_tests(self.ctx, max_tests=self.config.max_generated_tests,
                                                          seed=self.config.seed)
        else:
            self._stdio_tools = await gentests.generate_stdio_tools(self.ctx, seed=self.config.seed)
            if self._stdio_tools is None:
                return
            made = await gentests.stdio_generated_tests(self.ctx, self._stdio_tools,
                                                        count=self.config.max_generated_tests)
        self.generated = [g.test.model_copy(update={"name": f"gen-{i + 1}"}) for i, g in enumerate(made)]
        if self.generated:
            self.ctx.notice(f"{len(self.generated)} extra tests generated; they are trusted by agreement between "
                            "candidates (CodeT), never blindly")

    async def _find_counterexamples(self) -> None:
        if not (self.config.counterexamples and self.problem.kind == "stdio" and self._stdio_tools is not None):
            return
        try:
            from .counterexample import find_counterexample
        except ImportError:
            return
        strong = [n for n in self.runnable() if visible_ratio(n, self.suspect) == 1.0
                  and n.code_hash not in self._checked_for_counterexample]
        for node in self._beam(strong)[:2]:
            self._checked_for_counterexample.add(node.code_hash)
            found = await find_counterexample(self.ctx, node.code, self._stdio_tools)
            if found is None:
                continue
            name = f"counterexample-{len(self.counterexamples) + 1}"
            self.counterexamples.append({"node_id": node.id, "name": name, **found.model_dump()})
            test = TestCase(name=name, input=found.input, output=found.expected)
            self.generated.append(test)
            self.ctx.notice(f"{node.id} fails a generated input (shrunk to {len(found.input)} characters): "
                            f"added as test {name}")
            for other in self.runnable():  # every candidate is checked on the new test
                rep = await self.ctx.execute(self.problem.job(other.code, tests=[test]))
                other.execution.generated.extend(TestOutcome.from_result(r) for r in rep.results)
                self._stabilise(other)

    # ------------------------------------------------------------------ final pick

    async def _measure_finalists(self, finalists: list[Node]) -> None:
        from .batch import batchable, run_batched

        tests = list(self.problem.visible_tests) + list(self.generated)

        async def measure(node: Node) -> None:
            if node.code_hash in self.recorded or not tests or self._timed_with.get(node.code_hash) == len(tests):
                return
            if batchable(self.problem, tests):  # a cost, not verdicts: every assert in one process
                rep = await run_batched(self.ctx, self.problem, node.code, tests, repeat=self.config.repeat_final)
            else:
                rep = await self.ctx.execute(self.problem.job(node.code, tests=tests, repeat=self.config.repeat_final))
            total = rep.cpu_ms_total()
            if total is not None and rep.compile_error is None:
                node.final_cpu_ms = total
                self._timed_with[node.code_hash] = len(tests)

        await asyncio.gather(*(measure(n) for n in finalists))

    def _measure_early(self, node: Node) -> None:
        """A candidate as good as the best so far is timed (and its complexity estimated) right
        away, in the background: the sandbox works while the model writes the next candidates,
        instead of after the last one."""
        if not node.runnable or node.execution.compile_error or self.config.method == "cot" or self._ranking_given:
            return  # (ranking given programs: no model runs meanwhile, the leading group is timed at the end)
        ratio = visible_ratio(node, self.suspect)
        # timing breaks ties among candidates that pass something; complexity is worth knowing only
        # for a program that passes every visible test
        if ratio == 0 or ratio < self._best_ratio_seen or node.code_hash in self._early:
            return
        self._best_ratio_seen = ratio

        async def measure() -> None:
            await self._measure_finalists([node])
            if self.config.complexity and node.complexity is None and ratio == 1.0:
                await self._estimate_complexity(node)

        self._early[node.code_hash] = asyncio.create_task(measure())

    async def _estimate_complexity(self, node: Node) -> None:
        try:
            from .complexity import estimate_complexity, scaled_function_tests, stdio_size_tests
        except ImportError:
            return
        try:
            if self._scaled is None:
                if self.problem.kind == "function":
                    self._scaled = scaled_function_tests(self.problem, None) or False
                elif self._stdio_tools is not None:
                    self._scaled = await stdio_size_tests(self.ctx, self._stdio_tools) or False
            make_test = self._scaled or None
            if make_test is None:
                return
            estimate = await estimate_complexity(self.ctx, node.code, make_test)
        except BudgetExhausted:
            raise
        except Exception as exc:  # a measurement that cannot be made is reported, not fatal
            self.ctx.notice(f"complexity estimate failed for {node.id}: {exc}", "warning")
            return
        if estimate is not None and estimate.label:
            node.complexity = estimate.label
            if estimate.projected_ms_at_limit is not None and estimate.limit_n:
                node.complexity += f" (~{estimate.projected_ms_at_limit:.0f} ms at n={estimate.limit_n:,})"

    async def _finalize(self) -> SearchResult:
        try:
            await self._catch_up_generated()
        except BudgetExhausted:
            pass
        if self._early:
            await asyncio.gather(*self._early.values(), return_exceptions=True)
        self._update_suspects()
        self._update_trust()
        runnable = self.runnable()
        for n in runnable:
            n.outcome_score = outcome_score(n, self.suspect)
            if n.code_hash in self.recorded:  # replaying: the recorded cost orders exactly as before
                n.final_cpu_ms = self.recorded[n.code_hash]
        copies = self._copies()
        self.agreement = agreement_scores(runnable, self.suspect, [t.name for t in self.generated], copies)
        if runnable:
            # the finalists come from an order without timings (a replay picks the same ones): the
            # leading group's programs, most often written first; timed only when there are two
            def untimed(n: Node) -> tuple:
                return final_key(n, self.suspect, self.agreement, copies)[:4] + (node_index(n),)

            order = sorted(runnable, key=untimed)
            top = visible_ratio(order[0], self.suspect)
            finalists = [n for n in order if untimed(n)[:3] == untimed(order[0])[:3]][: self.config.finalists]
            chosen = {n.id for n in finalists}

            def key(n: Node) -> tuple:
                return final_key(n, self.suspect, self.agreement, copies, chosen)

            if top > 0 and len(finalists) > 1:
                await self._measure_finalists(finalists)
            for n in runnable:  # every cost the ranking used goes into the trace
                cost = n.final_cpu_ms if n.final_cpu_ms is not None else n.execution.cpu_ms
                if cost is not None:
                    self.measured[n.code_hash] = cost
            ranking_nodes = sorted(runnable, key=key)
            if self.config.complexity and ranking_nodes and ranking_nodes[0].complexity is None \
                    and visible_ratio(ranking_nodes[0], self.suspect) == 1.0:
                await self._estimate_complexity(ranking_nodes[0])
        else:
            ranking_nodes = []
        ranking = [n.id for n in ranking_nodes]
        best = ranking[0] if ranking else None
        if not self.nodes:
            self.stop_reason += "; no candidate was produced"
        b = self.ctx.budget
        timeline = self.ctx.timeline.totals()
        timeline["sandbox_hidden_share"] = self.ctx.timeline.sandbox_hidden_share()
        result = SearchResult(
            problem_id=self.problem.id, method=self.config.method, language=self.problem.language,
            model=self.ctx.model.spec,
            can_chat=self.can_chat, nodes=list(self.nodes.values()), ranking=ranking, best_node_id=best,
            stop_reason=self.stop_reason, suspect_tests=sorted(self.suspect), generated_tests=self.generated,
            test_trust=self.trust, counterexamples=self.counterexamples,
            budget={"calls": b.calls, "max_calls": b.max_calls, "prompt_tokens": b.prompt_tokens,
                    "completion_tokens": b.completion_tokens, "tokens": b.tokens, "wall_s": round(b.wall_s, 3)},
            timeline=timeline, notices=list(self.ctx.notices), unverified=not self.problem.visible_tests,
            config=self.config)
        self.ctx.emit(Finished(best_node_id=best, ranking=ranking, stop_reason=self.stop_reason,
                               summary={"calls": b.calls, "tokens": b.tokens, "nodes": len(self.nodes)}))
        return result
