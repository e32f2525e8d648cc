"""Problem loaders: turn what the user points at into a `Problem`.

`load_problem(spec)` accepts
  DIR                a Kattis/ICPC problem package (problem.yaml, data/sample, data/secret; the
                     Code Jam archive's layout too: see `packages`), else an online-judge-tools
                     directory: DIR/test/NAME.in + NAME.out (or NAME.ans), with an optional
                     statement (problem.md, statement.md, README.md ...) in DIR
  FILE.json          a Competitive Companion problem (or one dataset record as a JSON object)
  FILE.jsonl#ID      the record with that id in a dataset file (function or stdio records)
  FILE.md, FILE.txt  a statement whose samples sit under Input/Output headings (any other
                     extension is read as a statement too)

Every problem with the input is a `UserError` naming the file and what is wrong.
"""

from __future__ import annotations

import ast

import difflib
import json
import math
import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sandbox.api import JudgeSpec, Limits, TestCase

from ..errors import UserError
from .model import Problem

# statement files looked for in an oj-tools directory, in this order
STATEMENT_NAMES = ("problem.md", "statement.md", "README.md", "readme.md", "problem.txt", "statement.txt",
                   "README.txt", "README")
TEST_DIR_NAMES = ("test", "tests")


# --------------------------------------------------------------------------- reading files

def read_text(path: Path, display: str | None = None) -> str:
    """A file's text (UTF-8, BOM dropped, newlines normalized); every failure is a UserError."""
    name = display or str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{name}: is a directory, not a file") from None
    except PermissionError:
        raise UserError(f"{name}: cannot read the file (permission denied)") from None
    except OSError as exc:
        raise UserError(f"{name}: cannot read the file ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{name}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
                        "save it as UTF-8") from None
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _validation_message(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(part) for part in err["loc"])
    more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
    return (f"field '{loc}': {err['msg']}" if loc else err["msg"]) + more


def _ensure_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


# --------------------------------------------------------------------------- entry point

def load_problem(spec: str) -> Problem:
    """Load a problem from a directory, a Competitive Companion JSON, FILE.jsonl#ID or a statement."""
    if not spec or not spec.strip():
        raise UserError("no problem given: pass an oj-tools directory, a Competitive Companion .json, "
                        "a dataset FILE.jsonl#ID or a statement file")
    path = Path(spec).expanduser()
    if "#" in spec and not path.exists():
        file_part, _, record_id = spec.partition("#")
        return load_dataset_record(Path(file_part).expanduser(), record_id, display=file_part)
    if path.is_dir():
        from .packages import is_package, load_package  # imported when needed: CLI start-up stays short
        if is_package(path):
            return load_package(path, display=spec)
        return load_oj_dir(path, display=spec)
    if not path.exists():
        raise UserError(f"{spec}: no such file or directory")
    if path.name == "problem.yaml":
        from .packages import load_package
        return load_package(path.parent, display=str(Path(spec).parent))
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return _jsonl_without_id(path, spec)
    if suffix == ".json":
        return load_json_problem(path, display=spec)
    return load_statement(path, display=spec)


# --------------------------------------------------------------------------- dataset records

class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    source: str = ""
    title: str | None = None
    statement: str | None = ""


class _FunctionRecord(_Record):
    starter_code: str | None = None
    entry_point: str | None = None
    test_setup: str | None = None
    visible_tests: list[str] = Field(default_factory=list)
    hidden_tests: list[str] = Field(default_factory=list)
    reference_solution: str | None = None
    module_name: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    reference_visible_failures: list[int] | None = None
    requires: list[str] | None = None


class _Sample(BaseModel):
    model_config = ConfigDict(extra="ignore")

    input: str
    output: str


class _HiddenSample(_Sample):
    name: str = ""


