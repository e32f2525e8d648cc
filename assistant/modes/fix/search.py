"""The search over patches: the engine's budgeted tree refinement, with pytest as the judge.

It mirrors `assistant.engine.search`: node ids and parents fixed before any call, model calls
through `EngineContext.call` (one budget), de-duplication (here: of the patched files' content),
execution in the sandbox, a critique from the real output, a beam of the best nodes refined with
their history, and a final ranking by execution only:
  1. target tests fixed (more is better), 2. regressions (previously passing tests now failing),
  3. tests newly collected that fail, 4. diff size (changed lines), 5. the suite's runtime.
On a completion-only (base) model there is no chat, critic or refinement: each call rewrites one
suspect function from a "fixed version" prompt, and the samples are ranked by execution.
"""

from __future__ import annotations

import asyncio
import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, Field

from ...engine.budget import BudgetExhausted
from ...engine.context import EngineContext
from ...engine.critic import critique_note
from ...engine.events import NodeExecuted
from ...engine.lifecycle import announce, ask, close_round, critique, develop_all
from ...engine.node import Execution, Node, TestOutcome
from ...engine.programmer import lineage
from ...engine.prompting import render
from ...engine.search import Spec as SearchSpec
from ...models.base import GenerationOptions, Message
from .edits import Edit, EditError, EditPolicy, Patch, apply_edits, edits_text, parse_edits
from .environment import TestEnvironment
from .localize import Definition, Localization, RepoIndex, failure_text, is_test_file
from .pytest_run import PytestOptions, SuiteRun, TestRun, pytest_job, read_report
from .workspace import Snapshot


class FixConfig(BaseModel):
    initial: int = Field(4, ge=1, description="round-0 patches, each with its own strategy hint")
    beam: int = Field(2, ge=1)
    branching: int = Field(2, ge=1)
    rounds: int = Field(2, ge=0)
    max_calls: int | None = Field(20, ge=1, description="model-call budget (critic and retries count)")
    max_tokens: int | None = Field(None, ge=1)
    max_wall_s: float | None = Field(None, gt=0)
    parallel: int = Field(2, ge=1)
    temperature: float = 0.6
    sample_temperature: float = 0.8
    critic_temperature: float = 0.2
    max_tokens_per_call: int = 1200
    completion_max_tokens: int = 320
    critic_max_tokens: int = 400
    seed: int = 0
    critic: bool = True
    adaptive: bool = True
    edit_retries: int = Field(1, ge=0, description="times an invalid edit goes back to the model")
    context_tokens: int = Field(2500, ge=200, description="budget for the code context (estimated tokens)")
    completion_targets: int = Field(3, ge=1, description="suspect functions a base model rewrites")
    pytest: PytestOptions = Field(default_factory=PytestOptions)


class CandidateReport(BaseModel):
    """What running a patch showed (the numbers ranking uses)."""

    targets_fixed: list[str] = Field(default_factory=list)
    targets_failing: list[str] = Field(default_factory=list)
    regressions: list[str] = Field(default_factory=list)
    new_failures: list[str] = Field(default_factory=list)
    suite_ran: bool = False
    suite_passed: int | None = None
    suite_total: int | None = None
    suite_time_s: float | None = None
    failures: dict[str, str] = Field(default_factory=dict, description="id -> short pytest report")
    error: str | None = None

    def text(self, n_targets: int) -> str:
        lines = [f"Target tests: {len(self.targets_fixed)}/{n_targets} now pass."]
        if self.error:
            lines.append(f"Problem: {self.error}")
        if self.targets_failing:
            lines.append("Still failing:")
            for tid in self.targets_failing[:4]:
                lines.append("  " + self.failures.get(tid, tid).replace("\n", "\n  "))
        if self.suite_ran:
            if self.regressions:
                lines.append(f"Regressions (passed before the patch, fail now): {len(self.regressions)}")
                for tid in self.regressions[:4]:
                    lines.append("  " + self.failures.get(tid, tid).replace("\n", "\n  "))
            else:
                lines.append("Regressions: none.")
            if self.new_failures:
                lines.append(f"Tests that could not run before and fail now: {', '.join(self.new_failures[:5])}")
            lines.append(f"Full suite: {self.suite_passed}/{self.suite_total} passed"
                         + (f" in {self.suite_time_s:.2f} s" if self.suite_time_s is not None else ""))
        else:
            lines.append("Full suite: not run (no target test passed).")
        text = "\n".join(lines)
        return text if len(text) < 4000 else text[:3900] + "\n...(shortened)"


