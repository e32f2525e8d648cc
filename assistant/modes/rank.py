"""Rank mode: candidates a user brings, ranked through the final pick every search ends with.

`rank()` is what `orps rank` and `benchmarks/pool_selection.py` call: each candidate runs in the
sandbox on the visible tests and on generated tests (from a file, or written by a model), the
generated tests are trusted by agreement between the candidates, the leading group is timed, and
the ranking is the one `solve()` would give for the same nodes (`Engine.rank_given`).
"""

from __future__ import annotations

from pathlib import Path

from sandbox.api import TestCase
from sandbox.core import Sandbox

from ..engine.budget import Budget
from ..engine.context import EngineContext, EventSink
from ..engine.extract import complete_program
from ..engine.programmer import completion_stops
from ..engine.search import Engine, SearchConfig, SearchResult
from ..errors import UserError
from ..models.base import Completion, GenerationOptions, ModelBackend, ModelError
from ..problems.loaders import _parse_jsonl, read_text
from ..problems.model import Problem

Candidate = tuple[str, str | None, str]  # (label, program or None, why there is none)


class NoModel(ModelBackend):
    """The model of a ranking that asks none: a call would be a bug, and fails loudly."""

    name = "none"
    can_chat = False

    async def complete(self, prompt: str, options: GenerationOptions, on_text=None) -> Completion:
        raise ModelError("no model was given to this ranking")

    def describe(self) -> dict:
        return {"backend": "none"}


def program_from_completion(problem: Problem, prefix: str, continuation: str) -> tuple[str | None, str]:
    """A base model's continuation as the search takes it: cut at the completion stops, then the
    longest run of whole lines after `prefix` that parses and defines the entry point."""
    for stop in completion_stops(problem):
        at = continuation.find(stop)
        if at >= 0:
            continuation = continuation[:at]
    got = complete_program(prefix, continuation, problem.entry_point if problem.kind == "function" else None)
    return got.code, got.error or ""


def load_candidates(problem: Problem, specs: list[str], k: int | None = None) -> list[Candidate]:
    """Candidates from files: a program per file, or JSON Lines (FILE.jsonl, FILE.jsonl#ID).

    A JSONL line is `{"code": PROGRAM}`, `{"completion": TEXT, "prompt"?: PREFIX}` (a continuation
    of the problem's starter code, or of `prompt`), or a pool record `{"samples": [TEXT...],
    "prompt"?: PREFIX, "task_id"|"id"?: ID}`; `#ID` (or, without it, the problem's own id) picks
    the pool records to use. `k`: at most that many candidates from each file."""
    out: list[Candidate] = []
    for spec in specs:
        path = Path(spec).expanduser()
        record_id = None
        if "#" in spec and not path.exists():
            file_part, _, record_id = spec.partition("#")
            path = Path(file_part).expanduser()
            if not record_id:
                raise UserError(f"{spec}: no record id after '#' (use FILE.jsonl#ID)")
        if path.suffix.lower() != ".jsonl":
            if record_id is not None:
                raise UserError(f"{spec}: '#ID' selects a record of a .jsonl pool; {path} is not one")
            text = read_text(path, spec)
            if not text.strip():
                raise UserError(f"{spec}: the file is empty")
            out.append((path.name, text, ""))
            continue
        out.extend(_jsonl_candidates(problem, path, spec, record_id, k))
    if not out:
        raise UserError("no candidates: the files given hold no program")
    return out


