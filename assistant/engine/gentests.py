"""Generated tests: model-written asserts (function problems), generator + brute force (stdio),
and CodeT's dual agreement to decide how far to trust them.

Generated tests are evidence, never ground truth: a small model gets expected values wrong and a
brute force can be wrong too. They are kept apart from the visible tests, and `codet_rank` turns
the agreement between candidates and tests into scores (a test passed by a large group of
candidates that agree on everything is trusted; one passed by nobody is not).
"""

from __future__ import annotations

import ast
import asyncio
import builtins
import copy
import math
import re
import textwrap
from collections.abc import Iterable

from pydantic import BaseModel, Field

from sandbox.api import Job, Limits, TestCase, TestResult, Verdict

from ..models.base import GenerationOptions, Message, ModelError
from ..problems.model import Problem
from .budget import BudgetExhausted
from .context import EngineContext
from .extract import complete_program, parses
from .prompting import render

MAX_ASSERT_CHARS = 2000
# modules a test may use without importing them (small models often leave the import out)
_STDLIB = frozenset({"math", "re", "itertools", "collections", "functools", "string", "heapq",
                     "fractions", "decimal", "statistics", "operator", "random"})
_BUILTINS = frozenset(dir(builtins))
# a brute force is slow by design, but on small inputs it must finish within this
TOOL_CPU_S = 2.0
TOOL_MEMORY_MB = 512


class GeneratedTest(BaseModel):
    id: str
    test: TestCase
    origin: str = Field(description='"model" (asserts written by the model) or "brute-force"')


class StdioTools(BaseModel):
    """What differential testing needs for a stdin/stdout problem."""

    generator: str = Field(description="reads one line 'SEED SIZE', prints one random valid input")
    brute: str = Field(description="a simple, obviously correct (slow) solution: stdin -> stdout")
    generator_language: str = Field("python", description="a key of the sandbox's language table")
    brute_language: str = Field("python", description="the brute force may be in any language of the table")


class CodeTGroup(BaseModel):
    candidates: list[str]
    tests: list[str]
    score: float


class CodeTResult(BaseModel):
    candidate_scores: dict[str, float]
    test_trust: dict[str, float]
    groups: list[CodeTGroup] = Field(description="best first")


# --------------------------------------------------------------------------- parsing asserts

def _bound_names(tree: ast.Module) -> set[str]:
    """Top-level names a module binds (for the test setup: imports, helpers, constants)."""
    names: set[str] = set()
    for node in tree.body:
        names |= _binds(node)
    return names


def _binds(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def _free_names(node: ast.AST) -> set[str]:
    """Names a statement reads that it does not bind itself (comprehension variables, lambda args)."""
    loaded, stored = set(), set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            (loaded if isinstance(n.ctx, ast.Load) else stored).add(n.id)
        elif isinstance(n, ast.arg):
            stored.add(n.arg)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stored.add(n.name)
    return loaded - stored


def _calls(node: ast.AST, name: str) -> list[ast.Call]:
    return [n for n in ast.walk(node)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name]


def _key(node: ast.Assert) -> str:
    """Formatting-, comment- and message-insensitive identity of an assert."""
    return ast.dump(ast.Assert(test=node.test, msg=None), annotate_fields=False)


def _call_key(node: ast.Assert, entry_point: str) -> str | None:
    """For `assert ENTRY(args) == value` (either side): the call, to spot contradicting asserts."""
    test = node.test
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq):
        for side in (test.left, test.comparators[0]):
            if isinstance(side, ast.Call) and isinstance(side.func, ast.Name) and side.func.id == entry_point:
                return ast.dump(side, annotate_fields=False)
    return None


class _Rename(ast.NodeTransformer):
    def __init__(self, old: str, new: str):
        self.old, self.new = old, new

    def visit_Name(self, node: ast.Name) -> ast.Name:
        if node.id == self.old:
            return ast.copy_location(ast.Name(self.new, node.ctx), node)
        return node


_CHUNK_START = re.compile(r"^\s*(assert\b|import\s|from\s+\S+\s+import\s|def\s|[A-Za-z_]\w*\s*=[^=])")


