"""Finding the smallest repair of a buggy program that passes every test.

Repairs are engine nodes: each model reply becomes a `Node`, its code is extracted, de-duplicated
(normalized hash), run in the sandbox and announced with the engine's `NodeCreated` /
`NodeExecuted` events. Among the candidates that pass every test the one with the smallest token
edit distance to the student's program wins; hunks of its diff that the tests do not need are
then reverted, so the repair the hints are written from is as small as the tests allow.

Chat models get a "repair this program" conversation (and, while nothing passes, a retry with
the real report of their best attempt); completion-only models continue a prompt that shows the
buggy program and starts the fixed one. The same prompts, with hints added, serve the student
model in validation.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from ...engine.budget import BudgetExhausted
from ...engine.context import EngineContext
from ...engine.events import NodeExecuted, RoundDone
from ...engine.lifecycle import announce, ask, develop_all
from ...engine.extract import Extracted, complete_program, extract_code, normalized_hash, parses
from ...engine.node import Execution, Node
from ...engine.programmer import COMPLETION_STOPS
from ...engine.prompting import render
from ...models.base import GenerationOptions, Message
from ...problems.model import Problem
from .check import ProgramCheck, check_from_execution, failure_comment, failures_text
from .diff import hunk_count, revert_hunks, token_distance, unified_diff


@dataclass
class RepairPrompt:
    """One repair request: chat messages, or a completion prompt with the code it starts with."""

    messages: list[Message] | None = None
    prompt: str | None = None
    prefix: str = ""
    stops: list[str] = field(default_factory=list)
    entry: str | None = None  # the function the program must define (function problems)


def entry_function(problem: Problem, program: str) -> ast.FunctionDef | None:
    """The top-level function the tests call (the problem's entry point, else the only one)."""
    try:
        tree = ast.parse(program)
    except (SyntaxError, ValueError):
        return None
    funcs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if problem.entry_point:
        named = [f for f in funcs if f.name == problem.entry_point]
        if named:
            return named[-1]
    return funcs[0] if len(funcs) == 1 else None


def completion_prefix(problem: Problem, program: str) -> str:
    """Where a base model's fixed version starts: the program up to the body of the function the
    tests call (its signature and docstring included); nothing for scripts."""
    if problem.kind != "function":
        return ""
    fn = entry_function(problem, program)
    if fn is None or not fn.body:
        return ""
    lines = program.split("\n")
    first = fn.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        end = first.end_lineno  # keep the docstring: it states the task
    else:
        end = first.lineno - 1
    start = min([fn.lineno] + [d.lineno for d in fn.decorator_list])
    # top-level code before the function stays; later top-level code is restored after extraction
    return "\n".join(lines[:start - 1] + lines[start - 1:end]) + "\n"


def _hints_block(hints: list[str] | None, chat: bool) -> str:
    if not hints:
        return ""
    if chat:
        body = "\n".join(f"{i}. {h.strip()}" for i, h in enumerate(hints, 1))
        return render("hint_repair_hints", hints=body)
    lines = []
    for h in hints:
        lines.extend(f"# Hint: {ln}".rstrip() if i == 0 else f"#   {ln}".rstrip()
                     for i, ln in enumerate(h.strip().splitlines()))
    return "\n".join(lines) + "\n"


def repair_prompt(problem: Problem, program: str, check: ProgramCheck, chat: bool,
                  hints: list[str] | None = None) -> RepairPrompt:
    fn = entry_function(problem, program) if problem.kind == "function" else None
    entry = fn.name if fn is not None else (problem.entry_point if problem.kind == "function" else None)
    if chat:
        messages = [Message(role="system", content=render("hint_repair_system")),
                    Message(role="user", content=render(
                        "hint_repair_task", statement=problem.statement.strip() or "(no statement: the tests define it)",
                        program=program.rstrip(), report=failures_text(check, problem.kind, limit=6),
                        hints=_hints_block(hints, True)))]
        return RepairPrompt(messages=messages, entry=entry)
    prefix = completion_prefix(problem, program)
    stops = list(COMPLETION_STOPS["function"]) if prefix else ["\n```", "\n# The Python program", "\n# The same program"]
    prompt = render("hint_repair_completion", failures=failure_comment(check, problem.kind), program=program.rstrip(),
                    hints=_hints_block(hints, False), prefix=prefix)
    # the prefix comes last: the model continues right after it
    return RepairPrompt(prompt=prompt.rstrip("\n") + "\n", prefix=prefix, stops=stops, entry=entry)


def restore_missing(buggy: str, candidate: str) -> str:
    """Top-level imports, functions, classes and constants of the student's program that a reply
    left out (models often return only the function they changed) are put back."""
    try:
        old, new = ast.parse(buggy), ast.parse(candidate)
    except (SyntaxError, ValueError):
        return candidate

    def names(tree: ast.Module) -> set[str]:
        out: set[str] = set()
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                out.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                out.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, ast.Assign):
                out.update(t.id for t in node.targets if isinstance(t, ast.Name))
        return out

    have = names(new)
    lines = buggy.split("\n")
    head, tail = [], []
    for node in old.body:
        segment = "\n".join(lines[min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1:
                                  node.end_lineno])
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if not {(a.asname or a.name).split(".")[0] for a in node.names} <= have:
                head.append(segment)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if node.name not in have:
                tail.append(segment)
        elif isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            if not {t.id for t in node.targets} <= have:
                head.append(segment)
    if not head and not tail:
        return candidate
    code = ("\n".join(head) + "\n\n" if head else "") + candidate.rstrip() + ("\n\n\n" + "\n\n\n".join(tail) if tail else "")
    code = code.rstrip() + "\n"
    return code if parses(code) else candidate


