"""The patch search on small repositories, with scripted models, on the local sandbox (real pytest runs)."""

from __future__ import annotations

import asyncio
import json

import pytest

from assistant.errors import UserError
from assistant.models.scripted import ScriptedModel
from assistant.modes.fix import FixConfig, prepared, result_json, run_fix
from assistant.modes.fix.pytest_run import PytestOptions
from assistant.modes.fix.search import fix_strategy
from assistant.modes.fix.workspace import materialize
from sandbox import SandboxSettings

STATS = '''def mean(xs):
    return sum(xs) / (len(xs) + 1)


def spread(xs):
    return max(xs) - min(xs)
'''
TESTS = '''from stats import mean, spread


def test_mean():
    assert mean([2, 4]) == 3


def test_mean_one():
    assert mean([5]) == 5


def test_spread():
    assert spread([1, 5, 3]) == 4
'''


def sr(search, replace, path="stats.py"):
    return f"Cause: the divisor.\n{path}\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


TRUE_FIX = sr("    return sum(xs) / (len(xs) + 1)\n", "    return sum(xs) / len(xs)\n")
BIG_FIX = sr("    return sum(xs) / (len(xs) + 1)\n",
             "    total = 0\n    for x in xs:\n        total += x\n    return total / len(xs)\n")
REGRESSES = ("Rewrite both.\n```python\ndef mean(xs):\n    return sum(xs) / len(xs)\n\n\n"
             "def spread(xs):\n    return 0\n```\n")
PARTIAL = sr("    return sum(xs) / (len(xs) + 1)\n", "    return 3\n")
INVALID = sr("    return sum(xs) / len(xs) + 1\n", "    return 0\n")


def critic(req) -> str:
    report = req.messages[-1].content
    ok = "Target tests: 2/2 now pass" in report and "Regressions: none" in report
    return json.dumps({"analysis": "fixes the divisor" if ok else "incomplete", "complexity": "none",
                       "suggestion": "" if ok else "divide by len(xs)", "score": 5 if ok else 2, "done": ok})


def is_critic(req) -> bool:
    return req.kind == "chat" and "strict reviewer of bug fixes" in req.messages[0].content


def by_strategy(replies: dict[int, str], retry: str | None = None):
    """A handler answering each round-0 prompt by its strategy hint; corrected edits get `retry`."""
    def handler(req):
        if is_critic(req):
            return critic(req)
        last = req.messages[-1].content
        if "could not be applied" in last:
            return retry or TRUE_FIX
        for i, reply in replies.items():
            if f"For this attempt: {fix_strategy(i)}" in last:
                return reply
        return TRUE_FIX
    return handler


@pytest.fixture()
def repo(tmp_path):
    return materialize({"stats.py": STATS, "test_stats.py": TESTS}, tmp_path / "repo")


def run(repo, model, tests=None, keyword=None, **cfg):
    config = FixConfig(**{"initial": 4, "rounds": 0, "max_calls": 12, "parallel": 2,
                          "pytest": PytestOptions(per_test_timeout=5), **cfg})
    with prepared(repo, SandboxSettings(pool_size=2), "local") as prep:
        return asyncio.run(run_fix(prep, model, config, tests=tests, keyword=keyword))


def test_the_true_fix_ranks_first_among_decoys_and_the_repo_is_untouched(repo):
    before = (repo / "stats.py").read_text()
    model = ScriptedModel(handler=by_strategy({0: BIG_FIX, 1: REGRESSES, 2: TRUE_FIX, 3: PARTIAL}))
    result = run(repo, model)
    assert [t.id for t in result.targets] == ["test_stats.py::test_mean", "test_stats.py::test_mean_one"]
    assert result.status == "fixed"
    best = result.patches[result.best_node_id]
    assert "+    return sum(xs) / len(xs)\n" in best.diff and best.size == 2
    rows = result_json(result)["candidates"]
    # the order: both targets and no regression, smallest diff first; then the one that broke spread;
    # then the partial fix
    assert [r["targets_fixed"] for r in rows] == [2, 2, 2, 1]
    assert rows[0]["regressions"] == [] and rows[1]["regressions"] == []
    assert rows[1]["diff_lines"] > rows[0]["diff_lines"]
    assert rows[2]["regressions"] == ["test_stats.py::test_spread"]
    assert rows[3]["still_failing"] == ["test_stats.py::test_mean_one"] and rows[3]["regressions"] == []
    assert rows[0]["critic_score"] == 5 and rows[0]["suite_passed"] == 3 and rows[0]["critique"] == "fixes the divisor"
    assert (repo / "stats.py").read_text() == before


