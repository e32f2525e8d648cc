"""Differential testing: a counterexample found and shrunk for buggy candidates, none for a correct one."""

from __future__ import annotations

import pytest

from assistant.engine.budget import Budget
from assistant.engine.context import EngineContext
from assistant.engine.counterexample import find_counterexample
from assistant.engine.gentests import StdioTools
from assistant.models.scripted import ScriptedModel
from assistant.problems.model import Problem
from sandbox import TestCase

from .test_gentests import BRUTE, GENERATOR, MAX_SUB_STDIO

KADANE = """n = int(input())
a = list(map(int, input().split()))
best = cur = a[0]
for x in a[1:]:
    cur = max(x, cur + x)
    best = max(best, cur)
print(best)
"""

# the classic slip: starting from 0 treats the empty subarray as allowed (wrong on all-negative input)
KADANE_FROM_ZERO = """n = int(input())
a = list(map(int, input().split()))
best = cur = 0
for x in a:
    cur = max(0, cur + x)
    best = max(best, cur)
print(best)
"""

# crashes when the array has one element
KADANE_NEEDS_TWO = """n = int(input())
a = list(map(int, input().split()))
best = cur = a[0] + a[1] - a[1]
for x in a[1:]:
    cur = max(x, cur + x)
    best = max(best, cur)
print(best)
"""

SUM_PROBLEM = Problem(
    id="t/sum", kind="stdio",
    statement="The first line holds n (1 ≤ n ≤ 10^5), the second n integers 0 ≤ a_i ≤ 10^12. Print their sum.",
    visible_tests=[TestCase(name="sample-1", input="3\n1 2 3\n", output="6\n")])

SUM_GENERATOR = """import random
seed, size = map(int, input().split())
random.seed(seed)
n = random.randint(1, size)
print(n)
print(*[random.randint(0, 10 ** 12) if random.random() < 0.5 else random.randint(0, 9) for _ in range(n)])
"""

SUM_BRUTE = "input()\nprint(sum(map(int, input().split())))\n"

# keeps the sum in a signed 32-bit register, as a C solution with `int` would
SUM_INT32 = """input()
s = 0
for x in map(int, input().split()):
    s = (s + x) & 0xFFFFFFFF
if s >= 2 ** 31:
    s -= 2 ** 32
print(s)
"""


def ctx_for(sandbox, problem):
    return EngineContext(ScriptedModel(responses=[]), sandbox, problem, Budget())


def max_subarray(values):
    return max(sum(values[i:j]) for i in range(len(values)) for j in range(i + 1, len(values) + 1))


def parse(text):
    lines = text.strip().split("\n")
    return int(lines[0]), list(map(int, lines[1].split())) if len(lines) > 1 else []


async def test_wrong_answer_found_and_shrunk(local_sandbox):
    ctx = ctx_for(local_sandbox, MAX_SUB_STDIO)
    tools = StdioTools(generator=GENERATOR, brute=BRUTE)
    found = await find_counterexample(ctx, KADANE_FROM_ZERO, tools, seed=1)
    assert found is not None
    assert found.verdict == "WA"
    n, values = parse(found.input)
    assert n == len(values) >= 1  # still a well-formed input
    assert all(v < 0 for v in values)  # the bug needs an all-negative array
    assert found.expected.split() == [str(max_subarray(values))]
    assert found.actual.split() == ["0"]
    assert "expected" in found.detail
    assert len(found.input) <= found.original_size_chars
    # shrunk to the essence: a one-element negative array
    assert n == 1, found.input


async def test_no_counterexample_for_a_correct_candidate(local_sandbox):
    ctx = ctx_for(local_sandbox, MAX_SUB_STDIO)
    tools = StdioTools(generator=GENERATOR, brute=BRUTE)
    assert await find_counterexample(ctx, KADANE, tools, tries=20, max_size=30) is None


async def test_runtime_error_counterexample(local_sandbox):
    ctx = ctx_for(local_sandbox, MAX_SUB_STDIO)
    tools = StdioTools(generator=GENERATOR, brute=BRUTE)
    found = await find_counterexample(ctx, KADANE_NEEDS_TWO, tools, tries=20)
    assert found is not None and found.verdict == "RE"
    n, values = parse(found.input)
    assert n == len(values) == 1
    assert "IndexError" in found.actual and "IndexError" in found.detail
    assert found.expected.split() == [str(values[0])]


async def test_fixed_width_overflow_found_and_shrunk(local_sandbox):
    ctx = ctx_for(local_sandbox, SUM_PROBLEM)
    tools = StdioTools(generator=SUM_GENERATOR, brute=SUM_BRUTE)
    found = await find_counterexample(ctx, SUM_INT32, tools, tries=10, max_size=20)
    assert found is not None and found.verdict == "WA"
    n, values = parse(found.input)
    assert n == len(values)
    assert found.expected.split() == [str(sum(values))]
    assert sum(values) >= 2 ** 31  # the only way to fail
    assert found.shrink_steps >= 1
    assert len(values) <= 2  # one big number, or two that overflow together
    assert all(len(str(v).rstrip("0")) <= 2 for v in values)  # values shrunk to round numbers
    assert sum(values) < 10 ** 10  # from up to 10^12 each


