"""Generated tests: model-written asserts, generator + brute force tools, CodeT agreement."""

from __future__ import annotations

import math

import pytest

from assistant.engine.budget import Budget, BudgetExhausted
from assistant.engine.context import EngineContext
from assistant.engine.events import Notice
from assistant.engine.gentests import (
    StdioTools,
    codet_rank,
    generate_function_tests,
    generate_stdio_tools,
    parse_asserts,
    split_tools_reply,
    stdio_generated_tests,
)
from assistant.models.base import ModelError
from assistant.models.scripted import ScriptedModel
from assistant.problems.model import Problem
from sandbox import TestCase

MAX_SUB_FN = Problem(
    id="t/max-sub", kind="function",
    statement="Return the largest sum of a non-empty contiguous subarray of xs.",
    entry_point="max_sub", starter_code="def max_sub(xs: list[int]) -> int:",
    visible_tests=[TestCase(name="visible-1", code="assert max_sub([1, -2, 3]) == 3")])

KADANE_FN = """def max_sub(xs):
    best = cur = xs[0]
    for x in xs[1:]:
        cur = max(x, cur + x)
        best = max(best, cur)
    return best
"""

MESSY_REPLY = """Sure! Here are some tests. Let me think about edge cases first.

```python
assert max_sub([1,-2,3]) == 3   # same as the example
assert max_sub([1, -2, 3]) == 4  # contradicts the example
assert max_sub([5]) == 5
assert max_sub([5]) == 5
assert max_sub([-1, -2]) == -1
assert max_sub([2, 3,
                -1, 4]) == 8
assert sorted([1]) == [1]
assert math.isclose(max_sub([1]), 1)
xs = [1, 2, 3]
assert max_sub(xs) == 6
assert max_sub(ys) == 6
assert max_sub([1, 2) == 3
def test_zeros():
    data = [0, 0]
    assert max_sub(data) == 0
def check(candidate):
    assert candidate([7, -1]) == 7
def max_sub(xs):
    return 0
```
One more:
```python
assert max_sub([3, -1, 3]) == 5
assert max_sub([1, 2, 3, 4
"""

MAX_SUB_STDIO = Problem(
    id="t/max-sub-io", kind="stdio",
    statement="The first line holds n (1 ≤ n ≤ 2·10^5), the second n integers a_i (-10^9 ≤ a_i ≤ 10^9). "
              "Print the largest sum of a non-empty contiguous subarray.",
    visible_tests=[TestCase(name="sample-1", input="3\n1 -2 3\n", output="3\n"),
                   TestCase(name="sample-2", input="4\n-1 2 2 -5\n", output="4\n")])

GENERATOR = """import random
seed, size = map(int, input().split())
random.seed(seed)
n = random.randint(1, size)
print(n)
print(*[random.randint(-size, size) for _ in range(n)])
"""

BRUTE = """n = int(input())
a = list(map(int, input().split()))
print(max(sum(a[i:j]) for i in range(n) for j in range(i + 1, n + 1)))
"""

# wrong on purpose: the empty subarray counts, so an all-negative array gives 0
BRUTE_EMPTY_ALLOWED = """n = int(input())
a = list(map(int, input().split()))
print(max([0] + [sum(a[i:j]) for i in range(n) for j in range(i + 1, n + 1)]))
"""


def tools_reply(generator: str, brute: str) -> str:
    return (f"Here you go.\n\n### Generator\n```python\n{generator}```\n\n"
            f"### Brute force\n```python\n{brute}```\n")


def make_ctx(model, sandbox, problem, max_calls=None, events=None):
    return EngineContext(model, sandbox, problem, Budget(max_calls=max_calls),
                         on_event=events.append if events is not None else None)


def notices(events):
    return [e.message for e in events if isinstance(e, Notice)]


# --------------------------------------------------------------------------- function tests

def test_parse_asserts_keeps_runnable_calls_and_drops_the_rest():
    kept, dropped = parse_asserts(MESSY_REPLY, MAX_SUB_FN)
    assert kept == [
        "assert max_sub([5]) == 5",
        "assert max_sub([-1, -2]) == -1",
        "assert max_sub([2, 3,\n                -1, 4]) == 8",
        "import math\nassert math.isclose(max_sub([1]), 1)",  # the left-out import is added
        "xs = [1, 2, 3]\nassert max_sub(xs) == 6",  # the assignment it needs travels with it
        "data = [0, 0]\nassert max_sub(data) == 0",  # from inside a test function
        "assert max_sub([7, -1]) == 7",  # check(candidate) style, renamed to the entry point
        "assert max_sub([3, -1, 3]) == 5",  # second block; its cut-off last assert is dropped
    ]
    # `sorted([1])` does not call the function, `ys` is undefined, `[1, 2)` does not parse, and the
    # model's own `def max_sub` never travels with a test (it would replace the candidate)
    assert dropped == {"duplicate": 1, "copies_visible": 1, "contradicts_visible": 1}