def _chunks(text: str) -> list[str]:
    """Split text that does not parse as a whole into statement-sized pieces that might."""
    lines = text.splitlines()
    pieces: list[list[str]] = []
    current: list[str] | None = None
    indent = 0
    for line in lines:
        stripped = line.strip()
        width = len(line) - len(line.lstrip())
        starts = _CHUNK_START.match(line) is not None
        if current is not None and _open_brackets("\n".join(current)):
            current.append(line)
            continue
        if current is not None and stripped and width > indent and not (starts and width <= indent):
            current.append(line)
            continue
        if starts:
            current = [line]
            indent = width
            pieces.append(current)
        else:
            current = None
    out = []
    for piece in pieces:
        # a piece cut off mid-expression: keep the longest prefix that parses
        for end in range(len(piece), 0, -1):
            code = textwrap.dedent("\n".join(piece[:end]))
            if parses(code):
                out.append(code)
                break
        else:
            if len(piece) > 1:  # a broken block (`def test():` ...): its body may still hold asserts
                out.extend(_chunks(textwrap.dedent("\n".join(piece[1:]))))
    return out


def _open_brackets(code: str) -> bool:
    depth = 0
    for ch in code:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
    return depth > 0


_FENCE_BLOCK = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+#.-]*)[^\n]*\n(.*?)(?:^[ \t]*\1[ \t]*$|\Z)", re.S | re.M)


def _code_regions(reply: str) -> list[str]:
    """Python code in a reply: every fenced block (a cut-off last one too), else the whole text."""
    blocks = [m.group(3) for m in _FENCE_BLOCK.finditer(reply)
              if m.group(2).lower() in ("", "python", "py", "python3", "py3")]
    return blocks or [reply]


class _Scope:
    """Statements of one scope (module or a test function) that asserts may depend on."""

    def __init__(self, providers: list[tuple[int, set[str], ast.stmt, str]]):
        self.providers = providers  # (position, names bound, node, source)

    def resolve(self, names: set[str], before: int) -> list[tuple[int, str]] | None:
        """The provider statements (in order) that bind `names`, transitively; None if one is missing."""
        chosen: dict[int, str] = {}
        todo = list(names)
        seen: set[str] = set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            match = [p for p in self.providers if name in p[1] and p[0] < before]
            if not match:
                if name in _STDLIB:  # `math.isclose(...)` with the import left out
                    chosen[-1 - len(chosen)] = f"import {name}"
                    continue
                return None
            pos, _, node, src = match[-1]
            if pos not in chosen:
                chosen[pos] = src
                todo.extend(_free_names(node))
        return sorted(chosen.items())


def _extract_asserts(code: str, entry_point: str, known: set[str]) -> list[tuple[ast.Assert, str]]:
    """Top-level asserts (also those inside test functions) of `code` that call `entry_point`, each
    with the imports/assignments it needs, as (normalised assert node, runnable snippet)."""
    code = textwrap.dedent(code)
    try:
        trees = [(ast.parse(code), code)]
    except (SyntaxError, ValueError):
        trees = []
        for piece in _chunks(code):
            try:
                trees.append((ast.parse(piece), piece))
            except (SyntaxError, ValueError):
                continue
    # pieces parsed one by one still share a scope: a later assert may use an earlier import
    module: list[tuple[ast.stmt, str]] = [(stmt, src) for tree, src in trees for stmt in tree.body]
    out: list[tuple[ast.Assert, str]] = []
    _scan(module, entry_point, known, _Scope([]), out)
    return out


