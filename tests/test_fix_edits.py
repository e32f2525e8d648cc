"""Edits for orps fix: search/replace blocks and whole-definition replacements, validated before running."""

from __future__ import annotations

import pytest

from assistant.modes.fix.edits import EditError, EditPolicy, apply_edits, parse_edits
from assistant.modes.fix.workspace import materialize, snapshot

CALC = '''import math


def add(a, b):
    return a - b


class Shape:
    def area(self, r):
        return math.pi * r


def mul(a, b):
    return a * b
'''
TEST = "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"


@pytest.fixture()
def snap(tmp_path):
    repo = materialize({"calc.py": CALC, "test_calc.py": TEST, "README.md": "calc\n"}, tmp_path / "repo")
    s = snapshot(repo)
    yield s
    s.cleanup()


def sr(path, search, replace, prose="The sign is wrong."):
    return f"{prose}\n\n{path}\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


def test_search_replace_block_gives_a_minimal_diff(snap):
    patch = apply_edits(snap, parse_edits(sr("calc.py", "    return a - b\n", "    return a + b\n")))
    assert patch.files == ["calc.py"]
    old, new = patch.changes["calc.py"]
    assert old == CALC and "return a + b" in new and "return a - b" not in new
    assert (patch.added, patch.removed) == (1, 1)
    assert "--- a/calc.py\n+++ b/calc.py\n" in patch.diff and "-    return a - b\n+    return a + b\n" in patch.diff
    assert patch.edit_format == "search_replace"


def test_fenced_blocks_and_trailing_whitespace_still_match(snap):
    reply = "Fix:\n```python\ncalc.py\n<<<<<<< SEARCH\n    return a - b   \n=======\n    return a + b\n>>>>>>> REPLACE\n```\n"
    patch = apply_edits(snap, parse_edits(reply))
    assert "return a + b" in patch.changes["calc.py"][1]


def test_whole_method_replacement_is_reindented_and_keeps_the_rest(snap):
    reply = "The area of a circle is pi r^2.\n```python\ndef area(self, r):\n    return math.pi * r * r\n```\n"
    patch = apply_edits(snap, parse_edits(reply))
    new = patch.changes["calc.py"][1]
    assert "    def area(self, r):\n        return math.pi * r * r\n" in new
    assert new.count("def add") == 1 and "class Shape:" in new and "def mul" in new
    assert patch.edit_format == "definition"


def test_new_helpers_and_imports_come_with_a_replaced_function(snap):
    reply = ("```python\nimport operator\n\n\ndef _plus(a, b):\n    return operator.add(a, b)\n\n\n"
             "def add(a, b):\n    return _plus(a, b)\n```")
    new = apply_edits(snap, parse_edits(reply)).changes["calc.py"][1]
    assert new.startswith("import math\nimport operator\n")
    assert new.index("def _plus") < new.index("def add") and "return _plus(a, b)" in new


@pytest.mark.parametrize("reply, reason", [
    (sr("calc.py", "    return a ** b\n", "    return a + b\n"), "does not occur in calc.py"),
    (sr("calc.py", "(a, b):\n", "(a, b, c=0):\n"), "occurs 2 times"),
    (sr("../outside.py", "x\n", "y\n"), "outside the repository"),
    (sr("nosuch.py", "x\n", "y\n"), "no such file"),
    (sr("test_calc.py", "    assert add(1, 2) == 3\n", "    assert True\n"), "is a test file"),
    (sr("calc.py", "    return a - b\n", "    return (a + b\n"), "does not parse"),
    (sr("calc.py", "    return a - b\n", "    return a - b\n"), "changes nothing"),
    ("I think the bug is in add.", "no edit found"),
    ("```python\ndef subtract(a, b):\n    return a - b\n```", "no definition named subtract"),
])
def test_invalid_edits_are_refused_with_a_reason(snap, reply, reason):
    with pytest.raises(EditError, match=reason):
        apply_edits(snap, parse_edits(reply))


def test_a_test_file_that_fails_to_import_may_be_edited(snap):
    policy = EditPolicy(editable_tests={"test_calc.py"})
    patch = apply_edits(snap, parse_edits(sr("test_calc.py", "from calc import add\n", "from calc import add, mul\n")),
                        policy)
    assert patch.files == ["test_calc.py"]


def test_the_same_result_has_the_same_key_whatever_the_wording(snap):
    a = apply_edits(snap, parse_edits(sr("calc.py", "    return a - b\n", "    return a + b\n")))
    b = apply_edits(snap, parse_edits("```python\ndef add(a, b):\n    return a + b\n```"))
    c = apply_edits(snap, parse_edits(sr("calc.py", "    return a - b\n", "    return b + a\n")))
    assert a.key() == b.key() != c.key()


SHOP = '''import functools


def memoize(fn):
    cache = {}

    @functools.wraps(fn)
    def wrapper(*args):
        if args not in cache:
            cache[args] = fn(*args)
        return cache[args]
    return wrapper


@memoize
def fib(n):
    """The n-th Fibonacci number."""
    if n < 2:
        return 1
    return fib(n - 1) + fib(n - 2)


class Cart:
    def __init__(self):
        self.items = []

    @property
    def total(self):
        return sum(price for price, _ in self.items)

    def add(self, price, qty=1):
        self.items.append((price, qty))


class Invoice:
    def total(self):
        return 0


def make_counter(start):
    def step(n):
        return n + 2

    def counter():
        nonlocal start
        start = step(start)
        return start
    return counter
'''


