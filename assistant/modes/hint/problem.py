"""The problem a hint is checked against: any loader's problem, or a statement plus a tests file.

A tests file is one of
  FILE.py        Python tests: top-level `assert` lines and/or pytest-style `test_*` functions
                 (and `Test*` classes); `@pytest.mark.parametrize` is expanded into one test per
                 case. Modules beside the file that the tests import (helpers such as `node.py`)
                 and, when the tests read files, the data files beside it go into the sandbox.
  FILE.json      stdin/stdout tests: a list of {"input", "output"} objects (or {"tests": [...]})
  FILE.jsonl     one {"input", "output"} object per line
  DIR            online-judge-tools layout: NAME.in with NAME.out

A repair record (`FILE.jsonl#ID` of kind "repair": QuixBugs, HumanEvalFix) is a problem too: its
statement and its pytest file, with the student's program standing in for the record's program.

Test files are code: parametrized values that are not literals are computed by running the
file's module-level code in the sandbox, never on the host.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import tempfile
import textwrap
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

from sandbox.api import Job, Limits, TestCase
from sandbox.core import Sandbox

from ...errors import UserError
from ...problems.loaders import _oj_tests, _parse_jsonl, load_problem, read_text
from ...problems.model import Problem

MAX_DATA_BYTES = 2 << 20
MAX_DATA_FILES = 300
_SKIP_DIRS = {"__pycache__", ".git", ".hg", ".svn", "node_modules", ".venv", "venv", "env", ".tox", ".mypy_cache",
              ".pytest_cache", "build", "dist"}
_READS_FILES = re.compile(r"\bopen\(|read_text\(|read_bytes\(|\bPath\(|json\.load\(|np\.load|pd\.read_")

# A small stand-in for pytest inside the sandbox (the sandbox image has no pytest): enough for
# the decorators tests carry and for pytest.raises / approx / warns in test bodies. A test that
# calls pytest.skip raises OrpsSkipped; the hint mode drops such tests (they check nothing).
PYTEST_SHIM = '''
def _orps_pytest():
    import math, sys, types
    shim = types.ModuleType("pytest")

    class _Mark:
        def __getattr__(self, name):
            def factory(*args, **kwargs):
                if len(args) == 1 and callable(args[0]) and not kwargs:
                    return args[0]
                return lambda f: f
            return factory

    class _OrpsParam:
        def __init__(self, *values, **kwargs):
            self.values = values

    class _Raises:
        def __init__(self, expected, match=None):
            self.expected, self.match, self.value = expected, match, None
        def __enter__(self):
            return self
        def __exit__(self, kind, value, tb):
            if kind is None:
                raise AssertionError(f"DID NOT RAISE {self.expected}")
            if not issubclass(kind, self.expected):
                return False
            if self.match is not None:
                import re
                if not re.search(self.match, str(value)):
                    raise AssertionError(f"{str(value)!r} does not match {self.match!r}")
            self.value = value
            return True

    def raises(expected, *args, match=None, **kwargs):
        if args:
            with _Raises(expected, match):
                args[0](*args[1:], **kwargs)
            return None
        return _Raises(expected, match)

    class _Approx:
        def __init__(self, expected, rel=None, abs=None):
            self.expected, self.rel, self.abs = expected, rel, abs
        def _close(self, a, b):
            if isinstance(b, (list, tuple)):
                return isinstance(a, (list, tuple)) and len(a) == len(b) and all(self._close(x, y) for x, y in zip(a, b))
            if isinstance(b, dict):
                return isinstance(a, dict) and a.keys() == b.keys() and all(self._close(a[k], b[k]) for k in b)
            try:
                rel = 1e-6 if self.rel is None else self.rel
                tol = max(rel * abs(b), 1e-12 if self.abs is None else self.abs)
                return a == b or abs(a - b) <= tol
            except TypeError:
                return a == b
        def __eq__(self, other):
            return self._close(other, self.expected)
        def __repr__(self):
            return f"approx({self.expected!r})"

    class OrpsSkipped(Exception):
        pass

    def fail(msg="", pytrace=True):
        raise AssertionError(msg)

    def skip(msg="", **kwargs):
        raise OrpsSkipped(msg)

    class _Warns:
        def __init__(self, *args, **kwargs):
            import warnings
            self._catch = warnings.catch_warnings(record=True)
        def __enter__(self):
            import warnings
            caught = self._catch.__enter__()
            warnings.simplefilter("always")
            return caught
        def __exit__(self, *exc):
            return self._catch.__exit__(*exc)

    shim.mark = _Mark()
    shim.fixture = _Mark().fixture
    shim.param = _OrpsParam
    shim.raises = raises
    shim.approx = lambda expected, rel=None, abs=None: _Approx(expected, rel, abs)
    shim.fail, shim.skip = fail, skip
    shim.warns = shim.deprecated_call = _Warns

    def flags(name):
        # options a conftest.py stores on pytest (pytest.run_slow ...) are off by default
        if name.startswith("_"):
            raise AttributeError(name)
        return False

    shim.__getattr__ = flags
    sys.modules["pytest"] = shim


_orps_pytest()
'''

_MATERIALIZE = '''
def _orps_files(files):
    # helper modules and data go to the test's own directory (first on sys.path; the program
    # cannot reach it); data files also to the working directory, for tests that open them there
    import importlib, os
    own = os.environ.get("ORPS_TEST_DIR") or "."
    for name, text in files.items():
        targets = [own] if name.endswith(".py") or own == "." else [own, "."]
        for root in targets:
            path = os.path.join(root, name)
            folder = os.path.dirname(path)
            if folder:
                os.makedirs(folder, exist_ok=True)
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
    importlib.invalidate_caches()


_orps_files({files!r})
'''

_STUB = '''
def _orps_stub(name):
    import sys, types

    class Stub(types.ModuleType):
        def __getattr__(self, attr):
            if attr.startswith("__"):
                raise AttributeError(attr)
            def stub(*args, **kwargs):
                raise RuntimeError("the program is not loaded while the tests are collected")
            stub.__name__ = stub.__qualname__ = attr
            return stub

    sys.modules[name] = Stub(name)


_orps_stub({module!r})
'''

_COLLECT = '''
import json
namespace = {{"__name__": "orps_tests"}}
exec(compile({prelude!r}, {filename!r}, "exec"), namespace)
out = {{}}
for key, expr in {exprs!r}.items():
    values = []
    for case in list(eval(expr, namespace)):
        if type(case).__name__ in ("ParameterSet", "_OrpsParam"):
            case = tuple(case.values)
        try:
            text = repr(case)
        except Exception:
            text = None
        values.append(text)
    out[key] = values
print(json.dumps(out))
'''


@dataclass
class _Param:
    names: list[str]
    expr: ast.expr
    source: str
    values: list[str] | None = None  # repr of each case, when known


@dataclass
class _PyTest:
    name: str
    kind: str  # "assert" | "function" | "method" | "unittest"
    node: ast.AST
    cls: str | None = None
    params: list[_Param] = field(default_factory=list)


def _segment(lines: list[str], node: ast.AST, with_decorators: bool = True) -> str:
    start = node.lineno
    if with_decorators and getattr(node, "decorator_list", None):
        start = min(d.lineno for d in node.decorator_list)
    return "\n".join(lines[start - 1: node.end_lineno])


def _is_main_guard(node: ast.stmt) -> bool:
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__")


def _mark_name(dec: ast.expr) -> str | None:
    """`pytest.mark.NAME(...)` or `mark.NAME` -> NAME."""
    target = dec.func if isinstance(dec, ast.Call) else dec
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Attribute) \
            and target.value.attr == "mark":
        return target.attr
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "mark":
        return target.attr
    return None


def _literal_cases(expr: ast.expr, n_names: int) -> list[str] | None:
    """repr of each case when the argvalues are written as literals (pytest.param unwrapped)."""
    if not isinstance(expr, (ast.List, ast.Tuple)):
        return None
    out = []
    for elt in expr.elts:
        if isinstance(elt, ast.Call) and isinstance(elt.func, (ast.Attribute, ast.Name)) \
                and (getattr(elt.func, "attr", None) or getattr(elt.func, "id", None)) == "param":
            elt = ast.Tuple(elts=list(elt.args), ctx=ast.Load()) if n_names > 1 else (elt.args[0] if elt.args else elt)
        try:
            value = ast.literal_eval(elt)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return None
        out.append(repr(value))
    return out


def _params(fn: ast.FunctionDef, source: str, display: str) -> tuple[list[_Param], bool]:
    """The parametrize marks of a test function, and whether it is skipped."""
    params, skipped = [], False
    for dec in fn.decorator_list:
        name = _mark_name(dec)
        if name in ("skip", "xfail"):
            skipped = True
        elif name == "skipif":
            skipped = True  # conditions are not evaluated: a conditionally skipped test defines nothing certain
        elif name == "parametrize" and isinstance(dec, ast.Call):
            args = list(dec.args) + [k.value for k in dec.keywords if k.arg in ("argnames", "argvalues")]
            if len(args) < 2:
                raise UserError(f"{display} line {dec.lineno}: parametrize needs argument names and values")
            names_node, values_node = args[0], args[1]
            try:
                names = ast.literal_eval(names_node)
            except ValueError:
                raise UserError(f"{display} line {dec.lineno}: parametrize argument names must be a literal") from None
            if isinstance(names, str):
                names = [n.strip() for n in names.split(",") if n.strip()]
            names = list(names)
            params.append(_Param(names, values_node, ast.get_source_segment(source, values_node) or ast.unparse(values_node),
                                 _literal_cases(values_node, len(names))))
    return params, skipped


def _function_args(fn: ast.FunctionDef) -> list[str]:
    return [a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs]


def _body_inline(lines: list[str], fn: ast.FunctionDef) -> str | None:
    """The body of a test function as top-level code, when that keeps its meaning (no return,
    yield, global or nonlocal in its own scope)."""
    body = list(fn.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    if not body:
        return "pass"

    def own_scope(node):
        yield node
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                yield from own_scope(child)

    for stmt in body:
        for node in own_scope(stmt):
            if isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom, ast.Global, ast.Nonlocal, ast.Await)):
                return None
    text = "\n".join(lines[body[0].lineno - 1: body[-1].end_lineno])
    return textwrap.dedent(text).strip("\n")


@dataclass
class PythonTests:
    """A parsed Python tests file, before parametrized values that need running are known."""

    display: str
    folder: Path
    source: str
    prelude: str
    tests: list[_PyTest]
    module_name: str | None
    entry_point: str | None
    helpers: dict[str, str]
    data: dict[str, str]

    @property
    def needs_collection(self) -> bool:
        return any(p.values is None for t in self.tests for p in t.params)

    def setup(self) -> str:
        parts = [PYTEST_SHIM.strip()]
        files = {**self.helpers, **self.data}
        if files:
            parts.append(_MATERIALIZE.format(files=files).strip())
        if self.prelude.strip():
            parts.append(self.prelude.strip())
        return "\n\n\n".join(parts) + "\n"

    def test_cases(self) -> list[TestCase]:
        lines = self.source.split("\n")
        out: list[TestCase] = []
        for t in self.tests:
            if t.kind == "assert":
                out.append(TestCase(name=t.name, code=_segment(lines, t.node)))
                continue
            if t.kind == "unittest":
                out.append(TestCase(name=t.name, code=f"{t.cls}({t.node.name!r}).debug()"))
                continue
            if t.kind == "method":
                call = (f"_orps_obj = {t.cls}()\n"
                        f"if hasattr(_orps_obj, 'setup_method'):\n    _orps_obj.setup_method(_orps_obj.{t.node.name})\n"
                        f"_orps_obj.{t.node.name}()")
                out.append(TestCase(name=t.name, code=call))
                continue
            fn = t.node
            inline = _body_inline(lines, fn)
            if not t.params:
                code = inline if inline is not None else _segment(lines, fn, with_decorators=False) + f"\n{fn.name}()"
                out.append(TestCase(name=t.name, code=code))
                continue
            for index, case in enumerate(product(*[range(len(p.values)) for p in t.params])):
                assigns = []
                for p, i in zip(t.params, case):
                    value = p.values[i]
                    literal = value is not None and _is_literal(value)
                    rhs = value if literal else f"_orps_case(list({p.source})[{i}])"
                    if len(p.names) == 1:
                        assigns.append(f"{p.names[0]} = {rhs}")
                    else:
                        assigns.append(f"{', '.join(p.names)} = {rhs}")
                if any("_orps_case(" in a for a in assigns):
                    assigns.insert(0, "_orps_case = lambda c: tuple(c.values) if type(c).__name__ in "
                                      "('ParameterSet', '_OrpsParam') else c")
                head = "\n".join(assigns)
                if inline is not None:
                    code = head + "\n" + inline
                else:
                    names = [n for p in t.params for n in p.names]
                    code = (_segment(lines, fn, with_decorators=False) + "\n" + head + "\n"
                            + f"{fn.name}({', '.join(f'{n}={n}' for n in names)})")
                out.append(TestCase(name=f"{t.name}[{index}]", code=code))
        return out


def _is_literal(text: str) -> bool:
    try:
        ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _imported_modules(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module.split(".")[0])
    return list(dict.fromkeys(names))


def _data_files(folder: Path, display: str, exclude: set[Path]) -> dict[str, str]:
    files: dict[str, str] = {}
    total = 0

    def walk(d: Path, depth: int) -> None:
        nonlocal total
        try:
            entries = sorted(d.iterdir())
        except OSError:
            return
        for p in entries:
            if p.name.startswith(".") or p in exclude:
                continue
            if p.is_dir():
                if depth < 3 and p.name not in _SKIP_DIRS:
                    walk(p, depth + 1)
                continue
            if p.suffix in (".py", ".pyc") or not p.is_file():
                continue
            try:
                data = p.read_bytes()
                text = data.decode("utf-8")
            except (OSError, UnicodeDecodeError):
                continue  # binary data cannot travel as a test file
            total += len(data)
            if total > MAX_DATA_BYTES or len(files) >= MAX_DATA_FILES:
                raise UserError(f"{display}: the tests read files, but the folder beside it holds more than "
                                f"{MAX_DATA_BYTES >> 20} MB or {MAX_DATA_FILES} files to copy into the sandbox; "
                                "keep the tests and their data in a folder of their own")
            files[p.relative_to(folder).as_posix()] = text

    walk(folder, 0)
    return files


def _defined_names(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def parse_python_tests(path: Path, display: str, program_name: str, program_source: str | None = None) -> PythonTests:
    """Read a Python tests file: its tests, prelude, helper modules and (when read) data files."""
    source = read_text(path, display)
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise UserError(f"{display}: the tests file does not parse: {exc.msg} (line {exc.lineno})") from None
    lines = source.split("\n")
    program_module = Path(program_name).stem if Path(program_name).suffix == ".py" else None
    prelude: list[str] = []
    tests: list[_PyTest] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Assert):
            tests.append(_PyTest(f"{path.name}:{stmt.lineno}", "assert", stmt))
        elif isinstance(stmt, ast.AsyncFunctionDef) and stmt.name.startswith("test"):
            raise UserError(f"{display} line {stmt.lineno}: {stmt.name} is async: async tests are not supported")
        elif isinstance(stmt, ast.FunctionDef) and stmt.name.startswith("test"):
            params, skipped = _params(stmt, source, display)
            if skipped:
                continue
            covered = {n for p in params for n in p.names}
            extra = [a for a in _function_args(stmt) if a not in covered]
            if extra:
                raise UserError(f"{display} line {stmt.lineno}: {stmt.name} takes {', '.join(extra)}: pytest fixtures "
                                "are not supported; write plain test functions, parametrize or asserts")
            tests.append(_PyTest(stmt.name, "function", stmt, params=params))
        elif isinstance(stmt, ast.ClassDef) and stmt.name.startswith("Test"):
            prelude.append(_segment(lines, stmt))
            is_unittest = any("TestCase" in ast.unparse(b) for b in stmt.bases)
            for m in stmt.body:
                if isinstance(m, ast.FunctionDef) and m.name.startswith("test"):
                    if not is_unittest and (_function_args(m)[1:] or _params(m, source, display)[0]):
                        raise UserError(f"{display} line {m.lineno}: {stmt.name}.{m.name} takes arguments: "
                                        "only plain test methods are supported in classes")
                    tests.append(_PyTest(f"{stmt.name}.{m.name}", "unittest" if is_unittest else "method", m,
                                         cls=stmt.name))
        elif _is_main_guard(stmt):
            continue
        else:
            prelude.append(_segment(lines, stmt))
    if not tests:
        raise UserError(f"{display}: no tests in this file (expected top-level asserts or test_* functions)")

    folder = path.resolve().parent
    imported = _imported_modules(tree)
    module_name = program_module if program_module and program_module in imported else None
    if module_name is None and program_source is not None:
        # the tests may import the program under another name (gcd.py tested as `from gcd import gcd`
        # while the student's copy is fixed.py): the module whose imported names the program defines
        defined = _defined_names(program_source)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module != "pytest" \
                    and node.module.split(".")[0] not in sys.stdlib_module_names:
                names = {a.name for a in node.names}
                if names and "*" not in names and names <= defined:
                    module_name = node.module.split(".")[0]
                    break
    helpers: dict[str, str] = {}
    todo = [m for m in imported if m not in (program_module, module_name)]
    while todo:
        mod = todo.pop(0)
        file = folder / f"{mod}.py"
        if mod in helpers or mod in (program_module, module_name) or not file.is_file() or file == path.resolve():
            continue
        text = read_text(file, str(file.name))
        helpers[f"{mod}.py"] = text
        try:
            todo.extend(_imported_modules(ast.parse(text)))
        except SyntaxError:
            pass
    helper_names = {Path(h).stem for h in helpers}
    if module_name is None:
        foreign = [m for m in imported if m not in helper_names and m not in sys.stdlib_module_names
                   and m not in ("pytest", "hypothesis") and not (folder / m).is_dir()]
        if len(foreign) == 1 and foreign[0].isidentifier():
            module_name = foreign[0]  # the tests import the program under another name
    entry = None
    if module_name:
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == module_name and node.names[0].name != "*":
                entry = node.names[0].name
                break
    needs_data = any(_READS_FILES.search(text) for text in [source, *helpers.values()])
    parsed = PythonTests(display=display, folder=folder, source=source, prelude="\n\n".join(prelude),
                         tests=tests, module_name=module_name, entry_point=entry, helpers=helpers, data={})
    if needs_data or parsed.needs_collection:
        exclude = {path.resolve(), *(folder / h for h in helpers)}
        exclude.update(folder / f"{m}.py" for m in (program_module, module_name) if m)
        parsed.data = _data_files(folder, display, exclude)
    return parsed


async def collect_parameters(tests: PythonTests, sandbox: Sandbox) -> None:
    """Compute parametrized values that are not literals by running the file's module-level code
    in the sandbox (with its helper and data files); fills each `_Param.values`."""
    pending = {f"{i}:{j}": p for i, t in enumerate(tests.tests) for j, p in enumerate(t.params) if p.values is None}
    if not pending:
        return
    stub = _STUB.format(module=tests.module_name) if tests.module_name else ""
    script = "\n".join([PYTEST_SHIM, stub, _COLLECT.format(prelude=tests.prelude, filename=tests.display,
                                                          exprs={k: p.source for k, p in pending.items()})])
    job = Job(kind="stdio", source=script, tests=[TestCase(name="collect", input="", output="")],
              files={**tests.helpers, **tests.data}, limits=Limits(cpu_s=10, memory_mb=512))
    report = await sandbox.arun(job)
    result = report.results[0] if report.results else None
    if report.compile_error or result is None or result.exit_code not in (0, None) or result.signal:
        if report.compile_error or report.sandbox_error or result is None:
            why = report.compile_error or report.sandbox_error or "no result"
        else:
            why = (result.stderr.strip().splitlines() or [result.detail])[-1]
        raise UserError(f"{tests.display}: computing the parametrized test cases failed: {why}")
    try:
        data = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise UserError(f"{tests.display}: computing the parametrized test cases gave no result") from None
    for key, p in pending.items():
        values = data.get(key)
        if not isinstance(values, list):
            raise UserError(f"{tests.display}: the parametrized values {p.source} could not be computed")
        p.values = [v if isinstance(v, str) else None for v in values]


def _repair_record(spec: str) -> dict | None:
    """The record a `FILE.jsonl#ID` spec names when it is a repair record (a tiny repository with
    its pytest tests: QuixBugs, HumanEvalFix), else None."""
    if "#" not in spec or Path(spec).exists():
        return None
    file_part, _, record_id = spec.partition("#")
    path = Path(file_part).expanduser()
    if not record_id or not path.is_file():
        return None
    for _, obj in _parse_jsonl(path, file_part):
        if str(obj.get("id")) == record_id:
            return obj if obj.get("kind") == "repair" else None
    return None


async def _problem_from_repair_record(record: dict, spec: str, program_name: str, sandbox: Sandbox | None,
                                      program_source: str | None) -> Problem:
    files = record.get("files")
    program = record.get("program")
    if not isinstance(files, dict) or not isinstance(program, str) or program not in files:
        raise UserError(f"{spec}: not a valid repair record (needs 'files' and 'program')")
    tests = [name for name in files if Path(name).name.startswith("test_") and name.endswith(".py")]
    if len(tests) != 1:
        raise UserError(f"{spec}: the record holds {len(tests)} test files; expected one")
    with tempfile.TemporaryDirectory(prefix="orps-hint-") as tmp:
        root = Path(tmp)
        for name, text in files.items():
            target = (root / name).resolve()
            if root.resolve() not in target.parents:
                raise UserError(f"{spec}: file path {name!r} leaves the record's folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(str(text), encoding="utf-8")
        # the tests import the record's program by its name: the student's copy stands in for it
        parsed = parse_python_tests(root / tests[0], f"{spec}:{tests[0]}", program, program_source)
        if parsed.needs_collection:
            if sandbox is None:
                raise UserError(f"{spec}: parametrized values that are not literals need the sandbox")
            await collect_parameters(parsed, sandbox)
        return Problem(id=str(record.get("id")), kind="function", title=str(record.get("id")),
                       statement=str(record.get("statement") or ""), entry_point=record.get("entry_point")
                       or parsed.entry_point, test_setup=parsed.setup(), module_name=parsed.module_name,
                       visible_tests=parsed.test_cases(), source=spec)


def _stdio_tests(path: Path, display: str) -> list[TestCase]:
    if path.is_dir():
        tests = _oj_tests(path, display)
        if not tests:
            raise UserError(f"{display}: no tests in this folder (NAME.in with NAME.out)")
        return tests
    text = read_text(path, display)
    items: list = []
    if path.suffix.lower() == ".jsonl":
        for lineno, line in enumerate(text.split("\n"), 1):
            if line.strip():
                try:
                    items.append(json.loads(line))
                except ValueError as exc:
                    raise UserError(f"{display} line {lineno}: malformed JSON: {exc}") from None
    else:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise UserError(f"{display}: malformed JSON: {exc}") from None
        items = data.get("tests") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise UserError(f"{display}: expected a non-empty list of tests with \"input\" and \"output\"")
    tests = []
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict) or not isinstance(item.get("input"), str) \
                or not isinstance(item.get("output"), str):
            raise UserError(f"{display}: test {i} needs string fields \"input\" and \"output\"")
        tests.append(TestCase(name=str(item.get("name") or f"test-{i}"), input=item["input"], output=item["output"]))
    return tests


async def hint_problem(problem_spec: str | None, tests_spec: str | None, program_name: str,
                       sandbox: Sandbox | None = None, program_source: str | None = None) -> Problem:
    """The problem to check a program against: PROBLEM alone (any loader), or a statement (or
    any problem) plus a tests file whose tests replace the problem's own. `program_name` is the
    student's file (its name matters when the tests import it); its source is read from there
    unless given."""
    if problem_spec is None and tests_spec is None:
        raise UserError("no problem given: pass --problem PROBLEM (with tests), or a statement and --tests FILE")
    record = _repair_record(problem_spec) if problem_spec and tests_spec is None else None
    if record is not None:
        return await _problem_from_repair_record(record, problem_spec, program_name, sandbox, program_source)
    base = load_problem(problem_spec) if problem_spec else None
    if tests_spec is None:
        return base
    path = Path(tests_spec).expanduser()
    if not path.exists():
        raise UserError(f"{tests_spec}: no such tests file")
    statement = base.statement if base else ""
    title = base.title if base else ""
    pid = base.id if base else Path(program_name).stem
    if path.suffix.lower() == ".py":
        if program_source is None and Path(program_name).is_file():
            try:
                program_source = Path(program_name).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                program_source = None
        parsed = parse_python_tests(path, tests_spec, program_name, program_source)
        if parsed.needs_collection:
            if sandbox is None:
                raise UserError(f"{tests_spec}: parametrized values that are not literals need the sandbox")
            await collect_parameters(parsed, sandbox)
        return Problem(id=pid, kind="function", title=title, statement=statement, entry_point=parsed.entry_point,
                       test_setup=parsed.setup(), module_name=parsed.module_name,
                       visible_tests=parsed.test_cases(), source=f"{problem_spec or ''}+{tests_spec}")
    if path.is_dir() or path.suffix.lower() in (".json", ".jsonl"):
        tests = _stdio_tests(path, tests_spec)
        if base is not None and base.kind == "stdio":
            return base.model_copy(update={"visible_tests": tests, "hidden_tests": [],
                                           "source": f"{problem_spec}+{tests_spec}"})
        return Problem(id=pid, kind="stdio", title=title, statement=statement, visible_tests=tests,
                       source=f"{problem_spec or ''}+{tests_spec}")
    raise UserError(f"{tests_spec}: unsupported tests file: use a Python file of tests (.py), a JSON/JSONL list "
                    "of {\"input\", \"output\"} tests, or a folder of NAME.in/NAME.out files")


__all__ = ["PythonTests", "collect_parameters", "hint_problem", "parse_python_tests", "PYTEST_SHIM"]