class FixResult(BaseModel):
    repo: str
    scope: str = ""
    head: str | None = None
    branch: str | None = None
    dirty: bool = False
    modified: list[str] = Field(default_factory=list)
    untracked: list[str] = Field(default_factory=list)
    environment: dict[str, Any] = Field(default_factory=dict)
    baseline: SuiteRun | None = None
    targets: list[TestRun] = Field(default_factory=list)
    suite_errors: list[TestRun] = Field(default_factory=list, description="collection errors that are not targets")
    status: Literal["all_pass", "fixed", "partial", "not_fixed"] = "not_fixed"
    model: str = ""
    can_chat: bool = True
    nodes: list[Node] = Field(default_factory=list)
    patches: dict[str, Patch] = Field(default_factory=dict)
    reports: dict[str, CandidateReport] = Field(default_factory=dict)
    ranking: list[str] = Field(default_factory=list)
    best_node_id: str | None = None
    stop_reason: str = ""
    budget: dict[str, Any] = Field(default_factory=dict)
    notices: list[str] = Field(default_factory=list)
    localization: list[str] = Field(default_factory=list, description="suspect definitions, most suspect first")
    config: FixConfig = Field(default_factory=FixConfig)

    def node(self, node_id: str) -> Node | None:
        return next((n for n in self.nodes if n.id == node_id), None)


@functools.cache
def fix_strategies() -> list[str]:
    text = resources.files("prompts").joinpath("fix_strategies.txt").read_text(encoding="utf-8")
    return [ln.strip() for ln in text.splitlines() if ln.strip()]


def fix_strategy(i: int) -> str:
    s = fix_strategies()
    return s[i % len(s)]


# a base model's samples, in turn: after the buggy version, then from the signature and the tests;
# temperatures cycle so each kind is tried both near-greedy and freer
SAMPLE_TEMPERATURES = (0.5, 0.2, 0.8, 0.5)


def node_index(node_id: str) -> tuple[int, int]:
    """n7 -> (7, 0); n7r1 (the first corrected edit after n7's invalid one) -> (7, 1)."""
    m = re.match(r"^n(\d+)(?:r(\d+))?$", node_id)
    return (int(m.group(1)), int(m.group(2) or 0)) if m else (0, 0)


def final_key(report: CandidateReport, patch: Patch, node_id: str, suspect_rank: int = 0) -> tuple:
    """The final order. Among patches that fix no target, one in the most suspect code comes first (a
    small change in an unrelated file is not a better guess); otherwise the smaller diff does."""
    time = round(report.suite_time_s, 1) if report.suite_time_s is not None else float("inf")
    where = (patch.size, suspect_rank) if report.targets_fixed else (suspect_rank, patch.size)
    return (-len(report.targets_fixed), len(report.regressions) if report.suite_ran else 1_000_000,
            len(report.new_failures), *where, time, node_index(node_id))


def changed_old_lines(old: str, new: str) -> list[int]:
    """1-based lines of `old` that a change replaces or sits next to (an insertion touches its neighbours)."""
    import difflib

    out: list[int] = []
    for tag, i1, i2, _j1, _j2 in difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(),
                                                         autojunk=False).get_opcodes():
        if tag != "equal":
            out += list(range(i1 + 1, i2 + 1)) if i2 > i1 else [max(1, i1), i1 + 1]
    return out


@dataclass
class Spec(SearchSpec):
    """The engine's node spec, plus the definition a completion rewrites and the edit attempt."""

    target: Definition | None = None
    attempt: int = 0


