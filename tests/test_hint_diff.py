"""Hint mode building blocks: token edit distance, changed lines, the leak guard, word limits."""

from __future__ import annotations

from assistant.modes.hint.diff import (changes, check_leak, hunk_count, limit_words, masked_fragment, novel_grams,
                                       reveals_whole_fix, revert_hunks, token_distance, word_count)
from assistant.modes.hint.ladder import clean_chat_hint, clean_completion_hint, edit_kind, template_hint
from assistant.modes.hint.check import FailingTest, ProgramCheck
from assistant.problems.model import Problem

BUGGY = "def gcd(a, b):\n    if b == 0:\n        return a\n    else:\n        return gcd(a % b, b)\n"
FIX = "def gcd(a, b):\n    if b == 0:\n        return a\n    else:\n        return gcd(b, a % b)\n"
SEARCH = "def find(xs, x):\n    lo, hi = 0, len(xs) - 1\n    while lo < hi:\n        lo += 1\n    return lo\n"


def test_token_distance_counts_changed_tokens_not_characters():
    assert token_distance(BUGGY, BUGGY) == 0
    assert token_distance(SEARCH, SEARCH.replace("lo < hi", "lo <= hi")) == 1
    assert token_distance(BUGGY, FIX) == 4  # gcd(a % b, b) -> gcd(b, a % b)
    # comments and blank lines are not edits
    assert token_distance(BUGGY, BUGGY.replace("if b == 0:", "if b == 0:  # base case") + "\n\n") == 0
    # a whole new line is every one of its tokens (plus its newline)
    assert token_distance(SEARCH, SEARCH.replace("    return lo\n", "    x = 1\n    return lo\n")) == 4


def test_changes_report_the_lines_of_the_student_program():
    ch = changes(BUGGY, FIX)
    assert ch.buggy_lines == [5] and ch.repair_lines == [5] and ch.lines_touched == [5]
    inserted = changes(SEARCH, SEARCH.replace("    return lo\n", "    lo -= 1\n    return lo\n"))
    assert inserted.buggy_lines == [] and inserted.insert_after == [4] and inserted.lines_touched == [4]


def test_leak_guard_flags_code_only_the_repair_has():
    assert novel_grams(BUGGY, FIX) >= {("gcd", "(", "b"), ("b", ",", "a")}
    assert check_leak("Look at the recursive call: are its arguments in the right order?", BUGGY, FIX).ok
    leak = check_leak("Change it to return gcd(b, a % b) and it works.", BUGGY, FIX)
    assert not leak.ok and "gcd ( b" in leak.leaked and leak.reason() == "it quotes code from the fix"
    assert "`( b ,`" in leak.detail()
    # quoting the student's own (buggy) line is allowed: that is what a location hint does
    assert check_leak("Line 5 reads `return gcd(a % b, b)`. Look there.", BUGGY, FIX).ok
    # a code block is never plain language
    assert not check_leak("Try this:\n```python\nx = 1\n```", BUGGY, FIX).ok
    # a one-operator fix: quoting the new comparison is a leak, talking about it is not
    fixed = SEARCH.replace("lo < hi", "lo <= hi")
    assert not check_leak("Use while lo <= hi instead.", SEARCH, fixed).ok
    assert check_leak("Should the loop still run when lo equals hi?", SEARCH, fixed).ok


def test_leak_guard_ignores_code_the_statement_already_shows():
    fixed = SEARCH.replace("    return lo\n", "    return lo - 1\n")
    assert not check_leak("remember to return lo - 1", SEARCH, fixed).ok
    assert check_leak("remember to return lo - 1", SEARCH, fixed, public="The function must return lo - 1 at the end.").ok


def test_partial_code_may_show_part_of_the_fix_never_all_of_it():
    assert reveals_whole_fix("return gcd(b, a % b)", BUGGY, FIX)
    assert not reveals_whole_fix("return gcd(b, ___)", BUGGY, FIX)
    frag = masked_fragment(BUGGY, FIX)
    assert frag.line == 5 and "___" in frag.text and not reveals_whole_fix(frag.text, BUGGY, FIX)
    one = masked_fragment(SEARCH, SEARCH.replace("lo < hi", "lo <= hi"))
    assert one.text == "while lo ___ hi:"


def test_reverting_hunks_rebuilds_either_program():
    repaired = FIX.replace("def gcd(a, b):\n", "def gcd(a, b):\n    unused = 0\n")
    assert hunk_count(BUGGY, repaired) == 2
    assert revert_hunks(BUGGY, repaired, set()) == BUGGY
    assert revert_hunks(BUGGY, repaired, {0, 1}) == repaired
    assert revert_hunks(BUGGY, repaired, {1}) == FIX


def test_word_limit_keeps_whole_sentences():
    text = "One two three. " * 30
    cut = limit_words(text, 20)
    assert word_count(cut) <= 20 and cut.endswith(".")
    assert limit_words("short hint.", 160) == "short hint."
    assert word_count(limit_words("word " * 300, 160)) == 160


def test_hint_text_cleanup():
    assert clean_chat_hint("**Hint 1:** Look at line 5.") == "Look at line 5."
    assert clean_chat_hint('"Look at the loop."') == "Look at the loop."
    assert clean_completion_hint(" Look at the loop\n# bounds carefully.\n# Hint 2: more\nx = 1") == \
        "Look at the loop bounds carefully."


def test_edit_kinds_and_fact_based_hints_never_leak():
    assert edit_kind(BUGGY, FIX) == "order"
    fixed = SEARCH.replace("lo < hi", "lo <= hi")
    assert edit_kind(SEARCH, fixed) == "comparison"
    assert edit_kind(SEARCH, SEARCH.replace("len(xs) - 1", "len(xs)")) in ("detail", "extra", "bound")
    assert edit_kind(SEARCH, SEARCH.replace("    return lo\n", "    lo -= 1\n    return lo\n")) == "missing"
    check = ProgramCheck(passed=1, total=3, failing=[FailingTest(name="t2", verdict="RE", test="assert gcd(13, 13) == 13",
                                                                 error="RecursionError: maximum recursion depth")])
    problem = Problem(id="gcd", kind="function", entry_point="gcd")
    for level in (1, 2, 3):
        text = template_hint(level, problem, BUGGY, check, FIX)
        assert text and check_leak(text, BUGGY, FIX).ok and word_count(text) <= 160
    assert "line 5" in template_hint(3, problem, BUGGY, check, FIX).lower()
    assert "gcd(13, 13)" in template_hint(1, problem, BUGGY, check, FIX)
    four = template_hint(4, problem, BUGGY, check, FIX)
    assert "___" in four and not reveals_whole_fix(four, BUGGY, FIX)
    assert template_hint(3, problem, BUGGY, check, None) is None
