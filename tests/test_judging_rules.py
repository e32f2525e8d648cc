"""Judging rules: which rule judged each test, exact integers under a float tolerance, where a wrong
answer differs, per-test limits, and checker programs with the testlib and Kattis conventions."""

from __future__ import annotations

import pytest

from sandbox import Job, JudgeSpec, Limits, SandboxError, TestCase, Verdict
from sandbox.checker import interpret
from sandbox.compare import compare_output, describe_rule, rule_of

TOL = JudgeSpec(float_tolerance=1e-6)
FAST = Limits(cpu_s=1.0, wall_s=3.0, memory_mb=128)


def ok(actual: str, expected: str, spec: JudgeSpec = TOL) -> bool:
    return compare_output(actual, expected, spec).ok


# --------------------------------------------------------------------------- comparison rules

def test_integers_are_exact_under_a_float_tolerance():
    # relative error 6e-7 is inside 1e-6: the old judge accepted an answer off by 600
    assert not ok("Case #1: 1000000600\n", "Case #1: 1000000000\n")
    assert not ok("1000000001\n", "1000000000\n")
    assert ok("1000000000\n", "1000000000\n")
    assert ok("3.0\n", "3\n") and ok("3.000000\n", "3\n") and ok("007\n", "7\n")  # same value
    assert not ok("2.9999999\n", "3\n") and not ok("3.0000001\n", "3\n")
    assert not ok("three\n", "3\n")
    why = compare_output("1000000600\n", "1000000000\n", TOL).reason
    assert "integers are compared exactly" in why and "1000000600" in why
    # reals still get the tolerance, both ways
    assert ok("0.3333334\n", "0.3333333\n") and ok("2.0000000001\n", "2.0\n")
    assert not ok("0.334\n", "0.3333333\n")
    assert "over the tolerance" in compare_output("0.334\n", "0.3333333\n", TOL).reason


def test_every_number_real_gives_integers_the_tolerance():
    reals = JudgeSpec(float_tolerance=1e-6, reals=True)
    assert ok("2.9999999\n", "3\n", reals)
    assert ok("1000000600\n", "1000000000\n", reals)  # Kattis's default validator accepts this too
    assert not ok("1000002000\n", "1000000000\n", reals)


def test_absolute_and_relative_tolerances_apart():
    absolute = JudgeSpec(float_absolute_tolerance=1e-3)
    assert ok("1.0005\n", "1.0\n", absolute) and not ok("1000.5\n", "1000.0\n", absolute)
    relative = JudgeSpec(float_relative_tolerance=1e-3)
    assert ok("1000.5\n", "1000.0\n", relative) and not ok("0.0015\n", "0.0\n", relative)


def test_tokens_case_and_whitespace():
    assert ok("1   2\n\n3", "1 2\n3\n", JudgeSpec())
    assert not ok("yes\n", "YES\n", JudgeSpec())
    assert ok("yes\n", "YES\n", JudgeSpec(case_sensitive=False))
    spaced = JudgeSpec(space_change_sensitive=True)
    assert ok("1 2\n", "1 2\n", spaced)
    assert not ok("1  2\n", "1 2\n", spaced) and not ok("1 2", "1 2\n", spaced) and not ok("1\n2\n", "1 2\n", spaced)
    assert "whitespace differs" in compare_output("1  2\n", "1 2\n", spaced).reason
    assert ok("1.0000001 2\n", "1.0 2\n", JudgeSpec(space_change_sensitive=True, float_tolerance=1e-6))


def test_lines_and_exact():
    lines = JudgeSpec(type="lines")
    assert ok("a b  \nc\n\n", "a b\nc\n", lines) and not ok("a  b\nc\n", "a b\nc\n", lines)
    exact = JudgeSpec(type="exact")
    assert ok("a\n", "a\n", exact) and not ok("a", "a\n", exact)
    assert "final newline" in compare_output("a", "a\n", exact).reason
    assert "trailing whitespace" in compare_output("a \n", "a\n", exact).reason