def _jsonl_candidates(problem: Problem, path: Path, spec: str, record_id: str | None,
                      k: int | None) -> list[Candidate]:
    records = _parse_jsonl(path, spec)
    pools = [(n, obj) for n, obj in records if "samples" in obj]
    if pools:
        def rid(obj: dict) -> str | None:
            value = obj.get("task_id", obj.get("id"))
            return None if value is None else str(value)

        wanted = record_id
        if wanted is None and len(pools) > 1:
            ids = {rid(obj) for _, obj in pools}
            wanted = next((i for i in ids if i is not None and problem.id.endswith(i)), None)
            if wanted is None:
                raise UserError(f"{spec}: a pool file with {len(pools)} records: pick one with {spec}#ID")
        if wanted is not None:
            pools = [(n, obj) for n, obj in pools if rid(obj) == wanted]
            if not pools:
                raise UserError(f"{spec}: no pool record with task_id or id '{wanted}'")
    elif record_id is not None:
        raise UserError(f"{spec}: '#ID' selects a pool record (with \"samples\"); {path.name} has none")
    out: list[Candidate] = []
    base = path.name
    for lineno, obj in records:
        if pools and not any(obj is o for _, o in pools):
            continue
        if "samples" in obj:
            samples = obj["samples"]
            if not isinstance(samples, list) or not all(isinstance(s, str) for s in samples):
                raise UserError(f"{spec} line {lineno}: \"samples\" must be a list of strings")
            prefix = _prefix(problem, obj, spec, lineno)
            for i, text in enumerate(samples[:k] if k else samples):
                code, why = program_from_completion(problem, prefix, text)
                out.append((f"{base}:{lineno}#{i}", code, why))
            continue
        label = str(obj.get("id", f"{base}:{lineno}"))
        if isinstance(obj.get("code"), str):
            out.append((label, obj["code"], ""))
        elif isinstance(obj.get("completion"), str):
            code, why = program_from_completion(problem, _prefix(problem, obj, spec, lineno), obj["completion"])
            out.append((label, code, why))
        else:
            raise UserError(f"{spec} line {lineno}: expected \"code\", \"completion\" or \"samples\" "
                            "(strings) in each line")
    return out[:k] if k and not pools else out


def _prefix(problem: Problem, obj: dict, spec: str, lineno: int) -> str:
    prompt = obj.get("prompt")
    if prompt is not None and not isinstance(prompt, str):
        raise UserError(f"{spec} line {lineno}: \"prompt\" must be a string")
    if prompt is None and not problem.starter_code:
        raise UserError(f"{spec} line {lineno}: a completion needs a \"prompt\" (the problem has no starter code)")
    return prompt if prompt is not None else problem.starter_code or ""


def load_tests(problem: Problem, spec: str) -> list[TestCase]:
    """Generated tests from a file: asserts in Python text (read as a model's answer: every usable
    assert for the entry point is taken, with what it needs), or JSON Lines of `{"code": ASSERT}`
    or `{"input": TEXT, "output": TEXT}` (stdin/stdout problems)."""
    from ..engine.gentests import parse_asserts

    path = Path(spec).expanduser()
    if path.suffix.lower() == ".jsonl":
        tests = []
        for lineno, obj in _parse_jsonl(path, spec):
            if isinstance(obj.get("code"), str) and problem.kind == "function":
                tests.append(TestCase(code=obj["code"]))
            elif isinstance(obj.get("input"), str) and isinstance(obj.get("output"), str) and problem.kind == "stdio":
                tests.append(TestCase(input=obj["input"], output=obj["output"]))
            else:
                want = '"code" (an assert)' if problem.kind == "function" else '"input" and "output"'
                raise UserError(f"--tests {spec} line {lineno}: expected {want} for a {problem.kind} problem")
        return tests
    if problem.kind != "function" or not problem.entry_point:
        raise UserError(f"--tests {spec}: asserts need a function problem; for stdin/stdout problems "
                        "give JSON Lines of {\"input\", \"output\"}")
    text = read_text(path, f"--tests {spec}")
    snippets, _ = parse_asserts(text, problem)
    if not snippets:
        raise UserError(f"--tests {spec}: no usable assert calling `{problem.entry_point}`")
    return [TestCase(code=s) for s in snippets]


async def rank(problem: Problem, candidates: list[Candidate], sandbox: Sandbox, config: SearchConfig,
               tests: list[TestCase] | None = None, model: ModelBackend | None = None,
               on_event: EventSink | None = None) -> SearchResult:
    """Rank `candidates` on `problem`; `tests` are generated tests as given (None: the model
    writes them when `config.generated_tests`, else there are none)."""
    if model is None:
        model = NoModel()
        if tests is None:
            config = config.model_copy(update={"generated_tests": False})
    budget = Budget(max_calls=config.max_calls, max_tokens=config.max_tokens, max_wall_s=config.max_wall_s)
    ctx = EngineContext(model, sandbox, problem, budget, on_event=on_event, parallel=config.parallel)
    engine = Engine(ctx, config)
    given = tests if tests is not None else (None if config.generated_tests else [])
    return await engine.rank_given(candidates, given)