def test_half_written_asserts_are_read_as_the_test_they_meant():
    text = ("def check(x):\n    return x\n"
            "assert ____, max_sub([1, 2]) == 3\n"  # the comparison went into the message
            "assert ____(max_sub([4]) == 4)\n"  # a blank helper around it
            "assert ____.max_sub([-3]) == -3\n"  # a blank module name
            "assert ____ == max_sub([9])\n"  # no expected value: nothing to repair
            "assert check(max_sub([2]) == 2)\n")  # `check` is bound above: kept as it is
    kept, _ = parse_asserts(text, MAX_SUB_FN)
    assert kept == ["assert max_sub([1, 2]) == 3", "assert max_sub([4]) == 4", "assert max_sub([-3]) == -3",
                    "def check(x):\n    return x\nassert check(max_sub([2]) == 2)"]


def test_codet_counts_copies_and_can_score_linearly():
    matrix = {"a": {"t1"}, "b": {"t1", "t2"}}
    plain = codet_rank(matrix, ["t1", "t2"], root=False)
    assert plain.candidate_scores == {"a": 1.0, "b": 2.0}
    copied = codet_rank(matrix, ["t1", "t2"], sizes={"a": 3}, root=False)
    assert copied.candidate_scores == {"a": 3.0, "b": 2.0} and copied.groups[0].candidates == ["a"]


async def test_chat_tests_are_filtered_deduplicated_and_run(local_sandbox):
    model = ScriptedModel([MESSY_REPLY])
    ctx = make_ctx(model, local_sandbox, MAX_SUB_FN)
    tests = await generate_function_tests(ctx, max_tests=12, seed=3)
    assert [t.id for t in tests] == [f"gen-{i}" for i in range(1, 9)]
    assert all(t.origin == "model" and t.test.name == t.id for t in tests)
    request = model.requests[0]
    assert request.kind == "chat" and request.options.seed == 3
    assert "max_sub" in request.text and "largest sum" in request.text
    assert "assert max_sub([1, -2, 3]) == 3" in request.text  # shown as an example, not to be copied
    assert "Do not copy" in request.text
    # every kept test really runs: a correct solution passes them all, a wrong one does not
    report = await ctx.execute(MAX_SUB_FN.job(KADANE_FN, tests=[t.test for t in tests]))
    assert report.all_passed, [(r.name, r.detail) for r in report.results]
    wrong = await ctx.execute(MAX_SUB_FN.job("def max_sub(xs):\n    return sum(xs)\n", tests=[t.test for t in tests]))
    assert 0 < wrong.passed < wrong.total
    assert ctx.budget.calls == 1


async def test_max_tests_caps_and_calls_deduplicate_across_replies(local_sandbox):
    first = "```python\nassert max_sub([5]) == 5\nassert max_sub([-3]) == -3\n```"
    second = "```python\nassert max_sub([5]) == 5\nassert max_sub([0]) == 0\nassert max_sub([9]) == 9\n```"
    model = ScriptedModel([first, second])
    ctx = make_ctx(model, local_sandbox, MAX_SUB_FN)
    tests = await generate_function_tests(ctx, max_tests=3, calls=2, seed=10)
    assert [t.test.code for t in tests] == ["assert max_sub([5]) == 5", "assert max_sub([-3]) == -3",
                                            "assert max_sub([0]) == 0"]
    assert [r.options.seed for r in model.requests] == [10, 11]
    assert all(r.options.temperature > 0.5 for r in model.requests)  # several calls: diverse samples


async def test_completion_model_continues_a_test_file(local_sandbox):
    continuation = "[4, -1, 2]) == 5\nassert max_sub([-7]) == -7\nassert max_sub([1, -2, 3]) == 3\nassert max_sub(["
    model = ScriptedModel([continuation], can_chat=False)
    ctx = make_ctx(model, local_sandbox, MAX_SUB_FN)
    tests = await generate_function_tests(ctx)
    assert [t.test.code for t in tests] == ["assert max_sub([4, -1, 2]) == 5", "assert max_sub([-7]) == -7"]
    request = model.requests[0]
    assert request.kind == "complete"
    assert request.prompt.endswith("assert max_sub(")
    assert "def max_sub(xs: list[int]) -> int:\n    ..." in request.prompt  # the bare def got a body
    assert "# Return the largest sum" in request.prompt
    assert "\ndef " in request.options.stop and "```" in request.options.stop


