"""Verdicts, limits and measurements on both backends (Docker skipped when unavailable)."""

from __future__ import annotations

import pytest

from sandbox import Job, JudgeSpec, Limits, TestCase, Verdict

FAST = Limits(cpu_s=1.0, wall_s=2.0, memory_mb=128, output_bytes=1 << 16)


def fn_job(source, *tests, setup=None, module_name=None, **kw):
    return Job(kind="function", source=source, tests=[TestCase(code=t) for t in tests], setup=setup,
               module_name=module_name, limits=kw.pop("limits", FAST), **kw)


def io_job(source, *pairs, judge=None, **kw):
    return Job(kind="stdio", source=source, tests=[TestCase(input=i, output=o) for i, o in pairs],
               judge=judge or JudgeSpec(), limits=kw.pop("limits", FAST), **kw)


def verdicts(report):
    return [r.verdict for r in report.results]


def test_function_verdicts_and_expected_vs_actual(sandbox):
    rep = sandbox.run(fn_job("def add(a, b):\n    return a + b if a < 10 else a - b\n",
                             "assert add(1, 2) == 3",
                             "assert add(10, 2) == 12",
                             "assert 12 == add(10, 2)",
                             "assert add('a', 1)",
                             "assert add(1, 2) in (4, 5), 'custom message'"))
    assert verdicts(rep) == [Verdict.AC, Verdict.WA, Verdict.WA, Verdict.RE, Verdict.WA]
    wa = rep.results[1]
    assert (wa.expected, wa.actual) == ("12", "8")
    assert "expected 12, got 8" in wa.detail
    swapped = rep.results[2]  # the side with the call is what the code produced, wherever it stands
    assert (swapped.expected, swapped.actual) == ("12", "8")
    re_ = rep.results[3]
    assert re_.error_type == "TypeError"
    assert "add('a', 1)" in re_.traceback and "orps" not in re_.traceback.lower()
    assert "return a + b" in re_.traceback  # the candidate's own line, from the solution file
    assert rep.results[4].message == "custom message"
    assert rep.passed == 1 and not rep.all_passed


def test_compile_error_is_ce_for_every_test(sandbox):
    rep = sandbox.run(fn_job("def f(:\n    pass\n", "assert f() == 1", "assert f() == 2"))
    assert verdicts(rep) == [Verdict.CE, Verdict.CE]
    assert "SyntaxError at line 1" in rep.compile_error


def test_setup_line_and_module_name(sandbox):
    # LBPP style: the solution is saved as code.py and the tests import it
    rep = sandbox.run(fn_job("def double(x):\n    return 2 * x\n", "assert double(4) == 8",
                             setup="from code import double", module_name="code"))
    assert verdicts(rep) == [Verdict.AC]
    # HumanEval style: one namespace, a helper defined in the setup
    rep = sandbox.run(fn_job("def f(x):\n    return x / 3\n", "assert close(f(1), 0.3333333)",
                             setup="def close(a, b):\n    return abs(a - b) < 1e-6"))
    assert verdicts(rep) == [Verdict.AC]


def test_limits_tle_mle_ole(sandbox):
    rep = sandbox.run(fn_job("def spin():\n    while True:\n        pass\n", "assert spin() is None"))
    assert verdicts(rep) == [Verdict.TLE]
    rep = sandbox.run(fn_job("import time\ndef nap():\n    time.sleep(30)\n", "assert nap() is None"))
    assert verdicts(rep) == [Verdict.TLE] and "wall" in rep.results[0].detail
    # resident memory counts: 400 MiB written, not merely reserved
    rep = sandbox.run(fn_job("def hog():\n    return len(b'x' * (400 << 20))\n", "assert hog() > 0"))
    assert verdicts(rep) == [Verdict.MLE]
    rep = sandbox.run(io_job("while True:\n    print('x' * 1000)\n", ("", "x")))
    assert verdicts(rep) == [Verdict.OLE]
    assert len(rep.results[0].stdout) <= FAST.output_bytes


def test_deep_recursion_within_memory_limit(sandbox):
    src = ("import sys\nsys.setrecursionlimit(200000)\n"
           "def depth(n):\n    return 0 if n == 0 else 1 + depth(n - 1)\n")
    rep = sandbox.run(fn_job(src, "assert depth(50000) == 50000"))
    assert verdicts(rep) == [Verdict.AC]


