"""Generated assert tests run in batches: one candidate process answers many asserts.

The sandbox starts a fresh candidate process (and an evaluator) for every test, which is what a
visible or hidden test deserves: nothing a test does can leak into the next. Generated tests are
many (tens per candidate) and only evidence for the ranking, so here they run `BATCH` at a time
inside one sandbox test: the evaluator calls every assert in turn, each in its own function
scope, records which ones fail, and reports them in one message it builds itself (the candidate
never writes it). The candidate process lives through the batch, so its module state persists
from one assert to the next (a global cache, a mutated default argument); this is the price of
running a hundred asserts in the time of a few.

Asserts run shortest first (small inputs before the big ones a slow program stops on). When the
candidate's process ends during assert k (a time or memory limit, an exit), asserts before k
keep their outcome and the rest run again in a new batch starting at k; an assert that
ends the process as the first of its batch gets that verdict (TLE, MLE, RE). A batch whose report
cannot be read runs again one assert per test, the sandbox's own way. After `MAX_LIMIT_HITS`
limit verdict(s) a candidate's remaining generated tests, the longer ones, are not run (verdict
TLE, detail says so): a program that loops on every input, or an exponential one on growing
inputs, would otherwise cost the time limit once per assert.
"""

from __future__ import annotations

import json
import math
import textwrap

from sandbox.api import ExecutionReport, TestCase, TestResult, Verdict

from ..problems.model import Problem
from .context import EngineContext

BATCH = 100
MAX_LIMIT_HITS = 1
MARKER = "orps-batch:"
_DETAILS = 3  # failures described (expected/actual) per batch: the critic shows a few
_LIMITS = (Verdict.TLE, Verdict.MLE, Verdict.OLE)


def batchable(problem: Problem, tests: list[TestCase]) -> bool:
    """Assert tests of a function problem, all under the problem's own limits."""
    return problem.kind == "function" and bool(tests) and all(
        t.code is not None and t.input is None and t.limits is None and t.judge is None for t in tests)


def _wrap(snippets: list[str]) -> str | None:
    """One test that runs every snippet in its own function and reports the failing ones."""
    parts = []
    for i, s in enumerate(snippets):
        parts.append(f"def _orps_batch_{i}():\n{textwrap.indent(s.rstrip(), '    ') or '    pass'}\n")
    names = ", ".join(f"_orps_batch_{i}" for i in range(len(snippets)))
    parts.append(textwrap.dedent(f"""\
        import time as _orps_batch_time
        _orps_batch_failed, _orps_batch_about, _orps_batch_gone = [], [], None
        _orps_batch_t0 = _orps_batch_time.perf_counter()
        _orps_batch_before = 0.0
        for _orps_batch_i, _orps_batch_t in enumerate(({names},)):
            _orps_batch_before = _orps_batch_time.perf_counter() - _orps_batch_t0
            try:
                _orps_batch_t()
            except Exception as _orps_batch_e:
                _orps_batch_failed.append(_orps_batch_i)
                if len(_orps_batch_about) < {_DETAILS}:
                    try:
                        _orps_batch_m = str(_orps_batch_e)
                    except BaseException:
                        _orps_batch_m = ""
                    _orps_batch_about.append(type(_orps_batch_e).__name__ + ": " + _orps_batch_m[:80])
            except BaseException as _orps_batch_e:
                if type(_orps_batch_e).__name__ == "ProgramGone":
                    _orps_batch_gone = _orps_batch_i
                    break
                _orps_batch_failed.append(_orps_batch_i)
        if _orps_batch_failed or _orps_batch_gone is not None:
            import json as _orps_batch_json
            _orps_batch_bits = "".join("1" if _orps_batch_j in _orps_batch_failed else "0"
                                       for _orps_batch_j in range({len(snippets)}))
            _orps_batch_doc = {{"failed": _orps_batch_bits, "gone": _orps_batch_gone, "about": _orps_batch_about,
                               "before_s": round(_orps_batch_before, 4)}}
            while len(_orps_batch_json.dumps(_orps_batch_doc)) > 900 and _orps_batch_doc["about"]:
                _orps_batch_doc["about"].pop()  # the report must fit the test's message whole
            raise AssertionError({MARKER!r} + _orps_batch_json.dumps(_orps_batch_doc))
        """))
    code = "\n".join(parts)
    try:
        compile(code, "<generated tests>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):  # e.g. `from m import *` is not allowed inside a function
        return None
    return code


def _report(result: TestResult) -> dict | None:
    if result.verdict is Verdict.AC:
        return {"failed": "", "gone": None, "about": []}
    text = result.message or ""
    if not text.startswith(MARKER):
        return None
    try:
        data = json.loads(text[len(MARKER):])
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("failed"), str):
        return None
    return data


def _one(test: TestCase, verdict: Verdict, detail: str = "", cpu_ms: float | None = None,
         peak: int | None = None) -> TestResult:
    return TestResult(index=0, name=test.name, verdict=verdict, detail=detail, cpu_ms=cpu_ms,
                      cpu_ms_runs=[cpu_ms] if cpu_ms is not None else [], peak_rss_kb=peak)