def test_rule_names_and_descriptions():
    assert rule_of(JudgeSpec()) == "tokens" and rule_of(TOL) == "float tolerance"
    assert rule_of(JudgeSpec(type="lines")) == "lines" and rule_of(JudgeSpec(type="exact")) == "exact"
    assert rule_of(JudgeSpec(checker="import sys")) == "checker"
    assert describe_rule(TOL) == "float tolerance 1e-06 (integers exact)"
    assert describe_rule(JudgeSpec(float_absolute_tolerance=1e-6, float_relative_tolerance=1e-9, reals=True,
                                   case_sensitive=False)) == \
        "float tolerance (absolute 1e-06, relative 1e-09, every number real, case-insensitive)"
    for actual in ("1\n", "2\n"):
        assert compare_output(actual, "1\n", JudgeSpec()).rule == "tokens"


def test_mismatch_names_the_first_differing_line_with_context():
    expected = "".join(f"Case #{i}: {i * i}\n" for i in range(1, 9))
    actual = expected.replace("Case #5: 25", "Case #5: 26")
    cmp = compare_output(actual, expected, JudgeSpec())
    assert not cmp.ok and "line 5" in cmp.reason
    m = cmp.mismatch
    assert (m.expected_line, m.actual_line) == (5, 5)
    assert [n for n, _ in m.expected] == [3, 4, 5, 6, 7]
    assert dict(m.expected)[5] == "Case #5: 25" and dict(m.actual)[5] == "Case #5: 26"
    # the output stops early: the got side points one past its last line
    short = compare_output("1\n2\n", "1\n2\n3\n", JudgeSpec())
    assert short.mismatch.expected_line == 3 and short.mismatch.actual_line == 3
    assert [n for n, _ in short.mismatch.actual] == [1, 2]
    # extra output: the expected side has ended
    extra = compare_output("1\n2\n3\n", "1\n2\n", JudgeSpec())
    assert "extra output from line 3" in extra.reason and extra.mismatch.actual_line == 3
    # tokens spread over different lines: each side's own line number
    spread = compare_output("1 2 3\n4 9\n", "1\n2\n3\n4\n5\n", JudgeSpec())
    assert (spread.mismatch.expected_line, spread.mismatch.actual_line) == (5, 2)


def test_huge_outputs_compare_quickly_and_cut_long_lines():
    big = " ".join(map(str, range(200000))) + "\n"
    assert ok(big, big, TOL)
    cmp = compare_output(big.replace(" 199999", " 199998"), big, TOL)
    assert not cmp.ok and cmp.mismatch.expected_line == 1
    assert len(cmp.mismatch.expected[0][1]) <= 120


# --------------------------------------------------------------------------- in the sandbox

def io_job(source, *pairs, judge=None, limits=FAST):
    tests = [p if isinstance(p, TestCase) else TestCase(name=f"t{i}", input=p[0], output=p[1])
             for i, p in enumerate(pairs, 1)]
    return Job(kind="stdio", source=source, tests=tests, judge=judge or JudgeSpec(), limits=limits)


def test_results_carry_rule_and_mismatch(sandbox):
    rep = sandbox.run(io_job("print(int(input()) * 2)", ("2", "4"), ("3", "7"), ("x", "1"), judge=TOL))
    assert [r.verdict for r in rep.results] == [Verdict.AC, Verdict.WA, Verdict.RE]
    assert [r.rule for r in rep.results] == ["float tolerance", "float tolerance", None]
    wa = rep.results[1]
    assert wa.mismatch is not None and wa.mismatch.actual == [(1, "6")] and wa.mismatch.expected == [(1, "7")]
    assert rep.results[0].mismatch is None