async def test_garbage_reply_gives_no_tests_and_a_notice(local_sandbox):
    events = []
    model = ScriptedModel(["I cannot write tests for this. Maybe try max_sub on some lists? ```\n+++\n```"])
    ctx = make_ctx(model, local_sandbox, MAX_SUB_FN, events=events)
    assert await generate_function_tests(ctx) == []
    assert any("no usable assert" in m for m in notices(events))


async def test_model_error_gives_no_tests_and_a_notice(local_sandbox):
    events = []
    ctx = make_ctx(ScriptedModel([ModelError("server down")]), local_sandbox, MAX_SUB_FN, events=events)
    assert await generate_function_tests(ctx) == []
    assert any("server down" in m for m in notices(events))


async def test_budget_exhaustion_propagates(local_sandbox):
    model = ScriptedModel(["```python\nassert max_sub([5]) == 5\n```"])
    ctx = make_ctx(model, local_sandbox, MAX_SUB_FN, max_calls=1)
    ctx.budget.calls = 1  # the budget is already used up
    with pytest.raises(BudgetExhausted):
        await generate_function_tests(ctx)
    assert model.requests == []


async def test_budget_running_out_midway_keeps_what_was_paid_for(local_sandbox):
    events = []
    model = ScriptedModel(["```python\nassert max_sub([5]) == 5\n```", "```python\nassert max_sub([6]) == 6\n```"])
    ctx = make_ctx(model, local_sandbox, MAX_SUB_FN, max_calls=2, events=events)
    tests = await generate_function_tests(ctx, calls=3)
    assert [t.test.code for t in tests] == ["assert max_sub([5]) == 5", "assert max_sub([6]) == 6"]
    assert len(model.requests) == 2
    assert any("budget" in m for m in notices(events))


# --------------------------------------------------------------------------- stdio tools

def test_split_tools_reply_by_labels_and_by_content():
    assert split_tools_reply(tools_reply(GENERATOR, BRUTE)) == (GENERATOR, BRUTE)
    swapped = f"```python\n{BRUTE}```\n\n```python\n{GENERATOR}```\n"  # no labels, brute force first
    assert split_tools_reply(swapped) == (GENERATOR, BRUTE)
    assert split_tools_reply("no code here") == (None, None)


async def test_stdio_tools_validated_and_generated_tests_are_right(local_sandbox):
    model = ScriptedModel([tools_reply(GENERATOR, BRUTE)])
    ctx = make_ctx(model, local_sandbox, MAX_SUB_STDIO)
    tools = await generate_stdio_tools(ctx, seed=5)
    assert tools == StdioTools(generator=GENERATOR, brute=BRUTE)
    assert "largest sum" in model.requests[0].text and "SEED SIZE" in model.requests[0].text

    tests = await stdio_generated_tests(ctx, tools, count=6)
    assert len(tests) == 6
    assert [t.id for t in tests] == [f"bf-{i}" for i in range(1, 7)]
    assert len({t.test.input for t in tests}) == 6  # no duplicates
    for t in tests:
        assert t.origin == "brute-force"
        lines = t.test.input.split("\n")
        n, values = int(lines[0]), list(map(int, lines[1].split()))
        assert n == len(values) >= 1
        expected = max(sum(values[i:j]) for i in range(n) for j in range(i + 1, n + 1))
        assert t.test.output.split() == [str(expected)]


async def test_brute_force_that_disagrees_with_the_samples_is_rejected(local_sandbox):
    events = []
    model = ScriptedModel([tools_reply(GENERATOR, BRUTE_EMPTY_ALLOWED)])
    ctx = make_ctx(model, local_sandbox, MAX_SUB_STDIO.model_copy(update={"visible_tests": [
        *MAX_SUB_STDIO.visible_tests, TestCase(name="sample-3", input="2\n-5 -1\n", output="-1\n")]}),
        events=events)
    assert await generate_stdio_tools(ctx) is None
    assert any("brute force fails sample-3" in m and "expected '-1', got '0'" in m for m in notices(events))


