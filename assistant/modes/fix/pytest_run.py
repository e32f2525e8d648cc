"""Running pytest on the snapshot (plus a candidate's changed files) and reading its junit report.

One sandbox job per run: pytest writes a junit XML report (xunit1, which carries each test's
file and line) inside the sandbox's copy of the tree; the report comes back on the sandbox's own
result channel (`collect`). Tests are identified by pytest node ids (`tests/test_x.py::TestK::
test_m[1]`); a module that fails to import is a `collection_error` with the file's path as its id:
that is a thing to fix like any failing test.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Literal

from pydantic import BaseModel, Field

from sandbox.api import ExecutionReport, Job, Limits, TestCase

from .environment import TestEnvironment

JUNIT = ".orps-junit.xml"

Outcome = Literal["passed", "failed", "error", "skipped", "collection_error", "missing"]


class TestRun(BaseModel):
    """One test's outcome in one pytest run."""

    __test__ = False

    id: str
    outcome: Outcome
    message: str = ""
    text: str = Field("", description="pytest's report for a failure (short traceback)")
    time_s: float = 0.0
    file: str | None = None
    line: int | None = None
    timeout: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome in ("passed", "skipped")

    @property
    def directory_level(self) -> bool:
        """A collection error of a directory (its conftest.py or package fails to import), not of a file."""
        return self.outcome == "collection_error" and not self.id.endswith(".py") and "::" not in self.id


class SuiteRun(BaseModel):
    """One pytest run: the tests it reported, its exit code, its own timing, its output tail."""

    tests: list[TestRun] = Field(default_factory=list)
    exit_code: int | None = None
    timed_out: bool = False
    pytest_time_s: float | None = None
    wall_s: float = 0.0
    output: str = ""
    error: str | None = Field(None, description="why pytest gave no usable report")
    selection: list[str] = Field(default_factory=list)

    def by_id(self) -> dict[str, TestRun]:
        return {t.id: t for t in self.tests}

    def failing(self) -> list[TestRun]:
        return [t for t in self.tests if not t.ok]

    def passing_ids(self) -> set[str]:
        return {t.id for t in self.tests if t.ok}

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.tests:
            out[t.outcome] = out.get(t.outcome, 0) + 1
        return out

    def summary(self) -> str:
        c = self.counts
        parts = [f"{c[k]} {k.replace('_', ' ')}" for k in ("passed", "failed", "error", "collection_error",
                                                           "skipped", "missing") if c.get(k)]
        return ", ".join(parts) or "no tests"


def node_id(file: str | None, classname: str, name: str) -> str:
    """pytest's node id from an xunit1 testcase (file attribute + dotted class name)."""
    if not file:
        parts = classname.split(".") if classname else []
        # without a file attribute: module path guessed from the dotted name (classes are CamelCase)
        mod = [p for p in parts if not p[:1].isupper()]
        cls = parts[len(mod):]
        file = "/".join(mod) + ".py" if mod else "?"
        return "::".join([file, *cls, name])
    module = file[:-3].replace("/", ".") if file.endswith(".py") else file.replace("/", ".")
    rest = classname[len(module):].lstrip(".") if classname.startswith(module) else ""
    return "::".join([file, *[p for p in rest.split(".") if p], name])


