"""Hint mode end to end with scripted models on the local sandbox: repair choice, the ladder and its
leak guard, validation by a student model, bad input, events."""

from __future__ import annotations

import pytest

from assistant.errors import UserError
from assistant.models.base import ModelRequest
from assistant.models.scripted import ScriptedModel
from assistant.modes.hint import HintConfig, HintSession, hint
from assistant.modes.hint.diff import check_leak
from assistant.problems.model import Problem
from sandbox import TestCase

GCD = Problem(id="gcd", kind="function", statement="Return the greatest common divisor of a and b.",
              entry_point="gcd",
              visible_tests=[TestCase(name="t1", code="assert gcd(17, 0) == 17"),
                             TestCase(name="t2", code="assert gcd(13, 13) == 13"),
                             TestCase(name="t3", code="assert gcd(37, 600) == 1")])
BUGGY = "def gcd(a, b):\n    if b == 0:\n        return a\n    else:\n        return gcd(a % b, b)\n"
FIX = "def gcd(a, b):\n    if b == 0:\n        return a\n    else:\n        return gcd(b, a % b)\n"
# passes too, but rewrites far more than it must
BIG_FIX = "def gcd(a, b):\n    while b:\n        a, b = b, a % b\n    return a\n"
WRONG = "def gcd(a, b):\n    if b == 0:\n        return a\n    else:\n        return gcd(a // b, b)\n"

NUDGE = "Look at the recursive call at the end of your function: what happens when a and b are equal?"
CONCEPT = "Think about the order of the two values you pass along in the recursive call."
LOCATION = "Line 5 is where it goes wrong: the two arguments of the recursive call are in the wrong order."
PARTIAL = "Line 5 should look like this, fill in the blank: `return gcd(b, ___)`"
LEAKY = "Just write return gcd(b, a % b) on line 5."


def block(code: str) -> str:
    return f"The arguments are swapped.\n```python\n{code}```\n"


def role(req: ModelRequest) -> str:
    if req.kind == "complete":
        if "# The same program with the bug fixed" in req.prompt:
            return "student" if "# Hint:" in req.prompt else "repair"
        return "tutor"
    system = req.messages[0].content
    if "patient programming tutor" in system:
        return "tutor"
    return "student" if "# Hints from your tutor" in req.messages[-1].content else "repair"


def level_of(req: ModelRequest) -> int:
    text = req.messages[-1].content
    return next(n for n in (1, 2, 3, 4) if f"Write hint {n} of 4" in text)


LADDER = {1: NUDGE, 2: CONCEPT, 3: LOCATION, 4: PARTIAL}


def tutor_handler(repairs=None, hints=None):
    """Chat tutor: repairs in order (then the last one again), hints per level (a list = successive drafts)."""
    repairs = list(repairs or [FIX])
    drafts = {level: list(v) if isinstance(v, list) else [v] for level, v in (hints or LADDER).items()}

    def handler(req: ModelRequest) -> str:
        if role(req) == "repair":
            return block(repairs.pop(0) if len(repairs) > 1 else repairs[0])
        queue = drafts[level_of(req)]
        return queue.pop(0) if len(queue) > 1 else queue[0]
    return handler


def student_handler(with_hint: str | None, without_hint: str):
    """Chat student: answers `with_hint` when the prompt carries a hint, `without_hint` otherwise."""
    def handler(req: ModelRequest) -> str:
        return block(with_hint if role(req) == "student" and with_hint else without_hint)
    return handler


def cfg(**kw) -> HintConfig:
    base = dict(max_level=1, k=2, repair_samples=3, repair_rounds=1)
    base.update(kw)
    return HintConfig(**base)


async def test_the_smallest_passing_repair_is_chosen(local_sandbox):
    # round 0: a wrong repair, a big rewrite that passes, and the one-line fix that passes
    tutor = ScriptedModel(handler=tutor_handler([WRONG, BIG_FIX, FIX]))
    events = []
    result = await hint(BUGGY, GCD, tutor, None, local_sandbox, cfg(k=0), on_event=events.append)
    assert result.status == "hinted"
    assert result.check.passed == 1 and {f.name for f in result.check.failing} == {"t2", "t3"}
    failing = next(f for f in result.check.failing if f.name == "t2")
    assert failing.verdict == "RE" and "RecursionError" in failing.error and failing.program_line == 5
    assert result.repair.code == FIX and result.repair.distance == 4 and result.repair.lines == [5]
    rows = {r.id: r for r in result.candidates}
    assert rows["r0"].passed == 1 and rows["r1"].passed == 3 and rows["r1"].distance > rows["r2"].distance
    assert result.repair.node_id == "r2"
    # the engine's events: each candidate created and executed (with its diff), then the choice
    executed = {e.node_id: e.passed for e in events if e.type == "node_executed"}
    assert executed == {"r0": 1, "r1": 3, "r2": 3}
    created = next(e for e in events if e.type == "node_created" and e.node_id == "r2")
    assert "+        return gcd(b, a % b)" in created.node.diff
    chosen = next(e for e in events if e.type == "repair_chosen")
    assert (chosen.node_id, chosen.distance, chosen.passing, chosen.candidates) == ("r2", 4, 2, 3)
    assert [e.type for e in events][-1] == "finished" and events[-1].best_node_id == "r2"
    assert events.index(chosen) < next(i for i, e in enumerate(events) if e.type == "hint_drafted")


