"""Verdicts: turns what the runner measured into AC/WA/TLE/MLE/RE/OLE per test.

The runner reports facts (exit status, signal, CPU time, peak RSS, output, the harness's outcome);
this module is the only place that decides what they mean.
"""

from __future__ import annotations

import re
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

def passed_run(mode: str, res: dict) -> bool:
    """Whether one run of a test passed as far as the runner can tell (repeat the rest)."""
    if res.get("lost") or res.get("timed_out") or res.get("signal") or res.get("exit_code") \
            or res.get("mem_killed") or res.get("cpu_killed"):
        return False
    if mode == "function":
        return bool(res.get("finished")) and res.get("outcome") is None
    return True


def _peak_kb(run: dict) -> int:
    return max(run.get("max_rss_kb") or 0, run.get("peak_total_kb") or 0)


def _limit_verdict(run: dict, limits: Limits) -> tuple[Verdict, str] | None:
    """TLE / MLE / OLE / killed-by-signal facts that decide a verdict whatever the program printed."""
    sig = run.get("signal")
    cpu = run.get("cpu_s") or 0.0
    if run.get("lost"):
        return Verdict.RE, run["lost"]
    if run.get("timed_out"):
        return Verdict.TLE, f"wall time limit {limits.wall:g}s exceeded"
    if run.get("cpu_killed") or sig == signal.SIGXCPU or cpu > limits.cpu_s:
        return Verdict.TLE, f"CPU time limit {limits.cpu_s:g}s exceeded ({cpu:.2f}s)"
    if sig == signal.SIGXFSZ or (run.get("stdout_bytes") or 0) >= limits.output_bytes \
            or (run.get("stderr_bytes") or 0) >= limits.output_bytes:
        return Verdict.OLE, f"output limit of {limits.output_bytes} bytes exceeded"
    peak = _peak_kb(run)
    temp = run.get("temp_peak_kb") or 0
    with_files = f" (including {temp // 1024} MiB of files it wrote)" if temp >= 1024 else ""
    if run.get("mem_killed"):
        return Verdict.MLE, f"memory over the {limits.memory_mb} MiB limit{with_files}: stopped"
    if sig == signal.SIGKILL:
        # not our timer, not the CPU or memory watch: the kernel's OOM killer is what is left
        return Verdict.MLE, f"killed by SIGKILL (out of memory, limit {limits.memory_mb} MiB)"
    if peak > limits.memory_mb * 1024:
        return Verdict.MLE, f"peak memory {peak // 1024} MiB over the {limits.memory_mb} MiB limit{with_files}"
    if sig == signal.SIGSYS:
        return Verdict.RE, ("killed by SIGSYS: the program tried to start a process, which the sandbox "
                            "does not allow (threads are allowed)")
    if sig is not None:
        meaning = _SIGNAL_MEANINGS.get(sig)
        return Verdict.RE, f"killed by {_signal_name(sig)}" + (f": {meaning}" if meaning else "")
    return None


_SIGNAL_MEANINGS = {
    signal.SIGSEGV: "segmentation fault (an invalid memory access, or a stack overflow from deep recursion)",
    signal.SIGABRT: "aborted (a failed assertion, std::abort, or an uncaught C++ exception)",
    signal.SIGFPE: "floating-point exception (an integer division by zero?)",
    signal.SIGBUS: "bus error (a misaligned or unmapped memory access)",
    signal.SIGILL: "illegal instruction",
}
SANITIZER_EXIT = 86  # the exit code the sandbox gives sanitizer reports


def clean_text(text: str | None) -> str | None:
    """Text from the sandbox with lone surrogates made visible (they cannot be encoded)."""
    if text is None:
        return None
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


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
    peaks = [_peak_kb(r) for r in runs]
    result.peak_rss_kb = max(peaks) if peaks else None
    result.temp_kb = max((r.get("temp_peak_kb") or 0) for r in runs)
    instr = [r["instructions"] for r in runs if r.get("instructions") is not None]
    result.instructions = int(statistics.median(instr)) if instr else None
    result.exit_code = run.get("exit_code")
    result.signal = run.get("signal")
    result.stdout = clean_text(run.get("stdout")) or ""
    result.stderr = clean_text(run.get("stderr")) or ""
    result.leftover_processes = run.get("leftover_processes", 0)
    if kind == "function":
        result.harness = {k: v for k, v in (run.get("stats") or {}).items() if isinstance(v, int)}

    if kind == "function" and isinstance(run.get("outcome"), dict):
        # what the test itself last said stays readable under a limit verdict too
        result.message = clean_text(run["outcome"].get("message"))
    for r in runs:  # a later run that failed (a repeat) fails the test
        limit = _limit_verdict(r, limits)
        if limit is not None:
            result.verdict, result.detail = limit
            return result

    result.files = run.get("collected") or {}
    if kind == "function":
        _classify_function(run, result, limits)
    elif kind == "command":
        code = run.get("exit_code")
        result.verdict = Verdict.AC if code == 0 else Verdict.WA
        result.detail = "" if code == 0 else f"exit code {code}"
    else:
        _classify_stdio(run, test, spec, result, checker_result, limits)
    if result.verdict is Verdict.AC and len(runs) > 1:
        shas = {r.get("stdout_sha") for r in runs}
        outcomes = {json_key(r.get("outcome")) for r in runs} if kind == "function" else {None}
        if len(shas) > 1 or len(outcomes) > 1:
            result.verdict = Verdict.WA
            result.detail = "repeated runs of this test did not give the same output"
    return result