async def test_without_shrinking_the_first_failure_is_reported(local_sandbox):
    ctx = ctx_for(local_sandbox, MAX_SUB_STDIO)
    tools = StdioTools(generator=GENERATOR, brute=BRUTE)
    found = await find_counterexample(ctx, KADANE_FROM_ZERO, tools, seed=1, shrink=False)
    assert found is not None and found.shrink_steps == 0
    assert len(found.input) == found.original_size_chars
    assert found.size is not None and found.seed is not None


async def test_brute_force_that_never_runs_finds_nothing_and_says_so(local_sandbox):
    events = []
    ctx = EngineContext(ScriptedModel(responses=[]), local_sandbox, MAX_SUB_STDIO, Budget(), on_event=events.append)
    tools = StdioTools(generator=GENERATOR, brute="raise SystemExit(3)\n")
    assert await find_counterexample(ctx, KADANE_FROM_ZERO, tools, tries=5) is None
    assert any("brute force did not run cleanly" in getattr(e, "message", "") for e in events)


async def test_function_problems_are_refused(local_sandbox):
    problem = Problem(id="f", kind="function", entry_point="f", statement="f")
    with pytest.raises(ValueError):
        await find_counterexample(ctx_for(local_sandbox, problem), "def f(): pass",
                                  StdioTools(generator=GENERATOR, brute=BRUTE))


async def test_delta_debugging_keeps_counts_consistent(local_sandbox):
    # wrong only when both 7 and 3 occur: the shrunk input must hold just those two, with n = 2
    digits = ("import random\nseed, size = map(int, input().split())\nrandom.seed(seed)\n"
              "print(size)\nprint(*[random.randint(0, 9) for _ in range(size)])\n")
    buggy = "input()\na = list(map(int, input().split()))\nprint(sum(a) + (7 in a and 3 in a))\n"
    ctx = ctx_for(local_sandbox, SUM_PROBLEM)
    found = await find_counterexample(ctx, buggy, StdioTools(generator=digits, brute=SUM_BRUTE), tries=5,
                                      max_size=60)
    assert found is not None and found.verdict == "WA"
    n, values = parse(found.input)
    assert n == len(values) == 2 and sorted(values) == [3, 7]
    assert found.original_size_chars > len(found.input) and found.shrink_steps >= 2
    assert found.expected.split() == ["10"] and found.actual.split() == ["11"]


async def test_timeout_counterexample(local_sandbox):
    # loops forever on a single-element array; the brute force is fine there
    looping = "n = int(input())\na = list(map(int, input().split()))\nwhile n == 1:\n    pass\nprint(sum(a))\n"
    problem = MAX_SUB_STDIO.model_copy(update={"time_limit_s": 0.5})
    ctx = ctx_for(local_sandbox, problem)
    found = await find_counterexample(ctx, looping, StdioTools(generator=GENERATOR, brute=BRUTE), tries=10)
    assert found is not None and found.verdict == "TLE"
    assert parse(found.input)[0] == 1
    assert "time limit" in found.detail


async def test_slow_brute_force_limits_the_sizes_tried(local_sandbox):
    # an exponential brute force: fine up to size ~12, hopeless beyond; the search must not wait
    # for it on every bigger input, and still finds the bug on small ones
    slow_brute = ("import itertools\nn = int(input())\na = list(map(int, input().split()))\n"
                  "best = None\nfor mask in range(1, 2 ** n):\n    for _ in range(2 ** n):\n        pass\n"
                  "    idx = [i for i in range(n) if mask >> i & 1]\n"
                  "    if idx == list(range(idx[0], idx[-1] + 1)):\n"
                  "        s = sum(a[i] for i in idx)\n        best = s if best is None else max(best, s)\n"
                  "print(best)\n")
    fixed_size = ("import random\nseed, size = map(int, input().split())\nrandom.seed(seed)\n"
                  "print(size)\n"
                  "print(*[random.randint(-9, 9) if size < 3 else random.randint(1, 9) for _ in range(size)])\n")
    problem = MAX_SUB_STDIO.model_copy(update={"visible_tests": []})
    ctx = ctx_for(local_sandbox, problem)
    found = await find_counterexample(ctx, KADANE_FROM_ZERO, StdioTools(generator=fixed_size, brute=slow_brute),
                                      tries=40, max_size=50, shrink=False)
    assert found is not None and found.size <= 2
    # the correct candidate: nothing found, and the brute force timed out once, not on every big input
    brute_timeouts = []
    execute = ctx.execute

    async def recording(job):
        report = await execute(job)
        if job.source == slow_brute:
            brute_timeouts.extend(r for r in report.results if r.verdict.value == "TLE")
        return report

    ctx.execute = recording
    assert await find_counterexample(ctx, KADANE, StdioTools(generator=fixed_size, brute=slow_brute),
                                     tries=40, max_size=50) is None
    # of the ~25 inputs past the size where it first timed out, none ran; near that size (where
    # a loaded machine decides) one more may have timed out before it
    assert 1 <= len(brute_timeouts) <= 2