def _scan(stmts: list[tuple[ast.stmt, str]], entry_point: str, known: set[str], outer: _Scope,
          out: list[tuple[ast.Assert, str]], rename: str | None = None) -> None:
    providers = list(outer.providers)
    base = len(providers)
    for i, (stmt, src) in enumerate(stmts):
        if rename:
            stmt = _Rename(rename, entry_point).visit(copy.deepcopy(stmt))
            ast.fix_missing_locations(stmt)
        segment = (ast.unparse(stmt) if rename else ast.get_source_segment(src, stmt)) or ast.unparse(stmt)
        pos = base + i
        if isinstance(stmt, ast.Assert):
            _take_assert(stmt, segment, pos, entry_point, known, _Scope(providers), out)
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name != entry_point:
            params = [a.arg for a in stmt.args.posonlyargs + stmt.args.args]
            inner_rename = None
            # `def check(candidate): assert candidate(...)`: the parameter stands for the function
            if len(params) == 1 and _calls(stmt, params[0]) and not _calls(stmt, entry_point):
                inner_rename = params[0]
            elif params and len(params) > len(stmt.args.defaults):
                providers.append((pos, {stmt.name}, stmt, segment))  # a helper, not a test
                continue
            # positions inside the body refer to the enclosing source text
            body = [(s, src) for s in stmt.body]
            _scan(body, entry_point, known, _Scope(providers[:]), out, inner_rename)
            if not stmt.name.startswith("test") and not inner_rename:
                providers.append((pos, {stmt.name}, stmt, segment))
        elif isinstance(stmt, ast.If) and "__main__" in ast.unparse(stmt.test):
            _scan([(s, src) for s in stmt.body], entry_point, known, _Scope(providers[:]), out)
        else:
            bound = _binds(stmt)
            # never carry a definition of the function under test: it would replace the candidate
            if bound and entry_point not in bound:
                providers.append((pos, bound, stmt, segment))


class _Unplaceholder(ast.NodeTransformer):
    """`____.f(x)` (a blank left where a module or class name was meant) -> `f(x)`."""

    def __init__(self, entry_point: str, unbound):
        self.entry_point, self.unbound = entry_point, unbound

    def visit_Attribute(self, node: ast.Attribute):
        self.generic_visit(node)
        if node.attr == self.entry_point and isinstance(node.value, ast.Name) and self.unbound(node.value.id):
            return ast.copy_location(ast.Name(self.entry_point, ast.Load()), node)
        return node


def _repaired(node: ast.Assert, entry_point: str, unbound) -> ast.Assert | None:
    """A base model's half-written assert made whole, when the test it meant is plain to see:
    `assert ____, f(x) == y` (the comparison went into the message), `assert ____(f(x) == y)` (a
    blank helper around it), `assert ____.f(x) == y`. Blanks are names bound nowhere; None when
    there is nothing to repair."""
    test, changed = node.test, False
    if isinstance(test, ast.Name) and unbound(test.id) and node.msg is not None and _calls(node.msg, entry_point):
        test, changed = node.msg, True
    elif isinstance(test, ast.Call) and isinstance(test.func, ast.Name) and test.func.id != entry_point \
            and unbound(test.func.id) and len(test.args) == 1 and not test.keywords \
            and _calls(test.args[0], entry_point):
        test, changed = test.args[0], True
    fixed = _Unplaceholder(entry_point, unbound).visit(copy.deepcopy(test))
    changed = changed or ast.dump(fixed) != ast.dump(test)
    if not changed:
        return None
    new = ast.Assert(test=fixed, msg=None if test is node.msg else node.msg)
    return ast.fix_missing_locations(ast.copy_location(new, node))


def _take_assert(node: ast.Assert, segment: str, pos: int, entry_point: str, known: set[str],
                 scope: _Scope, out: list[tuple[ast.Assert, str]]) -> None:
    def unbound(name: str) -> bool:
        return name not in known and name != entry_point and scope.resolve({name}, pos) is None

    repaired = _repaired(node, entry_point, unbound)
    if repaired is not None:
        node, segment = repaired, ast.unparse(repaired)
    if not _calls(node, entry_point):
        return
    needed = _free_names(node) - known - {entry_point}
    deps = scope.resolve(needed, pos)
    if deps is None:
        return
    snippet = "\n".join([src for _, src in deps] + [segment])
    if len(snippet) > MAX_ASSERT_CHARS or not parses(snippet):
        return
    out.append((node, snippet))