class FixEngine:
    def __init__(self, ctx: EngineContext, config: FixConfig, snap: Snapshot, env: TestEnvironment,
                 baseline: SuiteRun, targets: list[TestRun], suite_selection: list[str],
                 index: RepoIndex, loc: Localization, context: str):
        self.ctx = ctx
        self.config = config
        self.snap = snap
        self.env = env
        self.baseline = baseline
        self.targets = targets
        self.target_ids = [t.id for t in targets]
        self.suite_selection = suite_selection
        self.index = index
        self.loc = loc
        self.context = context
        broken = [t.id for t in targets if t.outcome == "collection_error"]
        # a test module that fails to import may be edited; so may a broken directory's conftest.py
        editable = set(broken) | {f"{d}/{name}" for d in broken for name in ("conftest.py", "__init__.py")}
        self.policy = EditPolicy(preferred_files=[f for f in loc.files if not is_test_file(f)], editable_tests=editable)
        self.baseline_passing = baseline.passing_ids()
        self.baseline_ids = set(baseline.by_id())
        self.nodes: dict[str, Node] = {}
        self.patches: dict[str, Patch] = {}
        self.reports: dict[str, CandidateReport] = {}
        self.by_key: dict[str, str] = {}
        self._counter = 0
        self.stop_reason = ""
        self.can_chat = bool(ctx.model.can_chat)
        self._models_ok = False

    # ------------------------------------------------------------------ public

    async def run(self) -> None:
        try:
            if self.can_chat:
                await self._orps()
            else:
                self.ctx.notice(f"{self.ctx.model.spec} is a completion-only model: no critic and no refinement; "
                                "orps fix rewrites suspect functions from a 'fixed version' prompt and ranks the "
                                "samples by execution", "warning")
                await self._sample_completions()
        except BudgetExhausted as exc:
            self.stop_reason = str(exc)
        if not self.stop_reason:
            self.stop_reason = "search finished"

    def suspect_rank(self, patch: Patch) -> int:
        """How suspect the code a patch changes is: the rank of the best suspect it touches."""
        ranks = [self.loc.rank_of(rel, changed_old_lines(old, new)) for rel, (old, new) in patch.changes.items()]
        return min(ranks, default=len(self.loc.suspects))

    def ranking(self) -> list[str]:
        ids = [nid for nid, n in self.nodes.items() if nid in self.reports and n.status not in ("invalid", "duplicate")]
        return sorted(ids, key=lambda nid: final_key(self.reports[nid], self.patches[nid], nid,
                                                     self.suspect_rank(self.patches[nid])))

    # ------------------------------------------------------------------ development

    def _next_id(self) -> str:
        node_id = f"n{self._counter}"
        self._counter += 1
        return node_id

    def _seed(self, node_id: str, role: int = 0) -> int:
        base, retry = node_index(node_id)
        return (self.config.seed * 1_000_003 + base * 7 + retry * 101 + role) % (2 ** 31)

    def _base_messages(self, strategy_text: str) -> list[Message]:
        return [Message(role="system", content=render("fix_system")),
                Message(role="user", content=render("fix_task", context=self.context, strategy=strategy_text))]

    def _lineage(self, node: Node) -> list[Node]:
        return [n for n in lineage(self.nodes, node) if n.id in self.reports]

    def _refine_messages(self, parent: Node, strategy_text: str) -> list[Message]:
        chain = self._lineage(parent)
        messages = self._base_messages(chain[0].strategy if chain else strategy_text)
        for i, n in enumerate(chain):
            messages.append(Message(role="assistant", content=n.reasoning.strip() or n.code))
            critique = critique_note(n.critique, "the patch and the result")
            nxt = strategy_text if i == len(chain) - 1 else chain[i + 1].strategy
            messages.append(Message(role="user", content=render(
                "fix_refine", report=self.reports[n.id].text(len(self.targets)), critique=critique, strategy=nxt)))
        return messages

    def _chat_spec(self, parent: Node | None, round_: int, strategy_text: str) -> Spec:
        node_id = self._next_id()
        messages = self._refine_messages(parent, strategy_text) if parent is not None \
            else self._base_messages(strategy_text)
        return Spec(node_id, parent, round_, strategy_text, "programmer", messages=messages)

    async def _develop(self, spec: Spec) -> Node | None:
        completion_mode = spec.prompt is not None
        options = GenerationOptions(
            temperature=(SAMPLE_TEMPERATURES[node_index(spec.node_id)[0] % len(SAMPLE_TEMPERATURES)]
                         * self.config.sample_temperature / 0.8) if completion_mode else self.config.temperature,
            max_tokens=self.config.completion_max_tokens if completion_mode else self.config.max_tokens_per_call,
            seed=self._seed(spec.node_id), stop=completion_stops() if completion_mode else [])
        completion = await ask(self.ctx, "programmer", options, spec.node_id,
                               None if completion_mode else spec.messages, spec.prompt, answered=self._models_ok)
        if completion is None:
            return None
        self._models_ok = True
        text = completion.text or ""
        node = Node(id=spec.node_id, parent_id=spec.parent.id if spec.parent else None, round=spec.round,
                    strategy=spec.strategy, role="sample" if completion_mode else "programmer",
                    reasoning=text[:6000], tokens=completion.prompt_tokens + completion.completion_tokens)
        try:
            if completion_mode:
                edits = [completion_edit(spec.target, spec.program_prefix, text)]
            else:
                edits = parse_edits(text)
            node.code = edits_text(edits)
            patch = apply_edits(self.snap, edits, self.policy, self.index)
        except EditError as exc:
            node.status = "invalid"
            node.invalid_reason = str(exc)
            self.nodes[node.id] = node
            announce(self.ctx, node)
            if spec.messages is not None and spec.attempt < self.config.edit_retries:
                retry = Spec(f"{spec.node_id.split('r')[0]}r{spec.attempt + 1}", node, spec.round, f"{spec.strategy} (corrected edit)", spec.role,
                             messages=[*spec.messages, Message(role="assistant", content=text),
                                       Message(role="user", content=render("fix_invalid", reason=str(exc)))],
                             attempt=spec.attempt + 1)
                return await self._develop(retry)
            return node
        node.diff = patch.diff
        node.code_hash = patch.key()
        original = self.by_key.get(node.code_hash)
        if original is not None:
            node.status = "duplicate"
            node.duplicate_of = original
            self.nodes[node.id] = node
            announce(self.ctx, node)
            return node
        self.by_key[node.code_hash] = node.id
        self.nodes[node.id] = node
        self.patches[node.id] = patch
        announce(self.ctx, node)
        await self._execute(node, patch)
        if self.config.critic and self.can_chat:
            await self._critique(node)
        return node

    # ------------------------------------------------------------------ execution

    def _target_ok(self, run: SuiteRun, tid: str) -> bool:
        byid = run.by_id()
        target = next(t for t in self.targets if t.id == tid)
        if target.outcome == "collection_error":
            return not any(t.outcome == "collection_error" and t.id == tid for t in run.tests) and run.error is None
        t = byid.get(tid)
        if t is not None:
            return t.ok
        # a parametrized or renamed id: every reported test under it passes
        under = [x for x in run.tests if x.id.startswith(tid + "[") or x.id.startswith(tid + "::")]
        return bool(under) and all(x.ok for x in under)

    def target_groups(self) -> list[list[str]]:
        """Target ids in the pytest runs that judge them: the tests and modules together, each broken
        directory alone (pytest loads a directory's conftest.py at start-up when it is named on the
        command line, and a failing one stops the run before any report is written)."""
        rest = [t.id for t in self.targets if not t.directory_level]
        return ([rest] if rest else []) + [[t.id] for t in self.targets if t.directory_level]

    async def _run_targets(self, files: dict[str, str]) -> dict[str, SuiteRun]:
        opts = self.config.pytest

        async def one(group: list[str]) -> SuiteRun:
            return read_report(await self.ctx.execute(pytest_job(self.env, group, files, opts)), group)

        groups = self.target_groups()
        runs = await asyncio.gather(*(one(g) for g in groups))
        return {tid: run for g, run in zip(groups, runs) for tid in g}

    async def _execute(self, node: Node, patch: Patch) -> None:
        files = patch.new_files()
        opts = self.config.pytest
        runs = await self._run_targets(files)
        first = runs[self.target_ids[0]]
        rep = CandidateReport(error=first.error)
        for tid in self.target_ids:
            (rep.targets_fixed if self._target_ok(runs[tid], tid) else rep.targets_failing).append(tid)
        found: dict[str, TestRun] = {}
        for tid in self.target_ids:
            run = runs[tid]
            t = run.by_id().get(tid) or next((x for x in run.tests if x.id.startswith(tid) and not x.ok), None)
            if t is not None:
                found[tid] = t
        for tid in rep.targets_failing:
            t = found.get(tid)
            rep.failures[tid] = failure_text(t, 900) if t is not None else f"{tid}: not reported ({runs[tid].error})"
        if rep.targets_fixed:
            suite = read_report(await self.ctx.execute(pytest_job(self.env, self.suite_selection, files, opts)),
                                self.suite_selection)
            rep.suite_ran = True
            suite_ids = suite.by_id()
            rep.regressions = sorted(tid for tid in self.baseline_passing
                                     if tid not in suite_ids or not suite_ids[tid].ok)
            rep.new_failures = sorted(t.id for t in suite.tests if not t.ok and t.id not in self.baseline_ids)
            for tid in rep.regressions + rep.new_failures:
                t = suite_ids.get(tid)
                rep.failures[tid] = failure_text(t, 900) if t is not None else f"{tid}: not reported ({suite.error})"
            rep.suite_passed = sum(t.ok for t in suite.tests)
            rep.suite_total = len(suite.tests)
            rep.suite_time_s = suite.pytest_time_s if suite.pytest_time_s is not None else suite.wall_s
            if suite.error and not rep.error:
                rep.error = suite.error
        else:
            rep.suite_time_s = None
        self.reports[node.id] = rep
        outcomes = []
        for tid in self.target_ids:
            t = found.get(tid)
            if tid in rep.targets_fixed:
                outcomes.append(TestOutcome(name=tid, verdict="AC"))
            else:
                verdict = "TLE" if (t is not None and t.timeout) else "RE" if (t is not None and t.outcome in (
                    "error", "collection_error")) else "WA"
                outcomes.append(TestOutcome(name=tid, verdict=verdict, detail=(t.message if t else rep.error or "")[:300],
                                            traceback=(t.text[-2000:] if t else None)))
        unique = list({id(r): r for r in runs.values()}.values())
        node.execution = Execution(visible=outcomes, elapsed_ms=sum(r.wall_s for r in unique) * 1000,
                                   sandbox_error=rep.error if rep.error and not first.tests else None)
        node.status = "executed"
        node.outcome_score = len(rep.targets_fixed) / max(1, len(self.target_ids))
        self.ctx.emit(NodeExecuted(node_id=node.id, passed=len(rep.targets_fixed), total=len(self.target_ids),
                                   verdicts=node.execution.verdicts(),
                                   regressions=len(rep.regressions) if rep.suite_ran else None, node=node))

    async def _critique(self, node: Node) -> None:
        failures = "\n\n".join(failure_text(t, 600) for t in self.targets[:4])
        messages = [Message(role="system", content=render("fix_critic_system")),
                    Message(role="user", content=render("fix_critic_task", failures=failures,
                                                        diff=(node.diff or "").rstrip()[:4000],
                                                        report=self.reports[node.id].text(len(self.targets))))]
        await critique(self.ctx, node, messages, self.config.critic_temperature, self.config.critic_max_tokens,
                       self._seed(node.id, 1))

    async def _run_specs(self, specs: list[Spec]) -> list[Node]:
        return await develop_all(self._develop(s) for s in specs)

    # ------------------------------------------------------------------ the loop

    def _executed(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.id in self.reports and n.status not in ("invalid", "duplicate")]

    def _complete(self, node: Node) -> bool:
        rep = self.reports.get(node.id)
        return bool(rep and not rep.targets_failing and rep.suite_ran and not rep.regressions and not rep.error)

    def _beam_key(self, node: Node) -> tuple:
        rep = self.reports[node.id]
        critic = node.critique.score if node.critique and node.critique.score is not None else 0
        base, retry = node_index(node.id)
        return (len(rep.targets_fixed), -len(rep.regressions), critic, -self.patches[node.id].size, -base, -retry)

    async def _orps(self) -> None:
        cfg = self.config
        frontier = await self._run_specs([self._chat_spec(None, 0, fix_strategy(i)) for i in range(cfg.initial)])
        beam: list[Node] = []
        best_key = None
        stale = 0
        for r in range(1, cfg.rounds + 1):
            pool = [n for n in {id(x): x for x in beam + frontier}.values() if n.id in self.reports]
            ranked = sorted(pool, key=self._beam_key, reverse=True)
            beam = ranked[: cfg.beam]
            best = beam[0] if beam else None
            close_round(self.ctx, r - 1, pool, beam,
                        len(self.reports[best.id].targets_fixed) / len(self.targets) if best else 0.0)
            if best is None:
                self.stop_reason = "no valid patch to refine"
                return
            key = self._beam_key(best)[:3]
            stale = stale + 1 if key == best_key else 0
            best_key = key
            if cfg.adaptive and self._complete(best):
                if best.critique is None or best.critique.done or (best.critique.score or 0) >= 4 or stale >= 1:
                    self.stop_reason = "fixed: a patch makes every target test pass with no regressions"
                    return
            specs = []
            for b in beam:
                if b.critique and b.critique.done and self._complete(b):
                    continue
                for j in range(cfg.branching):
                    specs.append(self._chat_spec(b, r, fix_strategy(r * cfg.branching + j + node_index(b.id)[0])))
            if not specs:
                self.stop_reason = "every branch was judged done"
                return
            frontier = await self._run_specs(specs)
        self.stop_reason = f"all {cfg.rounds} refinement rounds done" if cfg.rounds else \
            f"{cfg.initial} initial patch{'es' if cfg.initial != 1 else ''} tried (no refinement rounds)"

    # ------------------------------------------------------------------ completion-only models

    def completion_targets(self) -> list[Definition]:
        out = [d for d in self.loc.suspects if d.kind == "function" and not is_test_file(d.file)]
        if not out:
            out = [d for d in self.loc.suspects if d.kind == "class" and not is_test_file(d.file)]
        return out[: self.config.completion_targets]

    def _completion_spec(self, target: Definition, i: int) -> Spec:
        # odd samples do not show the buggy body: a small model shown it tends to copy it unchanged
        rewrite = i % 2 == 1
        prompt, prefix = completion_prompt(self.index, target, self.targets, show_buggy=not rewrite)
        how = "from its signature and the tests" if rewrite else "after the buggy version"
        return Spec(self._next_id(), None, 0, f"rewrite {target.qualname} {how} (sample {i + 1})", "sample",
                    prompt=prompt, program_prefix=prefix, target=target)

    async def _sample_completions(self) -> None:
        targets = self.completion_targets()
        if not targets:
            self.stop_reason = "no suspect function to rewrite (the failures point at no function)"
            return
        n = self.config.max_calls or (self.config.initial * 3)
        done = 0
        # in waves of `parallel`, stopping early once a sample fixes everything without regressions
        while done < n:
            wave = [self._completion_spec(targets[(done + k) % len(targets)], done + k)
                    for k in range(min(self.config.parallel, n - done))]
            done += len(wave)
            await self._run_specs(wave)
            if self.config.adaptive and any(self._complete(x) for x in self._executed()):
                self.stop_reason = f"fixed after {done} samples: a patch makes every target test pass, no regressions"
                return
        self.stop_reason = f"{done} samples drawn"