def test_each_test_runs_under_its_own_limits(sandbox):
    # generous wall limits: a loaded machine stretches 0.6 s of CPU to seconds of wall time
    spin = "import time\nend = time.process_time() + 0.6\nwhile time.process_time() < end:\n    pass\nprint('done')\n"
    tight = TestCase(name="set1", input="", output="done\n", limits=Limits(cpu_s=0.3, wall_s=30, memory_mb=128))
    loose = TestCase(name="set2", input="", output="done\n", limits=Limits(cpu_s=2, wall_s=30, memory_mb=128))
    plain = TestCase(name="job", input="", output="done\n")  # no limits of its own: the job's
    rep = sandbox.run(io_job(spin, tight, loose, plain, limits=Limits(cpu_s=0.3, wall_s=30, memory_mb=128)))
    assert [r.verdict for r in rep.results] == [Verdict.TLE, Verdict.AC, Verdict.TLE]
    assert "CPU time limit 0.3s" in rep.results[0].detail  # the test's limit judged it
    # a test's wall limit above the job's is honoured too (the runner is not declared lost)
    nap = TestCase(name="nap", input="", output="ok\n", limits=Limits(cpu_s=1, wall_s=4, memory_mb=128))
    rep = sandbox.run(io_job("import time\ntime.sleep(2.5)\nprint('ok')\n", nap,
                             limits=Limits(cpu_s=0.5, wall_s=1, memory_mb=128)))
    assert [r.verdict for r in rep.results] == [Verdict.AC]


def test_each_test_memory_limit(sandbox):
    hog = "x = bytearray(200 << 20)\nprint(len(x) > 0)\n"
    small = TestCase(name="small", input="", output="True\n", limits=Limits(cpu_s=2, memory_mb=64))
    large = TestCase(name="large", input="", output="True\n", limits=Limits(cpu_s=2, memory_mb=512))
    rep = sandbox.run(io_job(hog, small, large))
    assert [r.verdict for r in rep.results] == [Verdict.MLE, Verdict.AC]


def test_a_test_group_judge_overrides_the_jobs(sandbox):
    strict = TestCase(name="strict", input="", output="YES\n", judge=JudgeSpec(case_sensitive=True))
    loose = TestCase(name="loose", input="", output="YES\n")
    rep = sandbox.run(io_job("print('yes')", strict, loose, judge=JudgeSpec(case_sensitive=False)))
    assert [r.verdict for r in rep.results] == [Verdict.WA, Verdict.AC]


TESTLIB_PAIR = """\
import sys
n = int(open(sys.argv[1]).read())
out = open(sys.argv[2]).read().split()
answer = open(sys.argv[3]).read().split()
assert len(answer) == 2  # the judge's own answer is the third argument
if len(out) != 2:
    print("presentation error: expected two numbers", file=sys.stderr)
    sys.exit(2)
if int(out[0]) + int(out[1]) != n:
    print(f"wrong answer {out[0]} + {out[1]} != {n}", file=sys.stderr)
    sys.exit(1)
print("ok pair sums to n", file=sys.stderr)
"""

KATTIS_PAIR = """\
import os, sys
n = int(open(sys.argv[1]).read())
assert open(sys.argv[2]).read().split() and os.path.isdir(sys.argv[3])
assert sys.argv[4:] == ["strict"], sys.argv
out = sys.stdin.read().split()
print("validator chatter on stdout is ignored")
if len(out) != 2 or int(out[0]) + int(out[1]) != n:
    with open(os.path.join(sys.argv[3], "judgemessage.txt"), "w") as fh:
        fh.write(f"got {' '.join(out)[:40]}, which does not sum to {n}")
    sys.exit(43)
sys.exit(42)
"""


def test_testlib_checker_convention(sandbox):
    judge = JudgeSpec(checker=TESTLIB_PAIR, checker_style="testlib")
    rep = sandbox.run(io_job("n = int(input())\nprint(1, n - 1)\n", ("10", "5 5"), ("7", "3 4"), judge=judge))
    assert [r.verdict for r in rep.results] == [Verdict.AC, Verdict.AC]
    assert all(r.rule == "checker" for r in rep.results)
    rep = sandbox.run(io_job("n = int(input())\nprint(1, n)\n", ("10", "5 5"), judge=judge))
    assert rep.results[0].verdict is Verdict.WA and "1 + 10 != 10" in rep.results[0].detail
    rep = sandbox.run(io_job("print(3)\n", ("10", "5 5"), judge=judge))
    assert rep.results[0].verdict is Verdict.WA and "presentation error" in rep.results[0].detail
    # a crashing program is RE, never given to the checker
    rep = sandbox.run(io_job("raise SystemExit(4)\n", ("10", "5 5"), judge=judge))
    assert rep.results[0].verdict is Verdict.RE and rep.results[0].rule is None