async def test_repair_rounds_retry_the_closest_miss_with_its_report(local_sandbox):
    calls = []

    def handler(req):
        if role(req) != "repair":
            return NUDGE
        calls.append(req)
        return block(FIX if len(req.messages) > 2 else WRONG)

    result = await hint(BUGGY, GCD, ScriptedModel(handler=handler), None, local_sandbox,
                        cfg(k=0, repair_samples=2, repair_branching=1))
    assert result.repair is not None and result.repair.code == FIX
    retry = next(r for r in calls if len(r.messages) > 2)
    assert "real report" in retry.messages[-1].content and "gcd(a // b, b)" in retry.messages[-2].content
    assert "expected" in retry.messages[-1].content or "error" in retry.messages[-1].content


async def test_unneeded_hunks_of_a_repair_are_reverted(local_sandbox):
    padded = FIX.replace("def gcd(a, b):\n", "def gcd(a, b):\n    steps = 0\n")
    tutor = ScriptedModel(handler=tutor_handler([padded]))
    result = await hint(BUGGY, GCD, tutor, None, local_sandbox, cfg(k=0, repair_samples=1))
    assert result.repair.code == FIX
    assert result.repair.minimized_from == "r0" and result.repair.node_id == "r0-min"


async def test_leak_guard_rejects_a_hint_that_quotes_the_fix_and_regenerates(local_sandbox):
    tutor = ScriptedModel(handler=tutor_handler(hints={1: [LEAKY, NUDGE]}))
    events = []
    result = await hint(BUGGY, GCD, tutor, None, local_sandbox, cfg(k=0), on_event=events.append)
    level = result.ladder[0]
    assert level.text == NUDGE and level.source == "tutor" and level.drafts == 2
    assert level.rejected[0].text == LEAKY and "quotes code from the fix" in level.rejected[0].reason
    hint_requests = [r for r in tutor.requests if role(r) == "tutor"]
    assert len(hint_requests) == 2
    assert "rejected because it quotes code from the fix: `" in hint_requests[1].messages[-1].content
    # the tutor saw the verified repair (as a diff) and the failing tests
    assert "+        return gcd(b, a % b)" in hint_requests[0].messages[-1].content
    assert "assert gcd(13, 13) == 13" in hint_requests[0].messages[-1].content
    drafted = [(e.attempt, e.accepted) for e in events if e.type == "hint_drafted"]
    assert drafted == [(1, False), (2, True)]


async def test_a_level_whose_drafts_all_leak_falls_back_to_a_fact_based_hint(local_sandbox):
    tutor = ScriptedModel(handler=tutor_handler(hints={1: LEAKY, 2: LEAKY, 3: LEAKY, 4: "return gcd(b, a % b)"}))
    result = await hint(BUGGY, GCD, tutor, None, local_sandbox, cfg(k=0, max_level=4, retries=1))
    assert [h.drafts for h in result.ladder] == [2, 2, 2, 2]  # bounded: 1 + retries drafts per level
    assert all(h.source == "template" and h.text for h in result.ladder)
    for h in result.ladder[:3]:
        assert check_leak(h.text, BUGGY, FIX).ok, h.text
    assert "line 5" in result.ladder[2].text.lower()
    assert "___" in result.ladder[3].text and "gcd(b, a % b)" not in result.ladder[3].text


async def test_the_ladder_goes_level_by_level_within_the_word_limit(local_sandbox):
    long_hint = "Think about the recursion and what it does with its arguments. " * 30
    tutor = ScriptedModel(handler=tutor_handler(hints={**LADDER, 2: long_hint}))
    session = HintSession(BUGGY, GCD, tutor, None, local_sandbox, cfg(k=0, max_level=4))
    await session.prepare()
    first = await session.next_level()
    assert first.level == 1 and first.text == NUDGE
    levels = [first] + [await session.next_level() for _ in range(3)]
    assert [h.name for h in levels] == ["nudge", "concept", "location", "partial code"]
    assert await session.next_level() is None
    assert all(h.words <= 160 for h in levels) and levels[1].text.endswith(".")
    # each level's prompt carries the hints given so far
    last = [r for r in tutor.requests if role(r) == "tutor"][-1].messages[-1].content
    assert NUDGE in last and LOCATION in last
    result = session.finish()
    assert [h.level for h in result.shown()] == [1, 2, 3, 4]


