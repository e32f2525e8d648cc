"""Verdicts: turns what the runner measured into AC/WA/TLE/MLE/RE/OLE per test.

The runner reports facts (exit status, signal, CPU time, peak RSS, output, the harness's outcome);
this module is the only place that decides what they mean.
"""

from __future__ import annotations

import signal
import statistics

from .api import JudgeSpec, Limits, TestCase, TestResult, Verdict
from .compare import CHECKER, compare_output

_EXCERPT = 400


def excerpt(text: str | None, limit: int = _EXCERPT) -> str:
    if not text:
        return ""
    return text if len(text) <= limit else text[: limit - 20] + f" ...[{len(text) - limit + 20} more chars]"


def excerpt_lines(text: str, max_lines: int, width: int) -> str:
    """The first lines of a text, each cut to `width`, with a count of what was left out."""
    lines = text.rstrip("\n").split("\n")
    shown = [ln if len(ln) <= width else ln[: width - 3] + "..." for ln in lines[:max_lines]]
    if len(lines) > max_lines:
        shown.append(f"... ({len(lines) - max_lines} more lines)")
    return "\n".join(shown)


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


def _stderr_exception(stderr: str) -> tuple[str | None, str | None]:
    """The exception type and message from a Python traceback's last line, if there is one."""
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    if not lines or not any(ln.startswith("Traceback") for ln in lines):
        return None, None
    last = lines[-1]
    head, _, message = last.partition(":")
    if head and all(part.isidentifier() for part in head.split(".")):
        return head.split(".")[-1], message.strip()
    return None, None


# --------------------------------------------------------------------------- verdicts

def _limit_verdict(run: dict, limits: Limits) -> tuple[Verdict, str] | None:
    """TLE / OLE / killed-by-signal facts that decide a verdict whatever the program printed."""
    sig = run.get("signal")
    cpu = run.get("cpu_s") or 0.0
    if run.get("timed_out"):
        return Verdict.TLE, f"wall time limit {limits.wall:g}s exceeded"
    if sig == signal.SIGXCPU or cpu > limits.cpu_s:
        return Verdict.TLE, f"CPU time limit {limits.cpu_s:g}s exceeded ({cpu:.2f}s)"
    if sig == signal.SIGXFSZ or (run.get("stdout_bytes") or 0) >= limits.output_bytes \
            or (run.get("stderr_bytes") or 0) >= limits.output_bytes:
        return Verdict.OLE, f"output limit of {limits.output_bytes} bytes exceeded"
    if sig == signal.SIGKILL:
        # not our timer and not the CPU limit: the kernel's OOM killer is what is left
        return Verdict.MLE, f"killed by SIGKILL (out of memory, limit {limits.memory_mb} MiB)"
    if (run.get("max_rss_kb") or 0) > limits.memory_mb * 1024 + 65536:
        return Verdict.MLE, f"peak memory {run['max_rss_kb'] // 1024} MiB over the {limits.memory_mb} MiB limit"
    if sig is not None:
        name = _signal_name(sig)
        hint = " (stack overflow from deep recursion?)" if sig == signal.SIGSEGV else ""
        return Verdict.RE, f"killed by {name}{hint}"
    return None


