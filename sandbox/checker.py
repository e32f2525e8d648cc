"""Checker programs: judge a program's output with the problem's own checker, in the sandbox.

Two calling conventions, the ones problem packages use:

  testlib  `checker input output answer` (also online-judge-tools' `--judge-command`): exit 0
           accepted, 1 wrong answer, 2 presentation error, 4 extra data, 7/16+ partial
           score (not accepted), 8 unexpected end of file; 3 means the checker itself failed.
           Its message is on stderr (or stdout).
  kattis   `validator input judge_answer feedback_dir [flags] < output` (Kattis / ICPC output
           validators): exit 42 accepted, 43 wrong answer, anything else a judge error. Its
           message is in feedback_dir/judgemessage.txt (and teammessage.txt).

A Python checker checks every test whose program exited cleanly in one sandbox job: each
checker run is a test of that job, whose stdin carries the files it needs; a small wrapper writes
them, calls the checker the way its convention says and reports the checker's exit status and
messages as one JSON line on a stdout the checker cannot write to.

A checker in another language of the table (C++, C) is built once in the sandbox, like a
solution (a compile error is the checker's, named as such), and runs as the language runs a
program, once per checked test, with the files in its work dir and the convention's arguments.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from .api import ExecutionReport, Job, JudgeSpec, Limits, SandboxError, TestCase

CHECKER_LIMITS = Limits(cpu_s=10, wall_s=30, memory_mb=1024)
_MESSAGE_CHARS = 400

_WRAPPER = r'''
import io, json, os, runpy, sys, traceback

_job = json.loads(sys.stdin.read())
for _name in ("input.txt", "output.txt", "answer.txt"):
    with open(_name, "w", encoding="utf-8") as _fh:
        _fh.write(_job[_name])
sys.stdout.flush()
_report = os.dup(1)
_log = os.open("checker.out", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.dup2(_log, 1)
os.close(_log)
if _job["style"] == "kattis":
    os.makedirs("feedback", exist_ok=True)
    _out = os.open("output.txt", os.O_RDONLY)
    os.dup2(_out, 0)
    os.close(_out)
    sys.stdin = sys.__stdin__ = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8",
                                                 errors="replace")
    sys.argv = ["checker.py", "input.txt", "answer.txt", "feedback/", *_job["flags"]]
else:
    sys.argv = ["checker.py", "input.txt", "output.txt", "answer.txt"]
_status, _crash = 0, None
try:
    runpy.run_path("checker.py", run_name="__main__")
except SystemExit as _exc:
    _status = _exc.code if _exc.code is None or isinstance(_exc.code, int) else str(_exc.code)
except BaseException:
    _crash = traceback.format_exc()[-2000:]
try:
    sys.stdout.flush()
    sys.stderr.flush()
except BaseException:
    pass


def _read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(4000)
    except OSError:
        return ""


os.write(_report, json.dumps({"status": _status, "crash": _crash, "stdout": _read("checker.out"),
                              "judgemessage": _read("feedback/judgemessage.txt"),
                              "teammessage": _read("feedback/teammessage.txt")}).encode() + b"\n")
os._exit(0)
'''

# testlib exit codes that mean "not accepted" (the contestant's fault), with what they mean
_TESTLIB_REJECT = {1: "wrong answer", 2: "presentation error", 4: "extra data in the output",
                   7: "partial score", 8: "unexpected end of the output"}
TESTLIB_FAIL = 3
KATTIS_ACCEPT, KATTIS_WRONG = 42, 43


def _clip(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _MESSAGE_CHARS else text[: _MESSAGE_CHARS - 3] + "..."


def interpret(style: str, status: int, stdout: str = "", stderr: str = "", judgemessage: str = "",
              teammessage: str = "") -> tuple[bool, str] | str:
    """(accepted, message) from a checker's exit status and messages, or a string saying why the
    checker itself failed (a judge error, not a verdict)."""
    if style == "kattis":
        message = _clip(judgemessage or teammessage or stderr or stdout)
        if status == KATTIS_ACCEPT:
            return True, message
        if status == KATTIS_WRONG:
            return False, message or "wrong answer (the output validator gave no message)"
        return (f"exit code {status} (a Kattis output validator exits {KATTIS_ACCEPT} to accept, "
                f"{KATTIS_WRONG} to reject)") + (f": {message}" if message else "")
    message = _clip(stderr or stdout)
    if status == 0:
        return True, message
    if status in _TESTLIB_REJECT or status >= 16:
        what = _TESTLIB_REJECT.get(status, "partial score")
        return False, message if message else what
    if status == TESTLIB_FAIL:
        return "the checker reported its own failure (exit code 3)" + (f": {message}" if message else "")
    return f"exit code {status} (a testlib checker exits 0 to accept, 1 to reject)" + (
        f": {message}" if message else "")


def _needs_check(msg: dict) -> bool:
    runs = msg.get("runs") or []
    return bool(runs) and not runs[0].get("exit_code") and not runs[0].get("signal") \
        and not runs[0].get("timed_out")


def run_checker(run: Callable[[Job], ExecutionReport], job: Job,
                tests_by_index: dict[int, dict]) -> dict[int, tuple[bool, str]]:
    """Check (with `run`, the sandbox's) every test of `job` whose program exited cleanly with its judge's checker; a checker
    that fails (crashes, times out, exits with a code its convention does not know) is a
    SandboxError naming the checker and the test."""
    groups: dict[tuple[str, str, str, str], list[tuple[int, JudgeSpec]]] = {}
    for i, msg in sorted(tests_by_index.items()):
        spec = job.tests[i].judge or job.judge
        if spec.checker and _needs_check(msg):
            groups.setdefault((spec.checker, spec.checker_style, spec.checker_name, spec.checker_language), []).append((i, spec))
    verdicts: dict[int, tuple[bool, str]] = {}
    for (source, style, name, language), members in groups.items():
        if language not in ("python", "pypy"):
            verdicts.update(_run_compiled(run, job, tests_by_index, members, source, style, name, language))
            continue
        tests = []
        for i, spec in members:
            test = job.tests[i]
            payload = {"style": style, "flags": list(spec.checker_flags), "input.txt": test.input or "",
                       "output.txt": tests_by_index[i]["runs"][0].get("stdout") or "",
                       "answer.txt": test.output or ""}
            tests.append(TestCase(name=test.name, input=json.dumps(payload)))
        check = Job(kind="stdio", source=_WRAPPER, tests=tests, files={"checker.py": source},
                    limits=CHECKER_LIMITS)
        report = run(check)
        who = f"the checker{f' ({name})' if name else ''}"
        if report.compile_error:
            raise SandboxError(f"{who} wrapper does not compile: {report.compile_error}")
        for (i, _spec), r in zip(members, report.results):
            where = f"{who} failed on test {job.tests[i].name or i + 1}"
            info = None
            if r.exit_code == 0 and r.verdict.value == "AC":
                try:
                    info = json.loads(r.stdout.strip().splitlines()[-1]) if r.stdout.strip() else None
                except (json.JSONDecodeError, IndexError):
                    info = None
            if info is None:
                tail = _clip(r.stderr[-300:])
                raise SandboxError(f"{where}: {r.detail or 'it ended without a result'}"
                                   + (f"; stderr: {tail}" if tail else ""))
            if info.get("crash"):
                raise SandboxError(f"{where}: it raised {_clip(info['crash'].strip().splitlines()[-1])}")
            status, stderr = info.get("status"), r.stderr
            if isinstance(status, str):  # sys.exit("message"): exit status 1, the message on stderr
                status, stderr = 1, f"{stderr}\n{status}"
            outcome = interpret(style, (status or 0) & 0xFF, info.get("stdout", ""), stderr,
                                info.get("judgemessage", ""), info.get("teammessage", ""))
            if isinstance(outcome, str):
                raise SandboxError(f"{where}: {outcome}")
            verdicts[i] = outcome
        if len(report.results) < len(members):
            raise SandboxError(f"{who} did not run on every test: {report.sandbox_error or 'the sandbox lost it'}")
    return verdicts


def _run_compiled(run: Callable[[Job], ExecutionReport], job: Job, tests_by_index: dict[int, dict],
                  members: list[tuple[int, JudgeSpec]], source: str, style: str, name: str,
                  language: str) -> dict[int, tuple[bool, str]]:
    """A compiled checker: one run per test (its files differ), the build cached across them."""
    who = f"the checker{f' ({name})' if name else ''}"
    verdicts: dict[int, tuple[bool, str]] = {}
    for i, spec in members:
        test = job.tests[i]
        output = tests_by_index[i]["runs"][0].get("stdout") or ""
        files = {"input.txt": test.input or "", "answer.txt": test.output or ""}
        if style == "kattis":  # output on stdin; messages in the feedback directory
            files["feedback/judgemessage.txt"] = ""
            files["feedback/teammessage.txt"] = ""
            case = TestCase(name=test.name, input=output,
                            argv=["input.txt", "answer.txt", "feedback/", *spec.checker_flags])
        else:
            files["output.txt"] = output
            case = TestCase(name=test.name, input="", argv=["input.txt", "output.txt", "answer.txt"])
        check = Job(kind="stdio", language=language, source=source, tests=[case], files=files,
                    limits=CHECKER_LIMITS, collect=["feedback/judgemessage.txt", "feedback/teammessage.txt"])
        report = run(check)
        if report.compile_error:
            from .languages import language as lookup
            first = report.compile_error.splitlines()[0].replace(lookup(language).source, name or "checker")
            raise SandboxError(f"{who} does not compile: {first}")
        where = f"{who} failed on test {test.name or i + 1}"
        if not report.results:
            raise SandboxError(f"{where}: {report.sandbox_error or 'the sandbox lost it'}")
        r = report.results[0]
        if r.signal or r.verdict.value in ("TLE", "MLE", "OLE"):
            raise SandboxError(f"{where}: {r.detail or r.verdict.value}")
        outcome = interpret(style, (r.exit_code or 0) & 0xFF, r.stdout, r.stderr,
                            r.files.get("feedback/judgemessage.txt", ""), r.files.get("feedback/teammessage.txt", ""))
        if isinstance(outcome, str):
            raise SandboxError(f"{where}: {outcome}")
        verdicts[i] = outcome
    return verdicts


__all__ = ["CHECKER_LIMITS", "interpret", "run_checker"]