async def test_validation_keeps_a_hint_that_helps_the_student(local_sandbox):
    tutor = ScriptedModel(handler=tutor_handler())
    student = ScriptedModel(handler=student_handler(with_hint=FIX, without_hint=WRONG), name="student")
    events = []
    result = await hint(BUGGY, GCD, tutor, student, local_sandbox, cfg(k=3), on_event=events.append)
    v = result.ladder[0].validation
    assert (v.k, v.with_hint, v.without_hint, v.kept) == (3, 3, 0, True)
    assert result.without_hint == 0 and result.status == "hinted" and result.student_model == "student"
    student_prompts = [r.messages[-1].content for r in student.requests if role(r) == "student"]
    assert len(student_prompts) == 3 and all(NUDGE in p for p in student_prompts)
    assert len(student.requests) == 6  # k with the hint, k without
    # the same seeds with and without the hint: the conditions differ only by the hint
    with_seeds = sorted(r.options.seed for r in student.requests if role(r) == "student")
    without_seeds = sorted(r.options.seed for r in student.requests if role(r) != "student")
    assert with_seeds == without_seeds
    attempts = [e for e in events if e.type == "student_attempt"]
    assert sum(e.passed for e in attempts if e.level == 1) == 3 and not any(e.passed for e in attempts if e.level is None)
    assert any(e.type == "hint_validated" and e.kept for e in events)


async def test_validation_drops_a_hint_that_does_not_help(local_sandbox):
    tutor = ScriptedModel(handler=tutor_handler())
    # the student fixes it alone, but the hint leads it astray
    student = ScriptedModel(handler=student_handler(with_hint=WRONG, without_hint=FIX))
    result = await hint(BUGGY, GCD, tutor, student, local_sandbox, cfg(k=2))
    v = result.ladder[0].validation
    assert (v.with_hint, v.without_hint, v.kept) == (0, 2, False)
    assert result.status == "no_hint" and result.shown() == []
    assert any("without any hint in 2/2" in n for n in result.notices)


async def test_a_completion_only_tutor_and_student_get_completion_prompts(local_sandbox):
    body = "    if b == 0:\n        return a\n    else:\n        return gcd(b, a % b)\n"

    def tutor(req):
        assert req.kind == "complete"
        if role(req) == "repair":
            # the prompt shows the buggy program and ends where the fixed function's body starts
            assert BUGGY.strip() in req.prompt and req.prompt.endswith("def gcd(a, b):\n")
            return body + "\n\nassert gcd(1, 1) == 1\n"  # a base model rambles on: cut off
        assert req.prompt.rstrip().endswith("# Hint 1 (nudge, where to look):")
        return " Check the recursive call\n# for equal inputs.\n# Hint 2 (concept): more"

    def student(req):
        if role(req) == "student":
            assert "# Hint: Check the recursive call for equal inputs." in req.prompt
            return body
        return "    return a\n"

    t = ScriptedModel(handler=tutor, can_chat=False)
    s = ScriptedModel(handler=student, can_chat=False, name="base-student")
    result = await hint(BUGGY, GCD, t, s, local_sandbox, cfg(k=2))
    assert result.tutor_can_chat is False and result.repair.code == FIX
    assert result.ladder[0].text == "Check the recursive call for equal inputs."
    assert result.ladder[0].validation.kept and result.ladder[0].validation.with_hint == 2


async def test_a_correct_program_is_said_so_and_costs_no_model_call(local_sandbox):
    tutor = ScriptedModel(handler=tutor_handler())
    events = []
    result = await hint(FIX, GCD, tutor, None, local_sandbox, cfg(), on_event=events.append)
    assert result.status == "correct" and result.check.passed == 3 and result.ladder == []
    assert tutor.requests == [] and result.repair is None
    assert events[-1].type == "finished" and "already passes" in events[-1].stop_reason


async def test_a_program_that_does_not_parse_gets_a_syntax_hint_first(local_sandbox):
    broken = BUGGY.replace("    else:\n", "    else\n")
    tutor = ScriptedModel(handler=tutor_handler())
    result = await hint(broken, GCD, tutor, None, local_sandbox, cfg(k=0, max_level=2))
    assert result.check.compile_error and result.check.syntax.line == 4
    first = result.ladder[0]
    assert first.source == "syntax" and "line 4" in first.text and "else" in first.text
    assert result.repair is not None and result.repair.code == FIX  # the repair fixes the syntax (and the bug)
    assert result.ladder[1].text == CONCEPT