def test_kattis_validator_convention(sandbox):
    judge = JudgeSpec(checker=KATTIS_PAIR, checker_style="kattis", checker_flags=["strict"])
    rep = sandbox.run(io_job("n = int(input())\nprint(2, n - 2)\n", ("10", "5 5"), ("9", "4 5"), judge=judge))
    assert [r.verdict for r in rep.results] == [Verdict.AC, Verdict.AC]
    rep = sandbox.run(io_job("print(1, 1)\n", ("10", "5 5"), judge=judge))
    assert rep.results[0].verdict is Verdict.WA
    assert rep.results[0].detail == "got 1 1, which does not sum to 10"  # from feedback_dir/judgemessage.txt


def test_a_failing_checker_is_a_sandbox_error_not_a_verdict(sandbox):
    crash = JudgeSpec(checker="raise ValueError('bad checker')", checker_name="check.py")
    with pytest.raises(SandboxError, match=r"check\.py.*failed on test t1.*ValueError: bad checker"):
        sandbox.run(io_job("print(1)", ("", "1"), judge=crash))
    kattis_zero = JudgeSpec(checker="import sys\nsys.exit(0)", checker_style="kattis")
    with pytest.raises(SandboxError, match="exits 42 to accept"):
        sandbox.run(io_job("print(1)", ("", "1"), judge=kattis_zero))
    testlib_fail = JudgeSpec(checker="import sys\nprint('answer file broken', file=sys.stderr)\nsys.exit(3)")
    with pytest.raises(SandboxError, match="its own failure.*answer file broken"):
        sandbox.run(io_job("print(1)", ("", "1"), judge=testlib_fail))
    slow = JudgeSpec(checker="while True:\n    pass\n")
    with pytest.raises(SandboxError, match="time limit"):
        sandbox.run(io_job("print(1)", ("", "1"), judge=slow))


def test_exit_code_conventions():
    assert interpret("testlib", 0, stderr="ok 3 numbers") == (True, "ok 3 numbers")
    assert interpret("testlib", 1) == (False, "wrong answer")
    assert interpret("testlib", 2) == (False, "presentation error")
    assert interpret("testlib", 7, stderr="points 0.5") == (False, "points 0.5")
    assert interpret("testlib", 16) == (False, "partial score")
    assert isinstance(interpret("testlib", 3), str) and isinstance(interpret("testlib", 5), str)
    assert interpret("kattis", 42) == (True, "")
    assert interpret("kattis", 43, judgemessage="too short", stderr="x") == (False, "too short")
    assert interpret("kattis", 43, teammessage="team") == (False, "team")
    assert isinstance(interpret("kattis", 0), str) and isinstance(interpret("kattis", 1), str)


@pytest.mark.datasets
def test_code_jam_answers_off_by_one_are_wrong(datasets):
    """Every Code Jam answer file judges itself AC, and its last integer plus one WA, under the
    record's own judge (a float tolerance of 1e-6 on nearly all of them)."""
    import json
    import re

    from assistant.problems.loaders import problem_from_record

    files = changed = 0
    for line in (datasets / "stdio" / "gcj.jsonl").read_text().splitlines():
        problem = problem_from_record(json.loads(line), "gcj")
        for test in problem.tests(hidden=True):
            files += 1
            assert compare_output(test.output, test.output, problem.judge).ok
            last = list(re.finditer(r"(?<![\w.#-])\d+(?![\w.])", test.output))
            if not last:
                continue
            m = last[-1]
            bumped = test.output[:m.start()] + str(int(m.group()) + 1) + test.output[m.end():]
            assert not compare_output(bumped, test.output, problem.judge).ok, (problem.id, test.name)
            changed += 1
    assert files > 200 and changed > 150