def classify(kind: str, raw: dict, test: TestCase, limits: Limits, spec: JudgeSpec,
             checker_result: tuple[bool, str] | None = None) -> TestResult:
    """Build the TestResult for one test from the runner's message for it."""
    runs = raw.get("runs") or []
    result = TestResult(index=raw["index"], name=test.name, verdict=Verdict.RE)
    if raw.get("test_error"):
        result.detail = raw["test_error"]
        return result
    if not runs:
        result.detail = "the test did not run"
        return result
    run = runs[0]
    result.wall_ms = run["wall_s"] * 1000
    cpu_runs = [r["cpu_s"] * 1000 for r in runs]
    result.cpu_ms_runs = cpu_runs
    result.cpu_ms = statistics.median(cpu_runs)
    result.peak_rss_kb = run.get("max_rss_kb")
    instr = [r["instructions"] for r in runs if r.get("instructions") is not None]
    result.instructions = int(statistics.median(instr)) if instr else None
    result.exit_code = run.get("exit_code")
    result.signal = run.get("signal")
    result.stdout = run.get("stdout") or ""
    result.stderr = run.get("stderr") or ""
    result.leftover_processes = run.get("leftover_processes", 0)

    limit = _limit_verdict(run, limits)
    if limit is not None:
        result.verdict, result.detail = limit
        return result

    if kind == "function":
        _classify_function(run, result)
    elif kind == "command":
        result.files = run.get("collected") or {}
        code = run.get("exit_code")
        result.verdict = Verdict.AC if code == 0 else Verdict.WA
        result.detail = "" if code == 0 else f"exit code {code}"
    else:
        _classify_stdio(run, test, spec, result, checker_result)
    return result


def _classify_function(run: dict, result: TestResult) -> None:
    if run.get("tampered"):
        result.verdict = Verdict.RE
        result.detail = "the result channel was tampered with (forged or extra result data)"
        return
    if not run.get("finished"):
        code = run.get("exit_code")
        result.verdict = Verdict.RE
        result.detail = ("the program ended the process before the test finished"
                         + (f" (exit code {code})" if code is not None else ""))
        return
    outcome = run.get("outcome")
    if outcome is None:
        result.verdict = Verdict.AC
        return
    result.error_type = outcome.get("type")
    result.message = outcome.get("message")
    result.traceback = outcome.get("traceback")
    if result.error_type == "AssertionError":
        result.verdict = Verdict.WA
        if "actual" in outcome:
            result.actual = outcome["actual"]
            result.expected = outcome["expected"]
            op = outcome.get("op", "==")
            wanted = f"expected {result.expected}" if op == "==" else \
                f"expected {outcome.get('actual_source')} {op} {outcome.get('expected_source')}"
            result.detail = f"{wanted}, got {result.actual}"
        else:
            result.detail = f"assertion failed: {excerpt(result.message, 200) or '(no message)'}"
    elif result.error_type == "MemoryError":
        result.verdict = Verdict.MLE
        result.detail = "MemoryError: the memory limit was reached"
    else:
        result.verdict = Verdict.RE
        result.detail = f"{result.error_type}: {excerpt(result.message, 200)}"


def _classify_stdio(run: dict, test: TestCase, spec: JudgeSpec, result: TestResult,
                    checker_result: tuple[bool, str] | None) -> None:
    code = run.get("exit_code")
    result.expected = excerpt(test.output, 2000) if test.output is not None else None
    if code:
        etype, message = _stderr_exception(result.stderr)
        result.error_type, result.message = etype, message
        result.traceback = result.stderr[-3000:] if etype else None
        if etype == "MemoryError":
            result.verdict = Verdict.MLE
            result.detail = "MemoryError: the memory limit was reached"
        else:
            result.verdict = Verdict.RE
            result.detail = f"{etype}: {excerpt(message, 200)}" if etype else f"exit code {code}"
        return
    result.actual = excerpt(result.stdout, 2000)
    if checker_result is not None:
        ok, reason = checker_result
        result.rule = CHECKER
    elif test.output is None:
        result.verdict = Verdict.AC
        result.detail = "no expected output: ran without error (unverified)"
        return
    else:
        comparison = compare_output(result.stdout, test.output, spec)
        ok, reason, result.rule, result.mismatch = (comparison.ok, comparison.reason, comparison.rule,
                                                    comparison.mismatch)
    result.verdict = Verdict.AC if ok else Verdict.WA
    result.detail = "" if ok else reason


def compile_error_results(tests: list[TestCase], message: str) -> list[TestResult]:
    return [TestResult(index=i, name=t.name, verdict=Verdict.CE, detail=message) for i, t in enumerate(tests)]