# --------------------------------------------------------------------------- base-model prompts

def completion_stops() -> list[str]:
    return ["\n\n\n", "\n# ", "\nif __name__", "\n```", "\ndef test", "\nassert ", "\nprint("]


def _definition_prefix(index: RepoIndex, d: Definition) -> tuple[str, str]:
    """(the definition dedented, the part a fixed version starts with: decorators, signature, docstring)."""
    import textwrap

    from .localize import parse

    src = textwrap.dedent(index.source(d))
    tree = parse(src)
    node = tree.root_node.children[0] if tree.root_node.children else None
    if node is not None and node.type == "decorated_definition":
        node = node.child_by_field_name("definition") or node
    body = node.child_by_field_name("body") if node is not None else None
    if body is None or not body.children:
        first = src.splitlines()[0] + "\n"
        return src, first
    first_stmt = body.children[0]
    cut = first_stmt
    if first_stmt.type == "expression_statement" and first_stmt.children and first_stmt.children[0].type == "string":
        # keep the docstring in the prefix: the model writes the body only
        cut = body.children[1] if len(body.children) > 1 else None
        if cut is None:
            return src, src.rstrip() + "\n"
    lines = src.splitlines(keepends=True)
    return src, "".join(lines[: cut.start_point[0]])


def module_notes(index: RepoIndex, file: str, limit: int = 700) -> str:
    """The file's top-level string literals (a module docstring, a trailing description) as comments."""
    from .localize import parse

    text = index.snap.read(file) or ""
    notes = []
    for child in parse(text).root_node.children:
        if child.type == "expression_statement" and child.children and child.children[0].type == "string":
            notes.append(child.text.decode("utf-8", "replace").strip().strip('"\'').strip())
    joined = "\n".join(n for n in notes if n)[:limit]
    return "".join(f"# {ln}".rstrip() + "\n" for ln in joined.splitlines())