def parse_junit(xml_text: str) -> tuple[list[TestRun], float | None]:
    """Tests and pytest's own total time from a junit XML report; ValueError when it is not one."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise ValueError(f"the junit report is not valid XML: {exc}") from None
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    tests: list[TestRun] = []
    total_time = 0.0
    seen: dict[str, int] = {}
    for suite in suites:
        try:
            total_time += float(suite.get("time") or 0)
        except ValueError:
            pass
        for case in suite.findall("testcase"):
            classname = case.get("classname") or ""
            name = case.get("name") or ""
            file = case.get("file")
            line = case.get("line")
            try:
                t = float(case.get("time") or 0)
            except ValueError:
                t = 0.0
            failure = case.find("failure")
            error = case.find("error")
            skipped = case.find("skipped")
            if error is not None and not classname and (error.get("message") or "") == "collection failure":
                tid = file or name.replace(".", "/") + ".py"
                run = TestRun(id=tid, outcome="collection_error", message="error collecting " + tid,
                              text=(error.text or "").strip(), file=file)
            else:
                tid = node_id(file, classname, name)
                if failure is not None or error is not None:
                    el = failure if failure is not None else error
                    message = el.get("message") or ""
                    run = TestRun(id=tid, outcome="failed" if failure is not None else "error", message=message,
                                  text=(el.text or "").strip(), time_s=t, file=file,
                                  line=int(line) + 1 if line and line.isdigit() else None,
                                  timeout="Timeout" in message and "pytest-timeout" in message)
                elif skipped is not None:
                    run = TestRun(id=tid, outcome="skipped", message=skipped.get("message") or "", time_s=t,
                                  file=file)
                else:
                    run = TestRun(id=tid, outcome="passed", time_s=t, file=file,
                                  line=int(line) + 1 if line and line.isdigit() else None)
            if tid in seen:  # a test that fails in teardown is reported twice: keep the worse
                prev = tests[seen[tid]]
                if prev.ok and not run.ok:
                    tests[seen[tid]] = run
                continue
            seen[tid] = len(tests)
            tests.append(run)
    return tests, (total_time if suites else None)


# --------------------------------------------------------------------------- selections

_K_TOKEN = re.compile(r"\s*(\(|\)|[\w:+\-.\[\]\\/]+)")


def keyword_matches(expression: str, names: list[str]) -> bool:
    """Whether pytest's `-k` expression selects a node with these names (case-insensitive substrings).

    The grammar is pytest's: `or`, `and`, `not`, parentheses and identifiers; a collection error has
    no test names, so its path components (directories, the module file) are what it is matched on.
    ValueError when the expression does not parse (pytest itself refuses it the same way)."""
    tokens = []
    pos = 0
    text = expression.strip()
    while pos < len(text):
        m = _K_TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"-k {expression!r}: unexpected character at column {pos + 1}")
        tokens.append(m.group(1))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    lowered = [n.lower() for n in names]
    at = 0

    def peek() -> str | None:
        return tokens[at] if at < len(tokens) else None

    def take() -> str:
        nonlocal at
        if at >= len(tokens):
            raise ValueError(f"-k {expression!r}: the expression ends too early")
        at += 1
        return tokens[at - 1]

    def expr() -> bool:
        value = and_expr()
        while peek() == "or":
            take()
            value = and_expr() or value
        return value

    def and_expr() -> bool:
        value = not_expr()
        while peek() == "and":
            take()
            value = not_expr() and value
        return value

    def not_expr() -> bool:
        tok = take()
        if tok == "not":
            return not not_expr()
        if tok == "(":
            value = expr()
            if take() != ")":
                raise ValueError(f"-k {expression!r}: a parenthesis is not closed")
            return value
        if tok in (")", "and", "or"):
            raise ValueError(f"-k {expression!r}: unexpected {tok!r}")
        return any(tok.lower() in n for n in lowered)

    if not tokens:
        return True
    value = expr()
    if at != len(tokens):
        raise ValueError(f"-k {expression!r}: unexpected {tokens[at]!r}")
    return value


def _path_of(selection: str) -> str:
    return selection.split("::", 1)[0].rstrip("/")


def in_selection(tid: str, tests: list[str], keyword: str | None) -> bool:
    """Whether a collection error (its id is a file or directory path) belongs to what the user selected:
    a selected test's file or directory, a directory holding a selected test, or a path `-k` matches."""
    path = tid.rstrip("/")
    if tests:
        for sel in tests:
            sp = _path_of(sel)
            if sp in ("", ".") or path == sp or path.startswith(sp + "/") or sp.startswith(path + "/"):
                break
        else:
            return False
    if keyword:
        try:
            return keyword_matches(keyword, [p for p in path.split("/") if p])
        except ValueError:
            return False
    return True


class PytestOptions(BaseModel):
    per_test_timeout: float = Field(10.0, gt=0, description="pytest-timeout per test, seconds")
    suite_timeout: float = Field(600.0, gt=0, description="wall limit on one pytest run, seconds")
    memory_mb: int = 1536
    keyword: str | None = None


def pytest_job(env: TestEnvironment, selection: list[str], files: dict[str, str],
               options: PytestOptions, keyword: str | None = None) -> Job:
    argv = [env.python, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir=.", "-o", "junit_family=xunit1",
            f"--junitxml={JUNIT}", "--tb=short", "-q", "--color=no", "--continue-on-collection-errors",
            "-o", "console_output_style=classic"]
    if env.has_timeout_plugin:
        argv += [f"--timeout={options.per_test_timeout:g}"]
    if keyword:
        argv += ["-k", keyword]
    argv += ["--", *selection] if selection else []
    wall = options.suite_timeout
    return Job(kind="command", copy_from=env.mount_at, files=dict(files), collect=[JUNIT], env=dict(env.env),
               tests=[TestCase(name="pytest", argv=argv)],
               limits=Limits(cpu_s=wall, wall_s=wall, memory_mb=options.memory_mb, output_bytes=32 << 20))


def read_report(report: ExecutionReport, selection: list[str]) -> SuiteRun:
    """A SuiteRun from the sandbox's report of a pytest job."""
    run = SuiteRun(selection=list(selection), wall_s=report.elapsed_ms / 1000)
    if report.sandbox_error or not report.results:
        run.error = f"the sandbox failed: {report.sandbox_error or 'no result'}"
        return run
    r = report.results[0]
    run.exit_code = r.exit_code
    run.output = (r.stdout[-6000:] if r.stdout else "") + (("\n" + r.stderr[-2000:]) if r.stderr.strip() else "")
    run.timed_out = r.verdict.value == "TLE"
    xml_text = r.files.get(JUNIT)
    if xml_text:
        try:
            run.tests, run.pytest_time_s = parse_junit(xml_text)
        except ValueError as exc:
            run.error = str(exc)
    if run.timed_out:
        run.error = (f"pytest did not finish within the run's limit ({r.detail}); tests it did not report "
                     "count as failed")
    elif not xml_text and run.error is None:
        tail = [ln for ln in run.output.strip().splitlines() if ln.strip()]
        run.error = f"pytest wrote no report (exit code {r.exit_code}): " + (tail[-1] if tail else r.detail)
    # every selected test that pytest did not report (a crash, a hang killed by the sandbox) failed
    reported = run.by_id()
    for sel in selection:
        if "::" in sel and sel not in reported and not any(t.startswith(sel + "[") or t.startswith(sel + "::")
                                                           for t in reported):
            run.tests.append(TestRun(id=sel, outcome="missing", message=run.error or "not reported by pytest"))
    return run
