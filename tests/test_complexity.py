"""Empirical complexity: fits on synthetic points, real measurements in the sandbox, size bounds."""

from __future__ import annotations

import json
import math
import random

import pytest

from assistant.engine.budget import Budget
from assistant.engine.complexity import (
    LABELS,
    complexity_rank,
    default_sizes,
    estimate_complexity,
    fit_complexity,
    measure_scaling,
    parse_constraints,
    project,
    scaled_function_tests,
    stdio_size_tests,
)
from assistant.engine.context import EngineContext
from assistant.engine.gentests import StdioTools
from assistant.models.scripted import ScriptedModel
from assistant.problems.loaders import problem_from_record
from assistant.problems.model import Problem
from sandbox import TestCase

SIZES = [1000 * 2 ** k for k in range(8)]


def noisy(f, sizes=SIZES, noise=0.05, seed=1, repeat=3):
    rnd = random.Random(seed)
    return [(n, f(n) * (1 + rnd.uniform(-noise, noise))) for n in sizes for _ in range(repeat)]


def ctx_for(sandbox, problem):
    return EngineContext(ScriptedModel(responses=[]), sandbox, problem, Budget())


# --------------------------------------------------------------------------- fitting

@pytest.mark.parametrize("label, f", [
    ("O(1)", lambda n: 50.0),
    ("O(log n)", lambda n: 3 + 5 * math.log2(n)),
    ("O(n)", lambda n: 3 + n * 1e-3),
    ("O(n log n)", lambda n: 3 + n * math.log2(n) * 1e-4),
    ("O(n^2)", lambda n: 3 + n * n * 1e-7),
    ("O(n^3)", lambda n: 3 + n ** 3 * 1e-12),
])
def test_synthetic_classes_are_recognised(label, f):
    fit = fit_complexity(noisy(f))
    assert fit.label == label, fit.errors
    assert fit.points == 3 * len(SIZES)
    if label != "O(1)":
        assert fit.r2 > 0.95


def test_exponential_growth_is_recognised():
    fit = fit_complexity([(n, 3 + 0.001 * 2 ** n) for n in range(6, 24, 2)])
    assert fit.label == "O(2^n)"


def test_one_disturbed_measurement_does_not_change_the_class():
    points = [(n, 3 + n * n * 1e-7) for n in SIZES]
    points[5] = (points[5][0], points[5][1] * 2.5)  # a busy moment
    assert fit_complexity(points).label == "O(n^2)"


def test_fit_coefficients_and_projection():
    fit = fit_complexity([(n, 2.0 + 0.004 * n) for n in SIZES])
    assert fit.label == "O(n)" and fit.model == "n"
    assert fit.coefficients["a"] == pytest.approx(0.004, rel=1e-6)
    assert fit.coefficients["b"] == pytest.approx(2.0, rel=1e-6)
    assert project(fit, 10 ** 6) == pytest.approx(4002.0, rel=1e-6)
    assert project(fit, None) is None
    exp = fit_complexity([(n, 3 + 0.001 * 2 ** n) for n in range(6, 24, 2)])
    assert project(exp, 10 ** 5) == math.inf


def test_too_fast_too_few_and_too_close_say_so():
    fast = fit_complexity([(n, 0.4 + n * 1e-9) for n in SIZES])
    assert fast.label is None and "too fast" in fast.note
    assert project(fast, 10 ** 6) is None
    few = fit_complexity([(1000, 5.0), (2000, 9.0)])
    assert few.label is None and "too few points" in few.note
    close = fit_complexity([(1000, 5.0), (1200, 6.0), (1500, 7.5)])
    assert close.label is None and "too close" in close.note
    flat = fit_complexity([(n, 3.0 + 0.1 * (i % 2)) for i, n in enumerate(SIZES)])
    assert flat.label == "O(1)" and "flat" in flat.note


def test_rank_follows_growth():
    assert [complexity_rank(label) for label in LABELS] == list(range(7))
    assert complexity_rank(None) == -1 and complexity_rank("O(n!)") == -1
    assert fit_complexity(noisy(lambda n: 3 + n * n * 1e-7)).rank > fit_complexity(noisy(lambda n: 3 + n * 1e-3)).rank


# --------------------------------------------------------------------------- constraints

@pytest.mark.parametrize("text, bound", [
    ("1 ≤ n ≤ 2·10^5", 200_000),
    ("n <= 100000", 100_000),
    ("1 \\le N \\le 10^{5}", 100_000),
    ("|s| ≤ 10^6", 1_000_000),
    ("$1 \\leq n, m \\leq 3 \\cdot 10^5$", 300_000),
    ("1 ≤ n ≤ 100 000", 100_000),
    ("The length of the string is at most 5000.", 5000),
    ("-10^9 ≤ a_i ≤ 10^9, 1 ≤ N ≤ 10⁵", 100_000),  # a value bound and a size bound
    ("1 ≤ T ≤ 100 test cases. 1 ≤ X ≤ 10^18.", None),  # test cases and values only
    ("Return the sum of the list.", None),
])
def test_parse_constraints(text, bound):
    assert parse_constraints(text) == bound