def json_key(value) -> str:
    import json
    return json.dumps(value, sort_keys=True, default=str)


def _memory_error(result: TestResult, limits: Limits) -> None:
    peak = (result.peak_rss_kb or 0) // 1024
    result.verdict = Verdict.RE
    result.detail = f"MemoryError (peak {peak} MiB, under the {limits.memory_mb} MiB limit)"


def _classify_function(run: dict, result: TestResult, limits: Limits) -> None:
    if not run.get("finished"):
        result.verdict = Verdict.RE
        result.detail = f"the test harness failed: {excerpt(run.get('harness_error') or 'no result', 300)}"
        return
    outcome = run.get("outcome")
    if outcome is None:
        result.verdict = Verdict.AC
        return
    result.error_type = outcome.get("type")
    result.message = clean_text(outcome.get("message"))
    result.traceback = clean_text(outcome.get("traceback"))
    if outcome.get("gone"):
        code, sig = run.get("exit_code"), run.get("signal")
        how = f" (exit code {code})" if code else (f" ({_signal_name(sig)})" if sig else "")
        result.verdict = Verdict.RE
        result.error_type = None
        result.detail = f"{result.message or 'the program ended its process during the test'}{how}"
        return
    if result.error_type == "AssertionError":
        result.verdict = Verdict.WA
        if "actual" in outcome:
            result.actual = clean_text(outcome["actual"])
            result.expected = clean_text(outcome["expected"])
            op = outcome.get("op", "==")
            wanted = f"expected {result.expected}" if op == "==" else \
                f"expected {outcome.get('actual_source')} {op} {outcome.get('expected_source')}"
            result.detail = f"{wanted}, got {result.actual}"
        else:
            result.detail = f"assertion failed: {excerpt(result.message, 200) or '(no message)'}"
    elif result.error_type == "MemoryError":
        _memory_error(result, limits)
    else:
        result.verdict = Verdict.RE
        result.detail = f"{result.error_type}: {excerpt(result.message, 200)}"


def _classify_stdio(run: dict, test: TestCase, spec: JudgeSpec, result: TestResult,
                    checker_result: tuple[bool, str] | None, limits: Limits) -> None:
    code = run.get("exit_code")
    result.expected = excerpt(test.output, 2000) if test.output is not None else None
    if code:
        etype, message = _stderr_exception(result.stderr)
        result.error_type, result.message = etype, message
        result.traceback = result.stderr[-3000:] if etype else None
        if etype == "MemoryError":
            _memory_error(result, limits)
        elif code == SANITIZER_EXIT and ("Sanitizer" in result.stderr or "runtime error:" in result.stderr):
            result.verdict = Verdict.RE
            report = _sanitizer_summary(result.stderr)
            result.error_type, result.message = "SanitizerError", report
            result.traceback = _BOX_PATH.sub("", result.stderr)[-3000:]
            result.detail = f"sanitizer: {report}"
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


_BOX_PATH = re.compile(r"/\S*?/box-[0-9a-f]+/")


def _sanitizer_summary(stderr: str) -> str:
    """The first line of an AddressSanitizer / UBSan report, with the program's frame if shown."""
    lines = _BOX_PATH.sub("", stderr).splitlines()
    for i, line in enumerate(lines):
        if "runtime error:" in line or "ERROR: AddressSanitizer" in line or "SUMMARY:" in line:
            head = line.split("ERROR: ")[-1].strip()
            frame = next((ln.strip() for ln in lines[i + 1:i + 12] if "solution." in ln), "")
            return excerpt(head + (f" at {frame}" if frame else ""), 300)
    return excerpt(stderr.strip().splitlines()[0] if stderr.strip() else "report", 300)


def compile_error_results(tests: list[TestCase], message: str) -> list[TestResult]:
    return [TestResult(index=i, name=t.name, verdict=Verdict.CE, detail=message) for i, t in enumerate(tests)]