def parse_asserts(text: str, problem: Problem, exclude: Iterable[str] = ()) -> tuple[list[str], dict[str, int]]:
    """The usable assert snippets in a model's text, in order, with counts of what was dropped.

    Keeps top-level asserts (and those inside test functions) that parse and call the entry point,
    with the imports/assignments they need; drops duplicates (of each other, of `exclude` snippets
    and of the visible tests) and asserts that contradict a visible test on the same call."""
    entry = problem.entry_point or ""
    known = set(_BUILTINS)
    if problem.test_setup:
        try:
            known |= _bound_names(ast.parse(problem.test_setup))
        except SyntaxError:
            pass
    visible_keys: set[str] = set()
    visible_calls: dict[str, set[str]] = {}
    for t in problem.visible_tests:
        for node in _asserts_in(t.code or ""):
            visible_keys.add(_key(node))
            ck = _call_key(node, entry)
            if ck:
                visible_calls.setdefault(ck, set()).add(_key(node))
    seen = {_key(n) for code in exclude for n in _asserts_in(code)}
    kept: list[str] = []
    dropped = {"duplicate": 0, "copies_visible": 0, "contradicts_visible": 0}
    for region in _code_regions(text):
        for node, snippet in _extract_asserts(region, entry, known):
            key = _key(node)
            ck = _call_key(node, entry)
            if key in visible_keys:
                dropped["copies_visible"] += 1
            elif ck in visible_calls and key not in visible_calls[ck]:
                dropped["contradicts_visible"] += 1
            elif key in seen:
                dropped["duplicate"] += 1
            else:
                seen.add(key)
                kept.append(snippet)
    return kept, dropped


def _asserts_in(code: str) -> list[ast.Assert]:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    return [n for n in ast.walk(tree) if isinstance(n, ast.Assert)]


# --------------------------------------------------------------------------- function problems

def _signature(problem: Problem) -> str:
    """The starter code made parseable (a bare `def` line gets a body), or a call shape."""
    starter = (problem.starter_code or "").rstrip()
    if starter:
        for candidate in (starter, starter + "\n    ..."):
            if parses(candidate):
                return candidate
        return starter
    calls = [c for t in problem.visible_tests for n in _asserts_in(t.code or "")
             for c in _calls(n, problem.entry_point or "")]
    if calls:
        n_args = len(calls[0].args)
        return f"def {problem.entry_point}({', '.join(f'arg{i + 1}' for i in range(n_args))}): ..."
    return f"def {problem.entry_point}(...): ..."


def _visible_asserts(problem: Problem, limit: int = 6) -> list[str]:
    out = []
    for t in problem.visible_tests:
        code = (t.code or "").strip()
        if code and len(code) <= 400:
            out.append(code)
        if len(out) >= limit:
            break
    return out


def _comment(text: str, width: int = 100) -> str:
    lines = []
    for para in text.strip().splitlines():
        lines.extend(textwrap.wrap(para, width) or [""])
    return "\n".join(("# " + ln).rstrip() for ln in lines)


def _function_messages(problem: Problem, count: int) -> list[Message]:
    examples = _visible_asserts(problem)
    example_text = ("\nExamples already known (do not repeat them):\n```python\n" + "\n".join(examples)
                    + "\n```\n") if examples else ""
    return [Message(role="system", content=render("gentests_system")),
            Message(role="user", content=render(
                "gentests_task", entry_point=problem.entry_point, statement=problem.statement.strip(),
                signature=_signature(problem), examples=example_text, count=count))]


def _function_prompt(problem: Problem) -> str:
    signature = _signature(problem)
    statement = problem.statement.strip()
    # HumanEval-style statements are the starter's docstring: do not say it twice
    statement_comment = "" if statement and statement[:60] in signature else _comment(statement)
    examples = "\n".join(_visible_asserts(problem))
    return render("gentests_completion", entry_point=problem.entry_point,
                  statement_comment=statement_comment, signature=signature,
                  examples=examples).rstrip("\n")