def test_stdio_judging(sandbox):
    src = "import sys\nnums = list(map(float, sys.stdin.read().split()))\nprint(sum(nums) / 3)\n"
    tol = JudgeSpec(float_tolerance=1e-6)
    rep = sandbox.run(io_job(src, ("1 1 1", "1.0"), ("1 1 2", "1.3333333"), ("1 1 2", "1.34"), judge=tol))
    assert verdicts(rep) == [Verdict.AC, Verdict.AC, Verdict.WA]
    assert "expected '1.34'" in rep.results[2].detail
    rep = sandbox.run(io_job("print('Case #1: YES')", ("", "case #1: yes"), judge=JudgeSpec(case_sensitive=False)))
    assert verdicts(rep) == [Verdict.AC]
    rep = sandbox.run(io_job("x = int(input())\nprint(10 // x)\n", ("0", "0")))
    assert verdicts(rep) == [Verdict.RE]
    assert rep.results[0].error_type == "ZeroDivisionError"
    rep = sandbox.run(io_job("import sys\nprint(1)\nsys.exit(3)\n", ("", "1")))
    assert verdicts(rep) == [Verdict.RE] and rep.results[0].exit_code == 3
    rep = sandbox.run(io_job("import sys\nprint(1)\nsys.exit(0)\n", ("", "1")))
    assert verdicts(rep) == [Verdict.AC]


def test_checker_program(sandbox):
    checker = ("import sys\nn = int(open(sys.argv[1]).read())\nout = open(sys.argv[2]).read().split()\n"
               "ok = len(out) == 2 and int(out[0]) + int(out[1]) == n\n"
               "print('ok' if ok else 'pair does not sum to n')\nsys.exit(0 if ok else 1)\n")
    judge = JudgeSpec(checker=checker)
    rep = sandbox.run(io_job("n = int(input())\nprint(1, n - 1)\n", ("10", "5 5"), ("7", "3 4"), judge=judge))
    assert verdicts(rep) == [Verdict.AC, Verdict.AC]  # any valid pair is accepted
    rep = sandbox.run(io_job("n = int(input())\nprint(1, n)\n", ("10", "5 5"), judge=judge))
    assert verdicts(rep) == [Verdict.WA] and "does not sum" in rep.results[0].detail


def test_measurements_and_repeat_median(sandbox):
    src = "def work(n):\n    return sum(i * i for i in range(n))\n"
    rep = sandbox.run(fn_job(src, "assert work(300000) > 0", repeat=5))
    r = rep.results[0]
    assert r.verdict is Verdict.AC
    assert len(r.cpu_ms_runs) == 5
    assert r.cpu_ms == sorted(r.cpu_ms_runs)[2]
    assert r.cpu_ms > 5 and r.wall_ms > 0 and r.peak_rss_kb > 1000
    # instruction counts are either real or absent with a reason, never made up
    assert (r.instructions is None) == (rep.instructions_unavailable is not None)


def test_stop_on_failure_and_candidate_output(sandbox):
    rep = sandbox.run(fn_job("def f():\n    print('debug line')\n    return 1\n",
                             "assert f() == 2", "assert f() == 1", stop_on_failure=True))
    assert verdicts(rep) == [Verdict.WA]
    assert "debug line" in rep.results[0].stdout


def test_tests_do_not_share_state(sandbox):
    src = "import os\ndef mark():\n    existed = os.path.exists('marker')\n    open('marker', 'w').close()\n    return existed\n"
    rep = sandbox.run(fn_job(src, "assert mark() is False", "assert mark() is False"))
    assert verdicts(rep) == [Verdict.AC, Verdict.AC]


@pytest.mark.parametrize("limit", [0.5])
def test_cpu_limit_is_respected_in_measurement(sandbox, limit):
    rep = sandbox.run(io_job("while True:\n    pass\n", ("", ""), limits=Limits(cpu_s=limit, wall_s=3)))
    r = rep.results[0]
    assert r.verdict is Verdict.TLE
    assert r.cpu_ms is not None and r.cpu_ms < 3000