class _Judge(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str = "tokens"
    float_tolerance: float | None = Field(None, ge=0)
    float_absolute_tolerance: float | None = Field(None, ge=0)
    float_relative_tolerance: float | None = Field(None, ge=0)
    reals: bool = False
    case_sensitive: bool = True
    space_change_sensitive: bool = False


class _StdioRecord(_Record):
    time_limit_s: float | None = Field(None, gt=0)
    time_limits_by_test_set_s: list[Annotated[float, Field(gt=0)]] | None = None
    memory_limit_mb: int | None = Field(None, gt=0)
    judge: _Judge | None = None
    samples: list[_Sample] = Field(default_factory=list)
    hidden: list[_HiddenSample] = Field(default_factory=list)


def _parse_jsonl(path: Path, display: str) -> list[tuple[int, dict]]:
    """(line number, object) for each non-blank line. The whole file is read first: a bad line is
    a UserError even when the record asked for comes before it."""
    text = read_text(path, display)
    records = []
    # split on "\n" only: str.splitlines would also break on U+2028 and friends inside JSON strings
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{display} line {lineno}: malformed JSON at column {exc.colno}: {exc.msg}") from None
        if not isinstance(obj, dict):
            raise UserError(f"{display} line {lineno}: expected a JSON object (one record per line), "
                            f"found {_json_type(obj)}")
        records.append((lineno, obj))
    return records


def _id_hint(record_id: str, ids: list[str]) -> str:
    close = difflib.get_close_matches(record_id, ids, n=3, cutoff=0.6)
    if close:
        return "did you mean " + ", ".join(close) + "?"
    return "ids look like " + ", ".join(ids[:3])


def load_dataset_record(path: Path, record_id: str, display: str | None = None) -> Problem:
    """The record with id `record_id` of a dataset file (JSON Lines, one problem per line)."""
    name = display or str(path)
    if not record_id:
        raise UserError(f"{name}#: no record id after '#' (use {name}#ID)")
    if path.is_dir():
        raise UserError(f"{name}: is a directory, not a dataset file (use FILE.jsonl#ID)")
    ids: list[str] = []
    for _, obj in _parse_jsonl(path, name):
        rid = obj.get("id")
        if rid is None:
            continue
        if str(rid) == record_id:
            return problem_from_record(obj, f"{name}#{record_id}")
        ids.append(str(rid))
    if not ids:
        raise UserError(f"{name}: no records with an 'id' in this file")
    raise UserError(f"{name}: no record with id '{record_id}' ({len(ids)} records; {_id_hint(record_id, ids)})")


def _jsonl_without_id(path: Path, display: str) -> Problem:
    records = _parse_jsonl(path, display)
    ids = [str(obj["id"]) for _, obj in records if obj.get("id") is not None]
    if len(records) == 1:
        return problem_from_record(records[0][1], display)
    if not ids:
        raise UserError(f"{display}: no records with an 'id' in this file")
    raise UserError(f"{display}: a dataset file holds several problems: pick one with {display}#ID "
                    f"(ids look like {', '.join(ids[:3])})")


def carry_definitions(snippets: list[str]) -> list[str]:
    """Each test runs alone, but some sets split one test file into snippets whose later parts use
    helpers (def/class/import) from earlier ones (LBPP). Carry those definitions forward, never an
    assert or any other statement, so each snippet runs on its own as it did in its file."""
    carried: list[str] = []
    out = []
    for code in snippets:
        try:
            tree = ast.parse(code)
        except SyntaxError:
            out.append(code)  # reported as a broken test when it runs
            continue
        used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        defined_here = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        needed = [d for name, d in carried if name in used and name not in defined_here]
        out.append("\n".join(dict.fromkeys(needed)) + ("\n\n" if needed else "") + code)
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                carried.append((node.name, ast.get_source_segment(code, node) or ast.unparse(node)))
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    carried.append(((alias.asname or alias.name).split(".")[0], ast.unparse(node)))
    return out


def problem_from_record(obj: dict, where: str) -> Problem:
    """A `Problem` from one dataset record (schema: the datasets README); `where` names it in errors."""
    kind = obj.get("kind")
    rid = obj.get("id", "?")
    if kind == "repair":
        raise UserError(f"{where}: record {rid} is a repair record: use `orps fix`")
    if kind not in ("function", "stdio"):
        raise UserError(f"{where}: record {rid} has kind {kind!r}; expected 'function' or 'stdio'")
    try:
        rec = (_FunctionRecord if kind == "function" else _StdioRecord).model_validate(obj)
    except ValidationError as exc:
        raise UserError(f"{where}: not a valid {kind} record: {_validation_message(exc)}") from None
    common = dict(id=rec.id, title=rec.title or "", statement=rec.statement or "", source=where)
    if isinstance(rec, _FunctionRecord):
        return Problem(
            kind="function", **common,
            starter_code=rec.starter_code, entry_point=rec.entry_point,
            test_setup=rec.test_setup or None, module_name=rec.module_name,
            visible_tests=[TestCase(name=f"visible-{i}", code=code)
                           for i, code in enumerate(carry_definitions(rec.visible_tests), 1)],
            hidden_tests=[TestCase(name=f"hidden-{i}", code=code)
                          for i, code in enumerate(carry_definitions(rec.hidden_tests), 1)],
            reference_solution=rec.reference_solution,
            noisy_visible=rec.reference_visible_failures or [],
            requires=rec.requires or [])
    judge = JudgeSpec()
    if rec.judge is not None:
        if rec.judge.type not in ("tokens", "exact", "lines"):
            raise UserError(f"{where}: judge type {rec.judge.type!r} is not supported (tokens, exact or lines)")
        judge = JudgeSpec(**rec.judge.model_dump())
    problem = Problem(
        kind="stdio", **common,
        visible_tests=[TestCase(name=f"sample-{i}", input=s.input, output=s.output)
                       for i, s in enumerate(rec.samples, 1)],
        hidden_tests=[TestCase(name=h.name or f"hidden-{i}", input=h.input, output=h.output)
                      for i, h in enumerate(rec.hidden, 1)],
        time_limit_s=rec.time_limit_s, memory_limit_mb=rec.memory_limit_mb, judge=judge)
    return _test_set_limits(problem, rec.time_limits_by_test_set_s or [])


def _test_set_limits(problem: Problem, by_set: list[float]) -> Problem:
    """Give each test its test set's time limit (hidden `subtaskN/...` is set N, samples set 1)
    when the sets' limits differ; the problem's limit is the largest."""
    if len(set(by_set)) <= 1:
        return problem
    memory = problem.limits().memory_mb

    def limited(test: TestCase) -> TestCase:
        match = re.match(r"(?:secret/)?subtask(\d+)\b", test.name)
        number = int(match.group(1)) if match else 1
        seconds = by_set[number - 1] if 1 <= number <= len(by_set) else max(by_set)
        return test.model_copy(update={"limits": Limits(cpu_s=seconds, memory_mb=memory)})

    problem.visible_tests = [limited(t) for t in problem.visible_tests]
    problem.hidden_tests = [limited(t) for t in problem.hidden_tests]
    problem.time_limit_s = max(by_set + ([problem.time_limit_s] if problem.time_limit_s else []))
    return problem


# --------------------------------------------------------------------------- Competitive Companion

class _CompanionTest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    input: str
    output: str


class _CompanionIO(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str = "stdin"
    fileName: str | None = None
    pattern: str | None = None


class _Companion(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = ""
    group: str = ""
    url: str = ""
    interactive: bool = False
    memoryLimit: float | None = Field(None, gt=0, description="MB")
    timeLimit: float | None = Field(None, gt=0, description="ms")
    tests: list[_CompanionTest]
    testType: str = "single"
    input: _CompanionIO = Field(default_factory=_CompanionIO)
    output: _CompanionIO = Field(default_factory=lambda: _CompanionIO(type="stdout"))


def load_json_problem(path: Path, display: str | None = None) -> Problem:
    """A Competitive Companion problem, or a single dataset record stored as a JSON object."""
    name = display or str(path)
    text = read_text(path, name)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{name}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    if not isinstance(obj, dict):
        raise UserError(f"{name}: expected a JSON object (a Competitive Companion problem), found {_json_type(obj)}")
    if "tests" not in obj and obj.get("kind") in ("function", "stdio", "repair") and "id" in obj:
        return problem_from_record(obj, name)
    if "tests" not in obj:
        raise UserError(f"{name}: not a Competitive Companion problem (no 'tests' list)")
    try:
        cc = _Companion.model_validate(obj)
    except ValidationError as exc:
        raise UserError(f"{name}: not a valid Competitive Companion problem: {_validation_message(exc)}") from None
    title = cc.name or path.stem
    if cc.interactive:
        raise UserError(f"{name}: '{title}' is an interactive problem: interactive problems are not supported "
                        "(orps judges programs that read stdin and write stdout)")
    if cc.input.type != "stdin":
        where = f" ({cc.input.fileName or cc.input.pattern})" if cc.input.fileName or cc.input.pattern else ""
        raise UserError(f"{name}: '{title}' reads its input from a file{where}: file input/output is not "
                        "supported, only stdin/stdout")
    if cc.output.type != "stdout":
        where = f" ({cc.output.fileName})" if cc.output.fileName else ""
        raise UserError(f"{name}: '{title}' writes its output to a file{where}: file input/output is not "
                        "supported, only stdin/stdout")
    # Competitive Companion sends no statement: use NAME.md (or .txt) beside the JSON when there is one
    statement = ""
    for suffix in (".md", ".txt"):
        beside = path.with_suffix(suffix)
        if beside.is_file():
            statement = read_text(beside, str(Path(name).with_suffix(suffix)))
            break
    return Problem(
        id=path.stem, kind="stdio", title=title, statement=statement, source=name,
        visible_tests=[TestCase(name=f"sample-{i}", input=_ensure_newline(t.input),
                                output=_ensure_newline(t.output)) for i, t in enumerate(cc.tests, 1)],
        time_limit_s=cc.timeLimit / 1000 if cc.timeLimit else None,
        memory_limit_mb=math.ceil(cc.memoryLimit) if cc.memoryLimit else None)


# --------------------------------------------------------------------------- online-judge-tools directories

def _natural_key(name: str) -> tuple:
    # re.split with a capturing group alternates text and digits, so positions always compare alike
    return tuple(int(part) if i % 2 else part.lower() for i, part in enumerate(re.split(r"(\d+)", name)))


def _list_dir(path: Path, display: str) -> list[Path]:
    try:
        return list(path.iterdir())
    except PermissionError:
        raise UserError(f"{display}: cannot read the directory (permission denied)") from None
    except OSError as exc:
        raise UserError(f"{display}: cannot read the directory ({exc.strerror or exc})") from None


def _oj_tests(test_dir: Path, display: str) -> list[TestCase]:
    files = [p for p in _list_dir(test_dir, display) if p.is_file()]
    ins = {p.stem: p for p in files if p.suffix == ".in"}
    outs = {p.stem: p for p in files if p.suffix == ".ans"}
    outs.update({p.stem: p for p in files if p.suffix == ".out"})  # NAME.out wins over NAME.ans
    for stem in sorted(ins, key=_natural_key):
        if stem not in outs:
            raise UserError(f"{display}/{stem}.in: no matching {stem}.out or {stem}.ans (every test needs its "
                            "expected output)")
    for stem in sorted(outs, key=_natural_key):
        if stem not in ins:
            raise UserError(f"{display}/{outs[stem].name}: no matching {stem}.in (every expected output needs "
                            "its input)")
    return [TestCase(name=stem, input=read_text(ins[stem], f"{display}/{stem}.in"),
                     output=read_text(outs[stem], f"{display}/{outs[stem].name}"))
            for stem in sorted(ins, key=_natural_key)]


def load_oj_dir(path: Path, display: str | None = None) -> Problem:
    """An online-judge-tools directory: test/*.in with matching *.out (or *.ans), and an optional statement."""
    name = (display or str(path)).rstrip("/") or "/"
    _list_dir(path, name)
    test_dir = next((path / d for d in TEST_DIR_NAMES if (path / d).is_dir()), None)
    statement_file = next((path / s for s in STATEMENT_NAMES if (path / s).is_file()), None)
    tests = _oj_tests(test_dir, f"{name}/{test_dir.name}") if test_dir is not None else []
    if not tests and statement_file is None:
        raise UserError(f"{name}: no tests (test/NAME.in with NAME.out, or a problem.yaml with data/sample) and no statement "
                        f"({', '.join(STATEMENT_NAMES[:3])}) in this directory")
    problem_id = path.resolve().name or "problem"
    if statement_file is None:
        return Problem(id=problem_id, kind="stdio", title=problem_id, source=name, visible_tests=tests)
    problem = parse_statement(read_text(statement_file, f"{name}/{statement_file.name}"), problem_id,
                              source=name, display=f"{name}/{statement_file.name}")
    if tests:  # the test files are the samples; the statement's own copies are not run twice
        problem.visible_tests = tests
    return problem


# --------------------------------------------------------------------------- statements

_MD_HEADING = re.compile(r"^ {0,3}#{1,6}\s+[A-Za-z]")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^`]*)$")
_SAMPLE_WORDS = r"(?:sample|example)s?"
_IO_HEADING = re.compile(
    r"^(?:\#{1,6}\s*)?[*_]*\s*"
    rf"(?P<sample>{_SAMPLE_WORDS}\s*(?:test\s*)?(?:case\s*)?(?:\#?\d+\s*[:.]?\s*)?)?"
    r"(?P<which>input|output)"
    r"(?:\s*(?:\#?\d+|\((?:stdin|stdout)\)))?"
    r"\s*[*_]*\s*:?\s*[*_]*\s*:?\s*$", re.I)
_EXAMPLES_HEADING = re.compile(
    rf"^(?:\#{{1,6}}\s*)?[*_]*\s*{_SAMPLE_WORDS}(?:\s*tests?|\s*cases?)?(?:\s*\#?\d+)?\s*[*_]*\s*:?\s*[*_]*\s*$", re.I)
_INPUT_INFO = re.compile(r"^(?:sample[-_ ]?|example[-_ ]?)?(?:input|in|stdin)[-_ ]?\d*$", re.I)
_OUTPUT_INFO = re.compile(r"^(?:sample[-_ ]?|example[-_ ]?)?(?:output|out|stdout|expected)[-_ ]?\d*$", re.I)
_TIME_LIMIT = re.compile(r"time\s+limit(?:\s+per\s+test)?\s*[:=]?\s*(\d+(?:\.\d+)?)\s*"
                         r"(ms|milliseconds?|s|secs?|seconds?)\b", re.I)
_MEMORY_LIMIT = re.compile(r"memory\s+limit(?:\s+per\s+test)?\s*[:=]?\s*(\d+(?:\.\d+)?)\s*"
                           r"(kb|kib|mb|mib|megabytes?|gb|gib|gigabytes?)\b", re.I)
_FLOAT_TOLERANCE = re.compile(r"(?:absolute|relative)\s+(?:or\s+(?:absolute|relative)\s+)?errors?\b(?:[^.]|\.(?=\d)){0,80}?"
                              r"(?:10\s*\^\s*\{?\s*[-−]\s*(\d+)\s*\}?|1e-(\d+)|10[-−](\d+)\b|0\.(0*)1\b)", re.I)


def _block_after(lines: list[str], i: int, plain: bool, until_output: bool = False) -> tuple[str, int] | None:
    """The sample block that starts after line i: fenced, indented, or (with `plain`) bare lines."""
    j = i + 1
    while j < len(lines) and not lines[j].strip():
        j += 1
    if j >= len(lines):
        return None
    fence = _FENCE.match(lines[j])
    if fence:
        return _fenced_block(lines, j, fence.group(1))
    if lines[j].startswith(("    ", "\t")):
        body = []
        k = j
        while k < len(lines) and (lines[k].startswith(("    ", "\t")) or not lines[k].strip()):
            body.append(lines[k][1:] if lines[k].startswith("\t") else lines[k][4:])
            k += 1
        while body and not body[-1].strip():
            body.pop()
        return "\n".join(body) + "\n", k
    if plain:
        k = j
        while k < len(lines) and lines[k].strip() and not _is_heading(lines[k]):
            k += 1
        if k == j:
            return None
        if until_output:  # an input may hold blank lines: it runs up to the output heading, if one follows
            m = k
            while m < len(lines) and not _is_heading(lines[m]):
                m += 1
            heading = _IO_HEADING.match(lines[m].strip()) if m < len(lines) else None
            if heading and heading.group("which").lower() == "output":
                k = m
        body = lines[j:k]
        while body and not body[-1].strip():
            body.pop()
        return "\n".join(body) + "\n", k
    return None


def _is_heading(line: str) -> bool:
    stripped = line.strip()
    return bool(_IO_HEADING.match(stripped) or _EXAMPLES_HEADING.match(stripped) or _MD_HEADING.match(line))


def _fenced_block(lines: list[str], j: int, fence: str) -> tuple[str, int]:
    body = []
    k = j + 1
    while k < len(lines):
        stripped = lines[k].strip()
        if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
            return ("\n".join(body) + "\n" if body else ""), k + 1
        body.append(lines[k])
        k += 1
    return ("\n".join(body) + "\n" if body else ""), k  # unclosed fence: runs to the end, as Markdown does


def find_samples(text: str, display: str) -> list[TestCase]:
    """Sample tests in a statement: Input/Output headings followed by a block, or labelled fences."""
    lines = text.split("\n")
    blocks: list[tuple[str, str, int, bool]] = []  # (input|output, text, line number, explicitly a sample)
    in_examples = False
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            info = fence.group(2).strip().split()
            body, nxt = _fenced_block(lines, i, fence.group(1))
            label = next((w for w in info if _INPUT_INFO.match(w) or _OUTPUT_INFO.match(w)), None)
            if label is not None:
                blocks.append(("input" if _INPUT_INFO.match(label) else "output", body, i + 1, True, False))
            i = nxt
            continue
        heading = _IO_HEADING.match(line.strip())
        if heading:
            explicit = bool(heading.group("sample")) or in_examples
            which = heading.group("which").lower()
            found = _block_after(lines, i, plain=explicit, until_output=which == "input")
            bare = False
            if found is None and _MD_HEADING.match(line):
                # "## Input" then bare lines: a sample if it reads as data (the pair is checked below)
                found, bare = _block_after(lines, i, plain=True, until_output=which == "input"), True
            if found is not None:
                body, nxt = found
                blocks.append((which, body, i + 1, explicit, bare))
                i = nxt
                continue
        elif _EXAMPLES_HEADING.match(line.strip()):
            in_examples = True
        elif line.strip():
            # prose: an "Example" heading only makes bare Input/Output headings samples right after it
            in_examples = False
        i += 1

    tests: list[TestCase] = []
    pending: tuple[str, int, bool, bool] | None = None
    for which, body, lineno, explicit, bare in blocks:
        if which == "input":
            if pending is not None and pending[2]:
                raise UserError(f"{display}: sample input at line {pending[1]} has no output block after it")
            pending = (body, lineno, explicit, bare)
        elif pending is not None:
            # bare blocks under plain headings may be the format's description, not a sample
            if not ((pending[3] or bare) and (_reads_as_prose(pending[0]) or _reads_as_prose(body))):
                tests.append(TestCase(name=f"sample-{len(tests) + 1}", input=pending[0], output=body))
            pending = None
    if pending is not None and pending[2]:
        raise UserError(f"{display}: sample input at line {pending[1]} has no output block after it")
    return tests


_WORD = re.compile(r"[A-Za-z]+")


def _reads_as_prose(block: str) -> bool:
    """Whether a bare block under an Input/Output heading describes the format ("The first line
    holds n.") rather than showing data: a line of three or more words ending a sentence."""
    for line in block.splitlines():
        stripped = line.strip()
        if len(_WORD.findall(stripped)) >= 3 and stripped.endswith((".", ":", ";", "?")):
            return True
    return False


def _statement_limits(text: str) -> tuple[float | None, int | None, float | None]:
    """Time limit (s), memory limit (MB) and float tolerance when the statement states them."""
    times = []
    for value, unit in _TIME_LIMIT.findall(text):
        seconds = float(value) / 1000 if unit.lower().startswith("m") else float(value)
        if seconds > 0:
            times.append(seconds)
    mems = []
    for value, unit in _MEMORY_LIMIT.findall(text):
        u = unit.lower()
        mb = float(value) / 1024 if u.startswith("k") else float(value) * 1024 if u.startswith("g") else float(value)
        if mb >= 1:
            mems.append(math.ceil(mb))
    tol = _FLOAT_TOLERANCE.search(text)
    tolerance = None
    if tol:
        power, exp_e, exp_dash, zeros = tol.groups()
        exponent = int(power or exp_e or exp_dash) if zeros is None else len(zeros) + 1
        tolerance = 10.0 ** -exponent
    return (max(times) if times else None), (max(mems) if mems else None), tolerance


def _title(text: str, fallback: str) -> str:
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            return stripped.lstrip("#").strip() or fallback
        return stripped if len(stripped) <= 80 and not _IO_HEADING.match(stripped) else fallback
    return fallback


def parse_statement(text: str, problem_id: str, source: str, display: str) -> Problem:
    """A stdin/stdout problem from a statement's text: samples, title and any stated limits."""
    time_s, memory_mb, tolerance = _statement_limits(text)
    judge = JudgeSpec(float_tolerance=tolerance) if tolerance is not None else JudgeSpec()
    return Problem(id=problem_id, kind="stdio", title=_title(text, problem_id), statement=text.strip() + "\n",
                   source=source, visible_tests=find_samples(text, display), time_limit_s=time_s,
                   memory_limit_mb=memory_mb, judge=judge)


def load_statement(path: Path, display: str | None = None) -> Problem:
    """A Markdown or plain-text statement; its samples (if any) are the visible tests."""
    name = display or str(path)
    text = read_text(path, name)
    if not text.strip():
        raise UserError(f"{name}: the statement file is empty")
    # problem.md, statement.md, README.md: the folder names the problem
    stem = path.parent.resolve().name if path.name in STATEMENT_NAMES else path.stem
    return parse_statement(text, stem or path.stem, source=name, display=name)


__all__ = ["load_problem", "load_dataset_record", "load_json_problem", "load_oj_dir", "load_statement",
           "parse_statement", "find_samples", "problem_from_record", "read_text"]