COMPLETION_STOPS = ["\ndef ", "\nclass ", "\nif __name__", "\nprint(", "```", "\n\n\n"]


async def generate_function_tests(ctx: EngineContext, max_tests: int = 12, calls: int = 1, seed: int = 0, *,
                                  temperature: float | None = None, max_tokens: int = 1024,
                                  id_prefix: str = "gen") -> list[GeneratedTest]:
    """Assert tests for the problem's entry point, written by the model from the statement.

    Never raises for a bad reply (an empty list and a notice instead); `BudgetExhausted` propagates
    when no call could be made, and ends generation with what earlier calls gave otherwise."""
    problem = ctx.problem
    if problem.kind != "function" or not problem.entry_point:
        ctx.notice("test generation skipped: the problem has no function entry point", "warning")
        return []
    kept: list[str] = []
    drops = {"duplicate": 0, "copies_visible": 0, "contradicts_visible": 0}
    answered = 0
    temp = temperature if temperature is not None else (0.2 if calls == 1 else 0.8)
    for i in range(max(1, calls)):
        if len(kept) >= max_tests:
            break
        try:
            text = await _ask_for_tests(ctx, problem, max_tests, temp, max_tokens, seed + i)
        except BudgetExhausted:
            if answered == 0:
                raise
            ctx.notice(f"test generation stopped after {answered} of {calls} calls: budget used", "info")
            break
        except ModelError as exc:
            ctx.notice(f"test generation failed: {exc}", "warning")
            continue
        answered += 1
        snippets, dropped = parse_asserts(text, problem, exclude=kept)
        kept.extend(snippets)
        for k, v in dropped.items():
            drops[k] += v
    kept = kept[:max_tests]
    if drops["contradicts_visible"]:
        ctx.notice(f"{drops['contradicts_visible']} generated test(s) dropped: they contradict a visible test")
    if not kept and answered:
        ctx.notice("the model's test generation gave no usable assert for "
                   f"`{problem.entry_point}`; continuing without generated tests", "warning")
    return [GeneratedTest(id=f"{id_prefix}-{i}", test=TestCase(name=f"{id_prefix}-{i}", code=code), origin="model")
            for i, code in enumerate(kept, 1)]


async def _ask_for_tests(ctx: EngineContext, problem: Problem, count: int, temperature: float,
                         max_tokens: int, seed: int) -> str:
    if ctx.model.can_chat:
        options = GenerationOptions(temperature=temperature, max_tokens=max_tokens, seed=seed)
        reply = await ctx.call("tests", options, messages=_function_messages(problem, count))
        return reply.text
    prompt = _function_prompt(problem)
    options = GenerationOptions(temperature=temperature, max_tokens=max_tokens, seed=seed, stop=COMPLETION_STOPS)
    reply = await ctx.call("tests", options, prompt=prompt)
    # the prompt ends inside the first assert: put its head back
    return f"assert {problem.entry_point}(" + reply.text


# --------------------------------------------------------------------------- stdio problems

def tool_limits(problem: Problem) -> Limits:
    """Limits for the generator and the brute force (small inputs only)."""
    mem = max(problem.limits().memory_mb, TOOL_MEMORY_MB)
    return Limits(cpu_s=TOOL_CPU_S, wall_s=2 * TOOL_CPU_S + 1, memory_mb=mem)


def generator_job(problem: Problem, tools: StdioTools, pairs: list[tuple[int, int]]) -> Job:
    return Job(kind="stdio", source=tools.generator, language=tools.generator_language, limits=tool_limits(problem),
               tests=[TestCase(name=f"seed={s} size={n}", input=f"{s} {n}\n") for s, n in pairs])


def brute_job(problem: Problem, tools: StdioTools, inputs: list[str], stop_on_failure: bool = False) -> Job:
    return Job(kind="stdio", source=tools.brute, language=tools.brute_language, limits=tool_limits(problem),
               stop_on_failure=stop_on_failure,
               tests=[TestCase(name=f"input-{i}", input=x) for i, x in enumerate(inputs, 1)])