def failure_line(t: TestRun) -> str:
    """One line per failing test: the failing statement and pytest's explanation."""
    msg = (t.message or t.outcome).strip().splitlines()
    why = msg[0][:140] if msg else t.outcome
    if t.timeout:
        why = "timed out (the code may loop forever)"
    code = ""
    lines = t.text.splitlines()
    for i, ln in enumerate(lines):
        if ln.startswith("E ") and i > 0 and lines[i - 1].startswith("    ") and not lines[i - 1].startswith("E "):
            code = lines[i - 1].strip()
    name = t.id.split("::")[-1]
    return f"{name}: {code[:160]}  ->  {why}" if code else f"{name}: {why}"


def completion_prompt(index: RepoIndex, target: Definition, targets: list[TestRun],
                      show_buggy: bool = True) -> tuple[str, str]:
    """A base model's prompt: the buggy function then a "fixed version" that starts with its signature
    (and docstring); or, with `show_buggy=False`, only the failing tests and the signature."""
    buggy, prefix = _definition_prefix(index, target)
    notes = module_notes(index, target.file)
    fails = "\n".join("#   " + failure_line(t) for t in targets[:4])
    if show_buggy:
        if notes:
            buggy = "# What the code should do:\n" + notes + "\n" + buggy
        prompt = render("fix_completion", file=target.file, failures=fails, buggy=buggy.rstrip() + "\n",
                        prefix=prefix)
    else:
        prompt = render("fix_completion_rewrite", file=target.file, failures=fails,
                        notes=("# What the code should do:\n" + notes) if notes else "", prefix=prefix)
    # the prompt ends exactly where the fixed version's body starts (the template's final newline goes)
    return prompt[: prompt.rindex(prefix) + len(prefix)], prefix


def completion_edit(target: Definition | None, prefix: str, continuation: str) -> Edit:
    """The fixed definition: prefix + the model's continuation up to where the function ends."""
    if target is None:
        raise EditError("no target function for the completion")
    head = prefix.count("\n")  # the prefix's lines (decorators, signature, docstring) are ours
    lines = (prefix + continuation).splitlines()
    out = lines[:head]
    for ln in lines[head:]:
        if ln.strip() and not ln[0].isspace() and not ln.startswith((")", "]", "}")):
            break  # back at column 0: the function ended
        out.append(ln)
    while out and not out[-1].strip():
        out.pop()
    code = "\n".join(out) + "\n"
    if len(out) <= head:
        raise EditError("the model wrote no function body")
    return Edit("definition", target.file, replace=code, target=target.qualname)