async def test_generator_that_crashes_is_rejected_and_a_retry_gets_the_reason(local_sandbox):
    events = []
    broken = "seed, size = map(int, input().split())\nprint(1 // 0)\n"
    model = ScriptedModel([tools_reply(broken, BRUTE), tools_reply(GENERATOR, BRUTE)])
    ctx = make_ctx(model, local_sandbox, MAX_SUB_STDIO, events=events)
    tools = await generate_stdio_tools(ctx, attempts=2)
    assert tools is not None and tools.generator == GENERATOR
    retry = model.requests[1].messages
    assert retry[-2].role == "assistant" and "ZeroDivisionError" in retry[-1].content

    model = ScriptedModel([tools_reply(broken, BRUTE)])
    ctx = make_ctx(model, local_sandbox, MAX_SUB_STDIO, events=events)
    assert await generate_stdio_tools(ctx) is None
    assert any("generator fails" in m and "ZeroDivisionError" in m for m in notices(events))


async def test_stdio_tools_from_a_completion_model(local_sandbox):
    gen_body = "n = random.randint(1, size)\nprint(n)\nprint(*[random.randint(-size, size) for _ in range(n)])\n"
    brute_body = ("def main():\n    data = sys.stdin.read().split()\n    n = int(data[0])\n"
                  "    a = list(map(int, data[1:1 + n]))\n"
                  "    print(max(sum(a[i:j]) for i in range(n) for j in range(i + 1, n + 1)))\n\n\n"
                  "if __name__ == '__main__':\n")
    model = ScriptedModel([gen_body, brute_body], can_chat=False)
    ctx = make_ctx(model, local_sandbox, MAX_SUB_STDIO)
    tools = await generate_stdio_tools(ctx)
    assert tools is not None
    assert [r.kind for r in model.requests] == ["complete", "complete"]
    assert "random.seed(seed)" in model.requests[0].prompt
    assert tools.brute.rstrip().endswith("main()")  # the cut-off __main__ guard is replaced by a call
    tests = await stdio_generated_tests(ctx, tools, count=3)
    assert len(tests) == 3


async def test_stdio_tool_budget_exhaustion_propagates(local_sandbox):
    ctx = make_ctx(ScriptedModel([tools_reply(GENERATOR, BRUTE)]), local_sandbox, MAX_SUB_STDIO, max_calls=1)
    ctx.budget.calls = 1
    with pytest.raises(BudgetExhausted):
        await generate_stdio_tools(ctx)


# --------------------------------------------------------------------------- CodeT

def test_codet_scores_groups_and_trust():
    matrix = {
        "n3": {"t1", "t2"}, "n1": {"t1", "t2"}, "n2": {"t2", "t1"},  # three agree on t1, t2
        "n4": {"t1", "t2", "t3"},  # passes one more, alone
        "n5": set(),
        "n6": {"t3", "other"},  # "other" is not a listed test
    }
    result = codet_rank(matrix, ["t1", "t2", "t3"])
    s3 = 2 * math.sqrt(3)
    assert result.candidate_scores == pytest.approx({"n1": s3, "n2": s3, "n3": s3, "n4": 3.0, "n5": 0.0, "n6": 1.0})
    assert [g.candidates for g in result.groups] == [["n1", "n2", "n3"], ["n4"], ["n6"], ["n5"]]
    assert result.groups[0].tests == ["t1", "t2"]
    total = s3 + 3 + 1
    assert result.test_trust == pytest.approx({"t1": (s3 + 3) / total, "t2": (s3 + 3) / total, "t3": 4 / total})
    # deterministic whatever the input order
    again = codet_rank(dict(reversed(list(matrix.items()))), ["t1", "t2", "t3"])
    assert again == result


def test_codet_with_no_passes_trusts_nothing():
    result = codet_rank({"a": set(), "b": set()}, ["t1"])
    assert result.test_trust == {"t1": 0.0}
    assert result.candidate_scores == {"a": 0.0, "b": 0.0}
    assert len(result.groups) == 1 and result.groups[0].candidates == ["a", "b"]


def test_split_tools_reply_ignores_words_inside_the_previous_block():
    generator = ("import random\n\ndef generate(seed, size):\n    random.seed(seed)\n    print(size)\n\n"
                 "generate(*map(int, input().split()))\n")
    reply = f"### Generator\n```python\n{generator}```\n```python\n{BRUTE}```\n"
    assert split_tools_reply(reply) == (generator, BRUTE)