def parse_repair(problem: Problem, program: str, text: str, request: RepairPrompt) -> Extracted:
    """The repaired program in a reply (chat) or a continuation (completion)."""
    if request.messages is not None:
        got = extract_code(text, request.entry)
    elif request.prefix:
        got = complete_program(request.prefix, text, request.entry)
    else:
        got = complete_program("", text)
    if got.code is None:
        return got
    code = restore_missing(program, got.code) if problem.kind == "function" else got.code
    return Extracted(code, got.reasoning)


class RepairOutcome(BaseModel):
    nodes: list[Node] = Field(default_factory=list)
    best_node_id: str | None = None
    distance: int | None = Field(None, description="token edit distance from the student's program")
    passing: list[str] = Field(default_factory=list, description="ids of candidates passing every test, best first")
    minimized_from: str | None = Field(None, description="the candidate whose unneeded hunks were reverted")
    stop_reason: str = ""

    def node(self, node_id: str | None) -> Node | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    @property
    def best(self) -> Node | None:
        return self.node(self.best_node_id)


@dataclass
class RepairSettings:
    samples: int = 4
    rounds: int = 2
    branching: int = 2
    temperature: float = 0.7
    max_tokens: int = 1024
    completion_max_tokens: int = 384
    seed: int = 0
    minimize: bool = True