@pytest.mark.datasets
def test_parse_constraints_on_code_jam_statements(datasets):
    records = {}
    for line in (datasets / "stdio" / "gcj.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        records[rec["id"]] = problem_from_record(rec, "gcj.jsonl")
    expected = {
        "codejam/2008/qualification_round/saving_the_universe": 1000,  # Q ≤ 1000 (S ≤ 100, N ≤ 20 cases)
        "codejam/2016/qualification_round/revenge_of_the_pancakes": 100,  # 1 ≤ length of S ≤ 100
        "codejam/2016/round_1b/getting_the_digits": 2000,  # 3 ≤ length of S ≤ 2000
        "codejam/2018/qualification_round/saving_the_universe_again": 30,  # D ≤ 10^9 is a value
        "codejam/2015/qualification_round/standing_ovation": 1000,  # 0 ≤ S_max ≤ 1000
        "codejam/2013/round_1b/osmos": 100,  # N ≤ 100 motes; A ≤ 10^6 is a size of a mote
        "kickstart/2018/round_g/combining_classes": 400_000,  # 1 ≤ N ≤ 4 × 10^5
        "codejam/2020/round_1b/expogo": None,  # only coordinates: -10^9 ≤ X ≤ 10^9
    }
    for rid, bound in expected.items():
        assert parse_constraints(records[rid].statement) == bound, rid
    for problem in records.values():
        found = parse_constraints(problem.statement)
        assert found is None or 1 <= found <= 10 ** 7


# --------------------------------------------------------------------------- function inputs

PAIRS = Problem(
    id="t/pairs", kind="function", time_limit_s=2.0,
    statement="Count the pairs i < j with xs[i] + xs[j] == k. Constraints: 1 ≤ n ≤ 10^5.",
    entry_point="count_pairs", starter_code="def count_pairs(xs, k):",
    visible_tests=[TestCase(code="assert count_pairs([1, 2, 3, 4], 5) == 2"),
                   TestCase(code="assert count_pairs([1], 2) == 0")])

QUADRATIC = """def count_pairs(xs, k):
    c = 0
    for i in range(len(xs)):
        for j in range(i + 1, len(xs)):
            c += xs[i] + xs[j] == k
    return c
"""

LINEAR = """from collections import Counter

def count_pairs(xs, k):
    seen = Counter()
    c = 0
    for x in xs:
        c += seen[k - x]
        seen[x] += 1
    return c
"""


async def run_one(sandbox, problem, source, test):
    return (await ctx_for(sandbox, problem).execute(problem.job(source, tests=[test]))).results[0]


async def test_scaled_function_tests_grow_lists_and_sizes(local_sandbox):
    make = scaled_function_tests(PAIRS, [8, 1024])
    assert make is not None
    checker = "def count_pairs(xs, k):\n    assert len(xs) == 37 and xs[:5] == [1, 2, 3, 4, 1] and k == 5\n"
    assert (await run_one(local_sandbox, PAIRS, checker, make(37))).passed
    # the size int follows the list when it equals the list's length
    sized = PAIRS.model_copy(update={"starter_code": "def f(xs, n):", "entry_point": "f",
                                     "visible_tests": [TestCase(code="assert f([3, 1, 2], 3) == 6")]})
    checker = "def f(xs, n):\n    assert len(xs) == n == 50\n"
    assert (await run_one(local_sandbox, sized, checker, scaled_function_tests(sized)(50))).passed


async def test_scaled_strings_ints_kwargs_and_nested_lists(local_sandbox):
    rev = Problem(id="r", kind="function", entry_point="rev", statement="reverse",
                  visible_tests=[TestCase(code="assert rev('abc', sep='-') == 'c-b-a'")])
    checker = "def rev(s, sep):\n    assert s == ('abc' * 10)[:25] and sep == '-'\n"
    assert (await run_one(local_sandbox, rev, checker, scaled_function_tests(rev)(25))).passed
    fib = Problem(id="f", kind="function", entry_point="fib", statement="fib",
                  visible_tests=[TestCase(code="assert fib(10) == 55"), TestCase(code="assert fib(1, 7) == 1")])
    checker = "def fib(n):\n    assert n == 20\n"
    assert (await run_one(local_sandbox, fib, checker, scaled_function_tests(fib)(20))).passed
    grid = Problem(id="g", kind="function", entry_point="g", statement="grid",
                   visible_tests=[TestCase(code="assert g([[1, 2], [3]]) == 3")])
    # inner lists are copies: a candidate that mutates one row does not change the others
    checker = ("def g(rows):\n    assert len(rows) == 9 and len({id(r) for r in rows}) == 9\n"
               "    rows[0].append(5)\n    assert rows[2] == [1, 2]\n")
    assert (await run_one(local_sandbox, grid, checker, scaled_function_tests(grid)(9))).passed


def test_scaled_function_tests_need_literal_scalable_arguments():
    def problem(code, entry="f"):
        return Problem(id="x", kind="function", entry_point=entry, statement="", visible_tests=[TestCase(code=code)])

    assert scaled_function_tests(problem("assert f(make_list()) == 1")) is None  # not a literal
    assert scaled_function_tests(problem("assert f(True, -3, None) == 1")) is None  # nothing scales
    assert scaled_function_tests(problem("assert g([1, 2]) == 1")) is None  # no call of the entry point
    assert scaled_function_tests(problem("assert f([]) == 0"), [8, 64]) is None  # empty: nothing to repeat
    stdio = Problem(id="s", kind="stdio", statement="")
    assert scaled_function_tests(stdio) is None


# --------------------------------------------------------------------------- real measurements

async def test_measure_scaling_stops_at_the_first_timeout(local_sandbox):
    problem = PAIRS.model_copy(update={"time_limit_s": 0.5})
    ctx = ctx_for(local_sandbox, problem)
    sizes = [256, 512, 1024, 2048, 4096, 8192]
    points = await measure_scaling(ctx, QUADRATIC, scaled_function_tests(problem), sizes, repeat=1)
    # 8192 elements make 33 million pair checks: far beyond half a second
    assert 3 <= len(points) < len(sizes)
    assert [n for n, _ in points] == sizes[:len(points)]
    assert all(t > 0 for _, t in points)


async def test_quadratic_function_is_labelled_above_linear(local_sandbox):
    ctx = ctx_for(local_sandbox, PAIRS)
    make = scaled_function_tests(PAIRS)
    quad = await estimate_complexity(ctx, QUADRATIC, make, [64 * 2 ** k for k in range(8)])
    lin = await estimate_complexity(ctx, LINEAR, make, [4096 * 2 ** k for k in range(7)])
    assert quad.limit_n == lin.limit_n == 100_000
    assert complexity_rank(quad.label) >= complexity_rank("O(n log n)")
    assert complexity_rank(quad.label) > complexity_rank(lin.label)
    # 10^5 elements: billions of pair checks for the quadratic one, a few ms for the linear one
    assert quad.within_time_limit is False and quad.projected_ms_at_limit > 2000
    assert lin.within_time_limit is True
    assert quad.points and quad.fit is not None


SUM_TO_N = Problem(
    id="t/sum-to-n", kind="stdio", time_limit_s=2.0,
    statement="Read n (1 ≤ n ≤ 10^7) and print the number of pairs 0 ≤ i < j < n.",
    visible_tests=[TestCase(input="3\n", output="3\n")])

SIZE_GENERATOR = "seed, size = map(int, input().split())\nprint(size)\n"
LINEAR_IO = "n = int(input())\nc = 0\nfor j in range(n):\n    c += j\nprint(c)\n"
QUADRATIC_IO = "n = int(input())\nc = 0\nfor i in range(n):\n    for j in range(i + 1, n):\n        c += 1\nprint(c)\n"


async def test_stdio_inputs_from_the_generator_and_labels(local_sandbox):
    ctx = ctx_for(local_sandbox, SUM_TO_N)
    tools = StdioTools(generator=SIZE_GENERATOR, brute="")
    quad_inputs = await stdio_size_tests(ctx, tools, [100 * 2 ** k for k in range(7)])
    lin_inputs = await stdio_size_tests(ctx, tools, [10_000 * 2 ** k for k in range(8)])
    assert quad_inputs.sizes == [100 * 2 ** k for k in range(7)]
    assert quad_inputs(400).input == "400\n"
    quad = await estimate_complexity(ctx, QUADRATIC_IO, quad_inputs)
    lin = await estimate_complexity(ctx, LINEAR_IO, lin_inputs)
    assert complexity_rank(quad.label) > complexity_rank(lin.label) >= complexity_rank("O(log n)")
    assert quad.limit_n == 10 ** 7 and quad.within_time_limit is False
    # the default ladder doubles up to the statement's bound
    default = await stdio_size_tests(ctx_for(local_sandbox, SUM_TO_N.model_copy(
        update={"statement": "Read n (1 ≤ n ≤ 100)."})), tools)
    assert default.sizes == [8, 16, 32, 64, 100] == default_sizes(100)


async def test_generator_failures_leave_sizes_out(local_sandbox):
    ctx = ctx_for(local_sandbox, SUM_TO_N)
    picky = "seed, size = map(int, input().split())\nassert size < 50\nprint(size)\n"
    inputs = await stdio_size_tests(ctx, StdioTools(generator=picky, brute=""), [10, 20, 40, 80])
    assert inputs.sizes == [10, 20, 40]
    points = await measure_scaling(ctx, LINEAR_IO, inputs, [10, 20, 40, 80], repeat=1)
    assert [n for n, _ in points] == [10, 20, 40]
    assert await stdio_size_tests(ctx, StdioTools(generator="raise SystemExit(1)\n", brute=""), [10]) is None
