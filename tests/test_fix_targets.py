"""What `orps fix` tries to fix: exactly the selected tests (plus collection errors of the selected
files); a directory that fails to collect elsewhere is reported once and never scored against a patch.
Runs on the `shellfix` fixture repository (a rule-based CLI tool) in the local sandbox."""

from __future__ import annotations

import asyncio
import json

import pytest

from assistant.models.scripted import ScriptedModel
from assistant.modes.fix import FixConfig, prepared, result_json, run_fix
from assistant.modes.fix.pytest_run import TestRun, in_selection, keyword_matches
from assistant.modes.fix.run import split_targets
from assistant.modes.fix.workspace import materialize
from sandbox import SandboxSettings

from .conftest import fix_repo_files

PUSH_TESTS = ["tests/rules/test_git_push.py::test_get_new_command[git push-git push --set-upstream origin feature]",
              "tests/rules/test_git_push.py::test_get_new_command[git push -v-git push --set-upstream origin feature -v]"]
TRUE_FIX = ("The suggestion keeps only the remote.\nshellfix/rules/git_push.py\n<<<<<<< SEARCH\n"
            "    return suggestion.split()[0]\n=======\n    return \" \".join(suggestion.split()[:2])\n"
            ">>>>>>> REPLACE\n")


def critic(req) -> str:
    ok = "Regressions: none" in req.messages[-1].content
    return json.dumps({"analysis": "keeps remote and branch" if ok else "no", "suggestion": "", "score": 5 if ok else 1,
                       "done": ok})


def model():
    return ScriptedModel(handler=lambda req: critic(req) if "strict reviewer" in req.messages[0].content else TRUE_FIX)


@pytest.fixture()
def repo(tmp_path):
    return materialize(fix_repo_files("shellfix"), tmp_path / "shellfix")


def run(repo, tests=None, keyword=None, events=None):
    config = FixConfig(initial=1, rounds=0, max_calls=3)
    with prepared(repo, SandboxSettings(pool_size=2), "local") as prep:
        return asyncio.run(run_fix(prep, model(), config, tests=tests, keyword=keyword,
                                   on_event=events.append if events is not None else None))


@pytest.mark.parametrize("selection", [{"keyword": "get_new_command"}, {"tests": ["tests/rules/test_git_push.py"]},
                                       {}])
def test_a_broken_directory_elsewhere_is_reported_once_and_the_true_fix_wins(repo, selection):
    events = []
    result = run(repo, events=events, **selection)
    assert [t.id for t in result.targets] == PUSH_TESTS
    assert [t.id for t in result.suite_errors] == ["tests/functional"]
    warned = [e.message for e in events if e.type == "notice" and "tests/functional" in e.message]
    assert len(warned) == 1 and "No module named 'pexpect'" in warned[0] and "not a target" in warned[0]
    assert result.status == "fixed"
    best = result.reports[result.best_node_id]
    assert best.targets_fixed == PUSH_TESTS and best.error is None and best.regressions == []
    doc = result_json(result)
    assert doc["suite_errors"] == [{"id": "tests/functional", "message": "ModuleNotFoundError: No module named 'pexpect'"}]


def test_a_selection_that_passes_says_so_and_still_reports_the_broken_directory(repo):
    events = []
    result = run(repo, keyword="checkout", events=events)
    assert result.status == "all_pass" and result.targets == []
    assert any("tests/functional" in e.message for e in events if e.type == "notice")
    assert any("tests/functional" in n for n in result.notices)


def ce(tid: str) -> TestRun:
    return TestRun(id=tid, outcome="collection_error")


def failed(tid: str) -> TestRun:
    return TestRun(id=tid, outcome="failed")


def test_collection_errors_are_targets_only_for_the_selected_files():
    failing = [failed("tests/rules/test_a.py::test_x"), ce("tests/rules/test_b.py"), ce("tests/functional"),
               ce("tests/other/test_c.py")]
    targets, outside = split_targets(failing, ["tests/rules/test_b.py::test_y", "tests/rules/test_a.py"], None)
    assert [t.id for t in targets] == ["tests/rules/test_a.py::test_x", "tests/rules/test_b.py"]
    assert [t.id for t in outside] == ["tests/functional", "tests/other/test_c.py"]
    # -k: a collection error is matched on its path's names
    targets, outside = split_targets(failing, [], "test_b or test_x")
    assert [t.id for t in targets] == ["tests/rules/test_a.py::test_x", "tests/rules/test_b.py"]
    # nothing selected: modules that fail to import are targets, broken directories are suite-level ...
    targets, outside = split_targets(failing, [], None)
    assert [t.id for t in outside] == ["tests/functional"]
    # ... unless a selection names them, or they are all that fails
    assert [t.id for t in split_targets([ce("tests/functional")], ["tests/functional"], None)[0]] == ["tests/functional"]
    assert [t.id for t in split_targets([ce("tests/functional")], [], None)[0]] == ["tests/functional"]
    assert split_targets([ce("tests/functional")], [], "push") == ([], [ce("tests/functional")])


def test_keyword_expressions_follow_pytests_grammar():
    names = ["tests", "rules", "test_git_push.py"]
    assert keyword_matches("git_push", names) and keyword_matches("GIT_PUSH", names)
    assert keyword_matches("(push or pull) and not functional", names)
    assert not keyword_matches("push and not rules", names)
    assert keyword_matches("", names)
    with pytest.raises(ValueError):
        keyword_matches("push and (rules", names)
    assert in_selection("tests", ["tests/rules/test_a.py::test_x"], None)        # a directory holding the selection
    assert not in_selection("tests/functional", ["tests/rules/test_a.py::test_x"], None)


def test_a_keyword_naming_only_a_broken_directory_makes_it_the_target():
    targets, outside = split_targets([ce("tests/functional"), ce("tests/other")], [], "functional")
    assert [t.id for t in targets] == ["tests/functional"] and [t.id for t in outside] == ["tests/other"]