def test_an_invalid_edit_goes_back_to_the_model_and_is_not_run(repo):
    model = ScriptedModel(handler=by_strategy({0: INVALID}))
    result = run(repo, model, initial=1, max_calls=4)
    invalid = [n for n in result.nodes if n.status == "invalid"]
    assert len(invalid) == 1 and "does not occur in stats.py" in invalid[0].invalid_reason
    assert invalid[0].id not in result.reports                      # never executed
    retry_req = next(r for r in model.requests if not is_critic(r) and "could not be applied" in r.messages[-1].content)
    assert "does not occur in stats.py" in retry_req.messages[-1].content
    assert retry_req.messages[-2].content == INVALID                 # the model sees its own reply
    corrected = result.node(result.best_node_id)
    assert corrected.parent_id == invalid[0].id and result.status == "fixed"


def test_duplicate_patches_run_once(repo):
    model = ScriptedModel(handler=by_strategy({0: TRUE_FIX, 1: "```python\ndef mean(xs):\n    return sum(xs) / len(xs)\n```"}))
    result = run(repo, model, initial=2, max_calls=4)
    dup = [n for n in result.nodes if n.status == "duplicate"]
    assert len(dup) == 1 and dup[0].duplicate_of == result.best_node_id and len(result.reports) == 1


def test_refinement_reads_the_real_failures_of_its_parent(repo):
    def handler(req):
        if is_critic(req):
            return critic(req)
        return TRUE_FIX if "Your change was applied" in req.messages[-1].content else PARTIAL
    model = ScriptedModel(handler=handler)
    result = run(repo, model, initial=1, rounds=1, beam=1, branching=1, max_calls=6)
    refine = next(r for r in model.requests if not is_critic(r) and "Your change was applied" in r.messages[-1].content)
    text = refine.messages[-1].content
    assert "Target tests: 1/2 now pass" in text and "assert 3 == 5" in text and "divide by len(xs)" in text
    best = result.node(result.best_node_id)
    assert best.parent_id is not None and result.status == "fixed"


@pytest.mark.slow
def test_selected_tests_only_are_targets(repo):
    model = ScriptedModel(handler=by_strategy({}))
    result = run(repo, model, tests=["test_stats.py::test_mean_one"], initial=1, max_calls=2)
    assert [t.id for t in result.targets] == ["test_stats.py::test_mean_one"]
    result = run(repo, model, keyword="mean and not one", initial=1, max_calls=2)
    assert [t.id for t in result.targets] == ["test_stats.py::test_mean"]


def test_all_tests_passing_means_nothing_to_fix(tmp_path):
    repo = materialize({"ok.py": "X = 1\n", "test_ok.py": "from ok import X\n\ndef test_x():\n    assert X == 1\n"},
                       tmp_path / "r")
    model = ScriptedModel(responses=[])
    result = run(repo, model)
    assert result.status == "all_pass" and "all 1 tests pass already" in result.stop_reason
    assert model.requests == []


def test_no_tests_is_a_clear_error(tmp_path):
    repo = materialize({"lib.py": "def f():\n    return 1\n"}, tmp_path / "r")
    with pytest.raises(UserError, match="no tests found"):
        run(repo, ScriptedModel(responses=[]))


def test_a_module_that_fails_to_import_is_the_thing_to_fix(tmp_path):
    repo = materialize({"shapes.py": "def square(x):\n    return x * x\n",
                        "test_shapes.py": "from shapes import cube\n\ndef test_cube():\n    assert cube(2) == 8\n"},
                       tmp_path / "r")
    fix = ("```python\nshapes.py\n```\nAdd cube:\nshapes.py\n<<<<<<< SEARCH\ndef square(x):\n    return x * x\n"
           "=======\ndef square(x):\n    return x * x\n\n\ndef cube(x):\n    return x ** 3\n>>>>>>> REPLACE\n")
    result = run(repo, ScriptedModel(handler=lambda req: critic(req) if is_critic(req) else fix),
                 initial=1, max_calls=2)
    [target] = result.targets
    assert target.id == "test_shapes.py" and target.outcome == "collection_error"
    rep = result.reports[result.best_node_id]
    assert rep.targets_fixed == ["test_shapes.py"] and rep.suite_passed == 1 and result.status == "fixed"