async def test_no_tests_is_refused_before_any_model_call(local_sandbox):
    tutor = ScriptedModel(handler=tutor_handler())
    bare = Problem(id="bare", kind="function", statement="Return gcd.", source="bare.md",
                   hidden_tests=[TestCase(name="h1", code="assert gcd(2, 4) == 2")])
    with pytest.raises(UserError, match="a hint needs a check") as info:
        await hint(BUGGY, bare, tutor, None, local_sandbox, cfg())
    assert "hidden tests are for scoring only" in str(info.value) and str(info.value).startswith("bare.md:")
    assert tutor.requests == []


async def test_without_a_repair_hints_rest_on_the_failing_tests(local_sandbox):
    tutor = ScriptedModel(handler=tutor_handler([WRONG]))
    result = await hint(BUGGY, GCD, tutor, None, local_sandbox, cfg(k=0, max_level=4, repair_rounds=0))
    assert result.repair is None and "no candidate passes every test" in result.repair_stop_reason
    assert any("no repair passing every test" in n for n in result.notices)
    assert result.ladder[0].text == NUDGE
    assert result.ladder[3].text == ""  # no partial code without a verified repair
    prompt = [r for r in tutor.requests if role(r) == "tutor"][0].messages[-1].content
    assert "No verified repair is known" in prompt


async def test_stdio_programs_are_hinted_too(local_sandbox):
    problem = Problem(id="sum", kind="stdio", statement="Print the sum of the numbers on the line.",
                      visible_tests=[TestCase(name="s1", input="1 2 3\n", output="6\n"),
                                     TestCase(name="s2", input="5\n", output="5\n")])
    buggy = "nums = list(map(int, input().split()))\nprint(sum(nums[1:]))\n"
    fixed = "nums = list(map(int, input().split()))\nprint(sum(nums))\n"
    result = await hint(buggy, problem, ScriptedModel(handler=tutor_handler([fixed])), None, local_sandbox, cfg(k=0))
    assert result.check.passed == 0
    f = result.check.failing[0]
    assert f.test == "1 2 3" and f.expected.strip() == "6" and f.actual.strip() == "5"
    assert result.repair.code == fixed and result.repair.lines == [2]


async def test_a_hint_about_nothing_is_rejected(local_sandbox):
    babble = "If the student is a student, then the student is not a student."
    tutor = ScriptedModel(handler=tutor_handler(hints={1: [babble, NUDGE]}))
    result = await hint(BUGGY, GCD, tutor, None, local_sandbox, cfg(k=0))
    assert result.ladder[0].text == NUDGE
    assert result.ladder[0].rejected[0].reason == "it does not refer to the program, the tests or a programming idea"


def test_completion_prefix_keeps_the_signature_and_docstring_and_replies_get_missing_parts_back():
    from assistant.modes.hint.repair import completion_prefix, restore_missing

    program = ('from typing import List\n\n\ndef helper(x):\n    return x\n\n\n'
               'def strlen(string: str) -> int:\n    """ Return length of given string """\n'
               '    return len(string) - 1\n\n\ndef later(y):\n    return y\n')
    problem = Problem(id="s", kind="function", entry_point="strlen")
    prefix = completion_prefix(problem, program)
    assert prefix.endswith('def strlen(string: str) -> int:\n    """ Return length of given string """\n')
    assert "def helper" in prefix and "def later" not in prefix
    # a reply with only the fixed function gets the import and the other functions back
    reply = 'def strlen(string: str) -> int:\n    return len(string)\n'
    restored = restore_missing(program, reply)
    assert restored.startswith("from typing import List\n") and "def helper(x)" in restored
    assert "def later(y)" in restored and "return len(string)\n" in restored and "- 1" not in restored
    assert completion_prefix(Problem(id="x", kind="stdio"), "print(1)\n") == ""


async def test_hints_that_repeat_themselves_or_an_earlier_level_are_rejected(local_sandbox):
    stutter = "Look at the call. " * 8
    near_copy = NUDGE.replace("Look at", "Have a look at")
    tutor = ScriptedModel(handler=tutor_handler(hints={1: [stutter, NUDGE], 2: [near_copy, CONCEPT]}))
    result = await hint(BUGGY, GCD, tutor, None, local_sandbox, cfg(k=0, max_level=2))
    assert [h.text for h in result.ladder] == [NUDGE, CONCEPT]
    assert result.ladder[0].rejected[0].reason == "it repeats itself"
    assert result.ladder[1].rejected[0].reason == "it repeats hint 1"