def clean_run(result: TestResult) -> bool:
    """The program ran to the end without error (stdio: exit code 0, no limit hit)."""
    return result.verdict is Verdict.AC


def _normalise_input(text: str) -> str:
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n" if lines else ""


_SECTION = re.compile(r"(generat|brute|reference|naive|slow)", re.I)


def split_tools_reply(reply: str) -> tuple[str | None, str | None]:
    """(generator, brute force) from a chat reply with two Python blocks; labels decide, else content."""
    gen, brute = split_tools_languages(reply)
    return (gen[0] if gen else None), (brute[0] if brute else None)


def _block_language(tag: str) -> str | None:
    """The language of a fenced block: untagged and Python tags are Python; another language of
    the table by its fence names; None for anything else."""
    if tag in ("", "python", "py", "python3", "py3"):
        return "python"
    from sandbox.api import SandboxError
    from sandbox.languages import language
    try:
        return language(tag).id
    except SandboxError:
        return None


def split_tools_languages(reply: str) -> tuple[tuple[str, str] | None, tuple[str, str] | None]:
    """((generator, language), (brute force, language)) from a chat reply: each block may be in
    any language of the table (a C++ brute force is fine); labels decide, else content."""
    found: list[tuple[str | None, str, str]] = []
    prev_end = 0
    for m in _FENCE_BLOCK.finditer(reply):
        # a label is text between the previous block and this one (never code of the previous block)
        before = reply[max(prev_end, m.start() - 160): m.start()]
        prev_end = m.end()
        lang = _block_language(m.group(2).lower())
        if lang is None:
            continue
        labels = _SECTION.findall(before)
        label = None
        if labels:
            label = "generator" if labels[-1].lower().startswith("generat") else "brute"
        found.append((label, m.group(3), lang))
    gen = next(((code, lang) for label, code, lang in found if label == "generator"), None)
    brute = next(((code, lang) for label, code, lang in found if label == "brute"), None)
    rest = [(code, lang) for label, code, lang in found if label is None]
    for code, lang in rest:
        looks_gen = ("random" in code or "rand(" in code or "mt19937" in code) and re.search(r"seed", code, re.I) is not None
        if gen is None and looks_gen:
            gen = (code, lang)
        elif brute is None and not looks_gen:
            brute = (code, lang)
        elif gen is None:
            gen = (code, lang)
    return gen, brute