@pytest.fixture()
def shop(tmp_path):
    repo = materialize({"shop.py": SHOP, "test_shop.py": "from shop import fib\n\n\ndef test_fib():\n"
                        "    assert fib(1) == 1\n"}, tmp_path / "shop")
    s = snapshot(repo)
    yield s
    s.cleanup()


def completion(snap, qualname: str, continuation: str):
    """What a completion-only model's sample becomes: the prompt's prefix + its continuation, as an edit."""
    from assistant.modes.fix.localize import RepoIndex, definitions
    from assistant.modes.fix.search import completion_edit, completion_prompt

    index = RepoIndex(snap)
    target = next(d for d in definitions(SHOP, "shop.py") if d.qualname == qualname)
    prompt, prefix = completion_prompt(index, target, [])
    assert prompt.endswith(prefix)
    return prefix, apply_edits(snap, [completion_edit(target, prefix, continuation)], index=index)


def changed_lines(patch) -> list[str]:
    return [ln for ln in patch.diff.splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]


def test_a_completion_rewrites_a_decorated_function(shop):
    prefix, patch = completion(shop, "fib", "    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n"
                                            "\n\n@memoize\ndef unrelated():\n    pass\n")
    assert prefix.startswith("@memoize\ndef fib(n):\n")          # the decorator is part of the prompt
    assert changed_lines(patch) == ["-        return 1", "+        return n"]


def test_a_completion_rewrites_one_method_of_several_with_its_name(shop):
    # Cart.total is a decorated method and Invoice.total has the same name: the target is exact
    prefix, patch = completion(shop, "Cart.total", "    return sum(price * qty for price, qty in self.items)\n"
                                                   "\ndef add(self):\n")
    assert prefix == "@property\ndef total(self):\n"
    assert changed_lines(patch) == ["-        return sum(price for price, _ in self.items)",
                                    "+        return sum(price * qty for price, qty in self.items)"]


def test_a_completion_rewrites_a_nested_function(shop):
    prefix, patch = completion(shop, "make_counter.step", "    return n + 1\n\ndef counter():\n")
    assert prefix == "def step(n):\n"
    assert changed_lines(patch) == ["-        return n + 2", "+        return n + 1"]


def test_a_decorated_function_given_without_its_decorator_keeps_it(shop):
    reply = "```python\ndef fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n```"
    patch = apply_edits(shop, parse_edits(reply))
    new = patch.changes["shop.py"][1]
    assert "@memoize\ndef fib(n):\n    if n < 2:\n        return n\n" in new and new.count("@memoize") == 1
    assert '"""The n-th Fibonacci number."""' not in new  # the reply's version replaces the body whole


def test_a_method_given_inside_its_class_replaces_only_that_method(shop):
    reply = ("```python\nclass Cart:\n    @property\n    def total(self):\n"
             "        return sum(price * qty for price, qty in self.items)\n```")
    patch = apply_edits(shop, parse_edits(reply))
    assert changed_lines(patch) == ["-        return sum(price for price, _ in self.items)",
                                    "+        return sum(price * qty for price, qty in self.items)"]
    assert patch.changes["shop.py"][1].count("def add(self, price, qty=1):") == 1


def test_a_nested_function_is_replaced_where_it_is(shop):
    patch = apply_edits(shop, parse_edits("```python\ndef step(n):\n    return n + 1\n```"))
    assert changed_lines(patch) == ["-        return n + 2", "+        return n + 1"]


def test_a_name_defined_as_several_methods_asks_for_a_search_replace_block(shop):
    with pytest.raises(EditError, match="defined in several places"):
        apply_edits(shop, parse_edits("```python\ndef total(self):\n    return 1\n```"))


def test_blank_lines_that_open_a_search_or_replace_part_are_kept(snap):
    patch = apply_edits(snap, parse_edits(sr("calc.py", "def add(a, b):\n    return a - b\n",
                                             "\ndef add(a, b):\n    return a + b\n")))
    assert "\n\n\n\ndef add(a, b):\n    return a + b\n" in patch.changes["calc.py"][1]


def test_known_fix_blocks_turn_the_buggy_file_into_the_fixed_one_exactly(snap):
    from assistant.modes.fix.oracle import _applies, _blocks, search_replace

    fixed = CALC.replace("a - b", "a + b")
    assert apply_edits(snap, parse_edits(search_replace("calc.py", CALC, fixed))).changes["calc.py"][1] == fixed
    # repeated lines: one line of context matches two places, so the context grows until it does not
    old, new = "x = 1\ny = 2\nx = 1\ny = 2\n", "x = 1\ny = 2\nx = 1\ny = 3\n"
    assert not _applies(old, new, _blocks("conf.py", old, new, 1))
    current = old
    for e in parse_edits(search_replace("conf.py", old, new)):
        assert current.count(e.search) == 1
        current = current.replace(e.search, e.replace, 1)
    assert current == new