async def run_batched(ctx: EngineContext, problem: Problem, code: str, tests: list[TestCase],
                      repeat: int = 1, leading: list[TestCase] | None = None) -> ExecutionReport:
    """The report of `leading` tests (run as the sandbox runs any test) followed by one result per
    generated test, in order and by name, from as few jobs as the outcomes allow: the first job
    holds the leading tests and every batch."""
    leading = list(leading or [])
    first: ExecutionReport | None = None
    done: dict[int, TestResult] = {}
    # shortest first: small inputs run before the big ones a slow program would stop on
    pending = sorted(range(len(tests)), key=lambda i: (len(tests[i].code or ""), i))
    limit_hits = 0
    wrappable = {i for i, t in enumerate(tests) if _wrap([t.code or ""]) is not None}
    while pending:
        if limit_hits >= MAX_LIMIT_HITS:
            for i in pending:
                done[i] = _one(tests[i], Verdict.TLE, f"not run: the program hit a limit on {limit_hits} "
                                                      "generated tests already")
            break
        chunks, cases = [], []
        alone = [i for i in pending if i not in wrappable]
        together = [i for i in pending if i in wrappable]
        for i in alone:  # e.g. `from m import *`, not allowed inside a function: run as itself
            chunks.append([i])
            cases.append(tests[i])
        for k in range(0, len(together), BATCH):
            chunk = together[k:k + BATCH]
            chunks.append(chunk)
            cases.append(TestCase(name=f"batch-{chunk[0]}", code=_wrap([tests[i].code or "" for i in chunk])))
        head = leading if first is None else []
        report = await ctx.execute(problem.job(code, tests=head + cases, repeat=repeat))
        if first is None:
            first = report.model_copy(update={"results": report.results[:len(head)]})
        if report.compile_error is not None or report.sandbox_error is not None:
            return report.model_copy(update={"results": []})
        report = report.model_copy(update={"results": report.results[len(head):]})
        if not report.results:
            for i in pending:
                done[i] = _one(tests[i], Verdict.RE, "the program did not run")
            break
        pending = []
        single = []
        for chunk, case, result in zip(chunks, cases, report.results):
            if case is tests[chunk[0]] and len(chunk) == 1:  # ran as itself
                done[chunk[0]] = result.model_copy(update={"name": tests[chunk[0]].name})
                limit_hits += result.verdict in _LIMITS
                continue
            data = _report(result)
            if data is None:
                single.extend(chunk)
                continue
            gone = data.get("gone")
            failed = {j for j, bit in enumerate(data["failed"]) if bit == "1"}
            about = [str(a) for a in data.get("about") or []]
            ran = len(chunk) if gone is None else int(gone)
            # CPU time is the batch's: shared out when every assert ran, unknown when one ended it
            share = result.cpu_ms / ran if result.cpu_ms is not None and gone is None and ran else None
            n_failed = 0
            for j, i in enumerate(chunk[:ran]):
                if j in failed:
                    detail = about[n_failed] if n_failed < len(about) else "failed (batched run)"
                    n_failed += 1
                    done[i] = _one(tests[i], Verdict.WA, detail, cpu_ms=share)
                else:
                    done[i] = _one(tests[i], Verdict.AC, cpu_ms=share, peak=result.peak_rss_kb)
            if gone is None:
                continue
            # assert k ended the process: its own verdict when it came first or (a limit) when the
            # asserts before it took a small share of the limit; else it runs again at the head of a batch
            before = data.get("before_s") if isinstance(data.get("before_s"), (int, float)) else math.inf
            own = gone == 0 or (result.verdict in _LIMITS and before < 0.1 * problem.limits().cpu_s)
            if own:
                k = chunk[gone]
                if result.verdict is Verdict.WA:  # the report itself: the program's process ended
                    done[k] = _one(tests[k], Verdict.RE, "the program's process ended during the test")
                else:
                    done[k] = _one(tests[k], result.verdict, result.detail)
                limit_hits += result.verdict in _LIMITS
                pending.extend(chunk[gone + 1:])
            else:
                pending.extend(chunk[gone:])
        if single:
            rep = await ctx.execute(problem.job(code, tests=[tests[i] for i in single], repeat=repeat))
            for i, r in zip(single, rep.results):
                done[i] = r.model_copy(update={"name": tests[i].name})
                limit_hits += r.verdict in _LIMITS
            for i in single[len(rep.results):]:
                done[i] = _one(tests[i], Verdict.RE, rep.compile_error or rep.sandbox_error or "not run")
        pending.sort(key=lambda i: (len(tests[i].code or ""), i))
    if first is None:
        first = ExecutionReport(kind=problem.kind)
    n = len(first.results)
    return first.model_copy(update={"results": first.results + [
        done[i].model_copy(update={"index": n + i}) for i in range(len(tests))]})


__all__ = ["BATCH", "MAX_LIMIT_HITS", "batchable", "run_batched"]