def test_a_hanging_test_times_out_and_a_fix_is_found(tmp_path):
    repo = materialize({"count.py": "def count_down(n):\n    while n != 0:\n        n -= 2\n    return n\n",
                        "test_count.py": "from count import count_down\n\ndef test_odd():\n    assert count_down(3) == 0\n"
                                         "\n\ndef test_even():\n    assert count_down(2) == 0\n"},
                       tmp_path / "r")
    fix = sr("    while n != 0:\n        n -= 2\n    return n\n", "    return 0\n", path="count.py")
    result = run(repo, ScriptedModel(handler=lambda req: critic(req) if is_critic(req) else fix),
                 initial=1, max_calls=2, pytest=PytestOptions(per_test_timeout=2))
    [target] = result.targets
    assert target.timeout and target.id == "test_count.py::test_odd"
    assert result.status == "fixed"


def test_a_completion_only_model_rewrites_the_suspect_function(repo):
    def handler(req):
        assert req.kind == "complete" and req.prompt.endswith("def mean(xs):\n")
        assert "assert mean([2, 4]) == 3" in req.prompt
        if "# Fixed version of the same function" in req.prompt:  # after the buggy body
            assert "return sum(xs) / (len(xs) + 1)" in req.prompt
            return "    return sum(xs) / len(xs)\n\n\ndef unrelated():\n    pass\n"
        assert "(len(xs) + 1)" not in req.prompt  # the other kind: signature and tests only
        return "    return sum(xs) / (len(xs) + 1)\n"
    model = ScriptedModel(handler=handler, can_chat=False)
    result = run(repo, model, max_calls=4)
    assert result.status == "fixed" and not result.can_chat
    assert result.patches[result.best_node_id].size == 2
    assert len(model.requests) == 2  # one wave of `parallel` samples, then it stops: fixed
    assert [n.invalid_reason for n in result.nodes if n.status == "invalid"] == ["the edit changes nothing"]
    assert all(n.critique is None for n in result.nodes)


@pytest.mark.slow
def test_a_recorded_run_replays_to_the_same_ranking(repo, tmp_path):
    from assistant.models.replay import ReplayModel
    trace = tmp_path / "fix.jsonl"
    model = ScriptedModel(handler=by_strategy({0: BIG_FIX, 1: REGRESSES, 2: TRUE_FIX, 3: PARTIAL}))
    config = FixConfig(initial=4, rounds=0, max_calls=12, pytest=PytestOptions(per_test_timeout=5))
    with prepared(repo, SandboxSettings(pool_size=2), "local") as prep:
        first = asyncio.run(run_fix(prep, model, config, trace=trace))
        again = asyncio.run(run_fix(prep, ReplayModel(trace), config))
    assert again.ranking == first.ranking and again.model.startswith("replay:")
    assert [again.patches[i].diff for i in again.ranking] == [first.patches[i].diff for i in first.ranking]


def test_among_patches_that_fix_nothing_the_one_in_suspect_code_ranks_first(repo):
    unrelated = sr("    return max(xs) - min(xs)\n", "    return max(xs) - min(xs)  # width\n")          # 2 lines
    in_suspect = sr("    return sum(xs) / (len(xs) + 1)\n", "    n = len(xs) + 2\n    return sum(xs) / n\n")  # 3 lines
    model = ScriptedModel(handler=by_strategy({0: unrelated, 1: in_suspect}))
    result = run(repo, model, initial=2, max_calls=4)
    rows = result_json(result)["candidates"]
    assert [r["targets_fixed"] for r in rows] == [0, 0]
    assert rows[0]["diff_lines"] == 3 and "n = len(xs) + 2" in rows[0]["diff"]


def test_a_completion_only_model_reaches_a_decorated_helper_in_the_right_rule_module(tmp_path):
    from .conftest import fix_repo_files

    repo = materialize(fix_repo_files("shellfix"), tmp_path / "shellfix")
    prompts = []

    def handler(req):
        prompts.append(req.prompt)
        if req.prompt.endswith("@memoize\ndef upstream_args(output):\n"
                               '    """The remote and branch git suggests, e.g. "origin feature"."""\n'):
            return '    suggestion = output.split("git push --set-upstream ")[1]\n' \
                   '    return " ".join(suggestion.split()[:2])\n\n\ndef get_new_command(command):\n'
        return "    pass\n"
    result = run(repo, ScriptedModel(handler=handler, can_chat=False), keyword="git_push", max_calls=6,
                 completion_targets=3)
    assert result.status == "fixed"
    assert any("def upstream_args" in p for p in prompts)
    assert not any("shellfix/rules/git_checkout.py" in p or "shellfix/rules/sudo.py" in p for p in prompts)
    best = result.patches[result.best_node_id]
    assert best.files == ["shellfix/rules/git_push.py"] and best.size == 2
    new = best.changes["shellfix/rules/git_push.py"][1]
    assert new.count("@memoize\ndef upstream_args(output):") == 1