def _ensure_main_called(code: str) -> str:
    """A completion that defines main() and stops before calling it: call it."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    defines = any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in tree.body)
    called = any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "main"
                 for stmt in tree.body if not isinstance(stmt, ast.FunctionDef) for n in ast.walk(stmt))
    return code.rstrip() + "\n\nmain()\n" if defines and not called else code


async def _ask_for_tools(ctx: EngineContext, problem: Problem, seed: int,
                         feedback: list[Message]) -> tuple[tuple[str, str] | None, tuple[str, str] | None]:
    if ctx.model.can_chat:
        samples = ""
        for i, t in enumerate(problem.visible_tests[:2], 1):
            if t.input is not None and len(t.input) <= 1500:
                samples += f"\nSample input {i}:\n{t.input.rstrip()}\nSample output {i}:\n{(t.output or '').rstrip()}\n"
        messages = [Message(role="system", content=render("stdio_tools_system")),
                    Message(role="user", content=render("stdio_tools_task", statement=problem.statement.strip(),
                                                         samples=samples)), *feedback]
        reply = await ctx.call("tools", GenerationOptions(temperature=0.3, max_tokens=2048, seed=seed),
                               messages=messages)
        feedback.append(Message(role="assistant", content=reply.text))
        return split_tools_languages(reply.text)
    statement_comment = _comment(problem.statement)
    stops = ["```", "\n# Problem", "\n# Example", "\n# Test"]
    gen_prefix = render("stdio_generator_completion", statement_comment=statement_comment)
    brute_prefix = render("stdio_brute_completion", statement_comment=statement_comment)
    options = GenerationOptions(temperature=0.3, max_tokens=1024, seed=seed, stop=stops)
    gen_reply = await ctx.call("tools", options, prompt=gen_prefix)
    brute_reply = await ctx.call("tools", options, prompt=brute_prefix)
    gen = complete_program(gen_prefix, gen_reply.text)
    brute = complete_program(brute_prefix, brute_reply.text)
    return ((gen.code, "python") if gen.code else None,
            (_ensure_main_called(brute.code), "python") if brute.code else None)


async def validate_stdio_tools(ctx: EngineContext, tools: StdioTools, seed: int = 0) -> str | None:
    """None when the tools are usable, else why not (one line).

    The generator must run on small sizes and print something; the brute force must agree with
    every sample output (the problem's judge: `compare_output`, or its checker) and run cleanly
    on what the generator printed."""
    problem = ctx.problem
    for name, code, lang in (("generator", tools.generator, tools.generator_language),
                             ("brute force", tools.brute, tools.brute_language)):
        if not code.strip() or (lang in ("python", "pypy") and not parses(code)):
            return f"the {name} does not parse"
    samples = [t for t in problem.visible_tests if t.input is not None and t.output is not None]
    gen_report, sample_report = await asyncio.gather(
        ctx.execute(generator_job(problem, tools, [(seed, 1), (seed + 1, 3)])),
        ctx.execute(problem.job(tools.brute, tests=samples, limits=tool_limits(problem),
                                language=tools.brute_language)) if samples
        else _nothing())
    for r in gen_report.results:
        if not clean_run(r):
            return f"the generator fails on '{r.name}': {r.detail or r.verdict.value}"
        if not r.stdout.strip():
            return f"the generator prints nothing for '{r.name}'"
    if not gen_report.results:
        return f"the generator did not run: {gen_report.compile_error or gen_report.sandbox_error}"
    if sample_report is not None:
        for r, t in zip(sample_report.results, samples):
            if not r.passed:
                return f"the brute force fails {t.name or 'a sample'}: {r.verdict.value} {r.detail}".rstrip()
        if sample_report.compile_error or sample_report.sandbox_error or not sample_report.results:
            return f"the brute force did not run: {sample_report.compile_error or sample_report.sandbox_error}"
    inputs = [_normalise_input(r.stdout) for r in gen_report.results]
    report = await ctx.execute(brute_job(problem, tools, inputs))
    for r, x in zip(report.results, inputs):
        if not clean_run(r):
            return (f"the brute force fails on a generated input ({r.verdict.value} {r.detail}); "
                    f"input starts {x[:60]!r}")
    if not report.results:
        return f"the brute force did not run: {report.compile_error or report.sandbox_error}"
    return None


async def _nothing():
    return None


async def generate_stdio_tools(ctx: EngineContext, seed: int = 0, *, attempts: int = 1) -> StdioTools | None:
    """A random input generator and a brute-force solution from the model, validated in the sandbox.

    None (with a notice) when the model's programs are unusable after `attempts` tries; chat
    models get the reason for the failure on a retry. `BudgetExhausted` propagates."""
    problem = ctx.problem
    if problem.kind != "stdio":
        ctx.notice("generator/brute force skipped: not a stdin/stdout problem", "warning")
        return None
    feedback: list[Message] = []
    why = "no attempt made"
    for attempt in range(max(1, attempts)):
        try:
            gen, brute = await _ask_for_tools(ctx, problem, seed + attempt, feedback)
        except ModelError as exc:
            ctx.notice(f"generator/brute force request failed: {exc}", "warning")
            return None
        if not gen or not brute:
            missing = " and ".join(n for n, c in (("generator", gen), ("brute force", brute)) if not c)
            why = f"the reply has no {missing} program"
        else:
            tools = StdioTools(generator=gen[0], generator_language=gen[1], brute=brute[0], brute_language=brute[1])
            why = await validate_stdio_tools(ctx, tools, seed)
            if why is None:
                return tools
        if ctx.model.can_chat:
            feedback.append(Message(role="user", content=f"That does not work: {why}. Write both programs again, "
                                                         "fixed, in the same format."))
    ctx.notice(f"no differential testing: {why}", "warning")
    return None


async def stdio_generated_tests(ctx: EngineContext, tools: StdioTools, count: int = 10,
                                sizes: tuple[int, ...] | list[int] = (1, 2, 3, 5, 8, 13), *,
                                seed: int = 0, id_prefix: str = "bf") -> list[GeneratedTest]:
    """Input/output tests: the generator makes inputs (several seeds and sizes), the brute force
    answers them. Inputs on which either program fails, and duplicates, are dropped."""
    problem = ctx.problem
    if count <= 0 or not sizes:
        return []
    # ask for more than needed: some inputs repeat (small sizes) or fail
    pairs = [(seed + i, sizes[i % len(sizes)]) for i in range(2 * count)]
    gen_report = await ctx.execute(generator_job(problem, tools, pairs))
    seen = {_normalise_input(t.input) for t in problem.visible_tests if t.input is not None}
    inputs: list[str] = []
    for r in gen_report.results:
        if clean_run(r) and r.stdout.strip():
            x = _normalise_input(r.stdout)
            if x not in seen:
                seen.add(x)
                inputs.append(x)
    if not inputs:
        ctx.notice("the generator produced no usable input", "warning")
        return []
    report = await ctx.execute(brute_job(problem, tools, inputs))
    tests: list[GeneratedTest] = []
    failed = 0
    for r, x in zip(report.results, inputs):
        if not clean_run(r):
            failed += 1
            continue
        if len(tests) < count:
            tid = f"{id_prefix}-{len(tests) + 1}"
            tests.append(GeneratedTest(id=tid, test=TestCase(name=tid, input=x, output=r.stdout), origin="brute-force"))
    if failed:
        ctx.notice(f"{failed} generated input(s) dropped: the brute force failed on them")
    return tests


def passed_ids(results: Iterable[TestResult], tests: list[GeneratedTest]) -> set[str]:
    """Ids of the generated tests a run passed (results matched to tests by name)."""
    names = {t.test.name: t.id for t in tests}
    return {names[r.name] for r in results if r.passed and r.name in names}


# --------------------------------------------------------------------------- CodeT

def codet_rank(pass_matrix: dict[str, set[str]], test_ids: list[str], sizes: dict[str, int] | None = None,
               root: bool = True) -> CodeTResult:
    """CodeT's dual execution agreement.

    Candidates that pass exactly the same generated tests form a group; a group's score is the
    number of tests it passes times its size (`root`: the square root of its size), and each
    member gets it. A candidate counts `sizes[id]` times (a program sampled that many times), else
    once. A test's trust is the share of the total score held by the groups that pass it.
    Deterministic: groups are ordered by score, then by their first candidate id."""
    valid = set(test_ids)
    by_set: dict[frozenset[str], list[str]] = {}
    for cid in sorted(pass_matrix):
        key = frozenset(pass_matrix[cid] & valid)
        by_set.setdefault(key, []).append(cid)

    def size(members: list[str]) -> float:
        n = sum((sizes or {}).get(c, 1) for c in members)
        return math.sqrt(n) if root else float(n)

    groups = [CodeTGroup(candidates=members, tests=[t for t in test_ids if t in key], score=len(key) * size(members))
              for key, members in by_set.items()]
    groups.sort(key=lambda g: (-g.score, g.candidates[0]))
    scores = {cid: g.score for g in groups for cid in g.candidates}
    total = sum(g.score for g in groups)
    trust = {t: 0.0 for t in test_ids}
    if total > 0:
        for g in groups:
            for t in g.tests:
                trust[t] += g.score / total
    return CodeTResult(candidate_scores=scores, test_trust=trust, groups=groups)


__all__ = ["GeneratedTest", "StdioTools", "CodeTGroup", "CodeTResult", "generate_function_tests",
           "generate_stdio_tools", "validate_stdio_tools", "stdio_generated_tests", "codet_rank",
           "parse_asserts", "passed_ids", "tool_limits", "generator_job", "brute_job", "clean_run",
           "split_tools_reply", "split_tools_languages"]