class RepairSearch:
    """Sample repairs, run them, refine the closest misses, keep the smallest that passes."""

    def __init__(self, ctx: EngineContext, program: str, check: ProgramCheck, settings: RepairSettings):
        self.ctx = ctx
        self.problem = ctx.problem
        self.program = program
        self.check = check
        self.settings = settings
        self.chat = bool(ctx.model.can_chat)
        self.nodes: dict[str, Node] = {}
        self.by_hash: dict[str, str] = {normalized_hash(program): "program"}
        self.distance: dict[str, int] = {}
        self._counter = 0
        self._answered = False

    def _next_id(self) -> str:
        node_id = f"r{self._counter}"
        self._counter += 1
        return node_id

    def _passes(self, node: Node) -> bool:
        ex = node.execution
        return ex is not None and ex.compile_error is None and ex.total > 0 and ex.passed == ex.total

    async def _run(self, code: str) -> Execution:
        report = await self.ctx.execute(self.problem.job(code))
        return Execution.from_report(report, len(self.problem.visible_tests))

    async def _develop(self, node_id: str, parent: Node | None, round_: int, request: RepairPrompt,
                       temperature: float, seed: int) -> Node | None:
        s = self.settings
        options = GenerationOptions(temperature=temperature, seed=seed,
                                    max_tokens=s.max_tokens if request.messages is not None else s.completion_max_tokens,
                                    stop=request.stops)
        completion = await ask(self.ctx, "repair", options, node_id, request.messages, request.prompt,
                               answered=self._answered)
        if completion is None:
            return None
        self._answered = True
        got = parse_repair(self.problem, self.program, completion.text, request)
        node = Node(id=node_id, parent_id=parent.id if parent else None, round=round_, strategy="smallest repair",
                    role="programmer" if self.chat else "sample", reasoning=got.reasoning[:4000],
                    code=got.code or "", tokens=completion.prompt_tokens + completion.completion_tokens)
        return await self._admit(node, got.error, completion.text)

    async def _admit(self, node: Node, error: str | None = None, raw: str = "") -> Node:
        """Record a candidate: invalid, duplicate, or executed (with its events)."""
        if not node.code:
            node.status, node.invalid_reason = "invalid", error or "no program in the reply"
            node.reasoning = raw[:4000]
        else:
            node.code_hash = normalized_hash(node.code)
            original = self.by_hash.get(node.code_hash)
            if original == "program":
                node.status, node.invalid_reason = "invalid", "the reply repeats the student's program unchanged"
            elif original is not None:
                node.status, node.duplicate_of = "duplicate", original
            else:
                self.by_hash[node.code_hash] = node.id
                node.diff = unified_diff(self.program, node.code)
        self.nodes[node.id] = node
        announce(self.ctx, node)
        if node.status in ("invalid", "duplicate"):
            return node
        node.execution = await self._run(node.code)
        node.status = "executed"
        self.distance[node.id] = token_distance(self.program, node.code)
        ex = node.execution
        self.ctx.emit(NodeExecuted(node_id=node.id, passed=ex.passed, total=ex.total, verdicts=ex.verdicts(),
                                   cpu_ms=ex.cpu_ms, peak_rss_kb=ex.peak_rss_kb, compile_error=ex.compile_error,
                                   node=node))
        return node

    async def _gather(self, jobs) -> None:
        await develop_all(jobs)

    def _executed(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.runnable]

    def _ranked_passing(self) -> list[Node]:
        passing = [n for n in self._executed() if self._passes(n)]
        return sorted(passing, key=lambda n: (self.distance[n.id], int(n.id[1:].split("-")[0]), n.id))

    def _closest_misses(self, count: int) -> list[Node]:
        misses = [n for n in self._executed() if not self._passes(n)]
        return sorted(misses, key=lambda n: (-n.execution.passed, self.distance[n.id], n.id))[:count]

    def _seed(self, node_id: str) -> int:
        return (self.settings.seed * 1_000_003 + int(node_id[1:]) * 7) % (2 ** 31)

    def _round_done(self, round_: int) -> None:
        best = self._ranked_passing()
        self.ctx.emit(RoundDone(round=round_, best_node_id=best[0].id if best else None,
                                best_pass_ratio=1.0 if best else 0.0,
                                beam=[n.id for n in (best[:2] or self._closest_misses(2))]))

    async def run(self) -> RepairOutcome:
        s = self.settings
        stop = ""
        try:
            base = repair_prompt(self.problem, self.program, self.check, self.chat)
            jobs = []
            for i in range(s.samples):
                node_id = self._next_id()
                # a chat model's first sample stays close to the program; a base model at a low
                # temperature mostly copies it unchanged, so its samples all vary
                temperature = 0.2 if i == 0 and self.chat else s.temperature
                jobs.append(self._develop(node_id, None, 0, base, temperature, self._seed(node_id)))
            await self._gather(jobs)
            self._round_done(0)
            for round_ in range(1, s.rounds + 1):
                if self._ranked_passing():
                    stop = "a repair passes every test"
                    break
                jobs = []
                if self.chat and self._closest_misses(1):
                    for parent in self._closest_misses(max(1, s.samples // s.branching)):
                        for _ in range(s.branching):
                            node_id = self._next_id()
                            messages = list(base.messages) + [
                                Message(role="assistant", content=f"```python\n{parent.code.rstrip()}\n```"),
                                Message(role="user", content=render(
                                    "hint_repair_retry",
                                    report=failures_text(check_from_execution(self.problem, parent.execution, parent.code),
                                                         self.problem.kind, limit=6)))]
                            jobs.append(self._develop(node_id, parent, round_, RepairPrompt(messages=messages),
                                                      s.temperature, self._seed(node_id)))
                else:
                    for _ in range(s.samples):
                        node_id = self._next_id()
                        jobs.append(self._develop(node_id, None, round_, base, s.temperature, self._seed(node_id)))
                await self._gather(jobs)
                self._round_done(round_)
            else:
                stop = f"all {s.rounds} repair rounds done"
        except BudgetExhausted as exc:
            stop = str(exc)
        ranked = self._ranked_passing()
        minimized_from = None
        if ranked and s.minimize:
            smaller = await self._minimize(ranked[0])
            if smaller is not None:
                minimized_from = ranked[0].id
                ranked = self._ranked_passing()
        if ranked and not stop:
            stop = "a repair passes every test"
        elif not ranked:
            stop = (stop + "; " if stop else "") + "no candidate passes every test"
        best = ranked[0] if ranked else None
        return RepairOutcome(nodes=list(self.nodes.values()), best_node_id=best.id if best else None,
                             distance=self.distance[best.id] if best else None, passing=[n.id for n in ranked],
                             minimized_from=minimized_from, stop_reason=stop)

    async def _minimize(self, node: Node) -> Node | None:
        """Revert the hunks of a passing repair that the tests do not need (greedy, one pass)."""
        hunks = hunk_count(self.program, node.code)
        if hunks < 2:
            return None
        keep = set(range(hunks))
        best_code = None
        for i in range(hunks):
            trial = keep - {i}
            if not trial:
                continue
            code = revert_hunks(self.program, node.code, trial)
            if not parses(code):
                continue
            execution = await self._run(code)
            if execution.compile_error is None and execution.total and execution.passed == execution.total:
                keep, best_code = trial, code
        if best_code is None or normalized_hash(best_code) in self.by_hash:
            return None
        smaller = Node(id=f"{node.id}-min", parent_id=node.id, round=node.round, strategy="fewer hunks of " + node.id,
                       role=node.role, code=best_code)
        await self._admit(smaller)
        return smaller if self._passes(smaller) else None


__all__ = ["RepairOutcome", "RepairPrompt", "RepairSearch", "RepairSettings", "completion_prefix", "entry_function",
           "parse_repair", "repair_prompt", "restore_missing"]
