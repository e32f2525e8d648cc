"""orps fix in Docker: an image with the repository's dependencies (built once, cached by their hash),
tests run there without network; a failing dependency install shows pip's own error."""

from __future__ import annotations

import asyncio
import json

import pytest

from assistant.errors import UserError
from assistant.models.scripted import ScriptedModel
from assistant.modes.fix import FixConfig, prepared, run_fix
from assistant.modes.fix.environment import ensure_image
from assistant.modes.fix.pytest_run import PytestOptions
from assistant.modes.fix.workspace import materialize, snapshot
from sandbox import SandboxSettings

from .conftest import docker_ready, fix_repo_files

pytestmark = [pytest.mark.docker, pytest.mark.slow,
              pytest.mark.skipif(bool(docker_ready()), reason=str(docker_ready()))]

LIB = "import iniconfig\n\n\ndef parse(text):\n    return len(text)\n"
TESTS = '''import os

from lib import parse


def test_parse():
    assert parse("abc") == 3


def test_no_network():
    assert sorted(os.listdir("/sys/class/net")) == ["lo"]


def test_dependency_installed():
    import iniconfig
    assert iniconfig.IniConfig
'''
FIX = "Off by one.\nlib.py\n<<<<<<< SEARCH\n    return len(text) + 1\n=======\n    return len(text)\n>>>>>>> REPLACE\n"


def test_fix_runs_in_an_image_with_the_repos_dependencies_and_no_network(tmp_path):
    # the buggy version: parse is off by one the other way
    repo = materialize({"lib.py": LIB.replace("len(text)", "len(text) + 1"),
                        "test_lib.py": TESTS, "requirements.txt": "iniconfig\n-e .\n"}, tmp_path / "repo")
    model = ScriptedModel(handler=lambda req: json.dumps({"analysis": "ok", "suggestion": "", "score": 5, "done": True})
                          if "strict reviewer" in req.messages[0].content else FIX)
    config = FixConfig(initial=1, rounds=0, max_calls=2, pytest=PytestOptions(per_test_timeout=10))
    with prepared(repo, SandboxSettings(pool_size=1), "docker") as prep:
        assert prep.env.backend == "docker" and prep.env.image.startswith("orps-fix-env:")
        assert "requirements.txt" in prep.env.description
        result = asyncio.run(run_fix(prep, model, config))
    assert [t.id for t in result.targets] == ["test_lib.py::test_parse"]  # the others pass: deps in, no network
    assert result.status == "fixed" and result.environment["image"] == prep.env.image
    # same dependency files, same image: cached
    snap = snapshot(repo)
    try:
        tag, cached, _ = ensure_image(snap, SandboxSettings().image)
    finally:
        snap.cleanup()
    assert tag == prep.env.image and cached


def test_a_failing_dependency_install_shows_pips_error(tmp_path):
    repo = materialize({"lib.py": LIB, "test_lib.py": TESTS, "requirements.txt": "iniconfig (>=1\n"}, tmp_path / "bad")
    with pytest.raises(UserError) as err:
        with prepared(repo, SandboxSettings(pool_size=1), "docker"):
            pass
    text = str(err.value)
    assert "installing the test dependencies (requirements.txt) failed" in text
    assert "Invalid requirement" in text and "\n" not in text


TABLE_FIX = ("Pad by the visible width.\ntermtable/table.py\n<<<<<<< SEARCH\n"
             "    return cell + \" \" * (width - len(cell))\n=======\n"
             "    return cell + \" \" * (width - len(visible(cell)))\n>>>>>>> REPLACE\n")


def test_setup_py_dependencies_and_its_pytest_pin_are_installed(tmp_path):
    # termtable declares colorama and its pytest pin in setup.py only; its setup.cfg holds [bdist_wheel]
    repo = materialize(fix_repo_files("termtable"), tmp_path / "termtable")
    model = ScriptedModel(handler=lambda req: json.dumps({"analysis": "ok", "suggestion": "", "score": 5, "done": True})
                          if "strict reviewer" in req.messages[0].content else TABLE_FIX)
    config = FixConfig(initial=1, rounds=0, max_calls=2, pytest=PytestOptions(per_test_timeout=10))
    with prepared(repo, SandboxSettings(pool_size=1), "docker") as prep:
        assert prep.env.pytest_version == "8.3.5"           # the project's pin, not the latest release
        assert "pytest 8.3.5" in prep.env.description and "setup.py" in prep.env.description
        assert prep.env.notes == []
        result = asyncio.run(run_fix(prep, model, config))
    # colorama imports: only the two padding bugs fail
    assert sorted(t.id for t in result.targets) == ["tests/test_table.py::test_pad_counts_visible_characters_only",
                                                    "tests/test_table.py::test_render_highlighted_header_stays_aligned"]
    assert result.status == "fixed" and result.environment["pytest"] == "8.3.5"


def test_a_setup_py_the_build_backend_cannot_run_is_a_visible_notice(tmp_path):
    files = fix_repo_files("termtable", {"setup.py": "raise SystemExit('this setup.py needs a private build helper')\n"})
    repo = materialize(files, tmp_path / "broken-setup")
    model = ScriptedModel(handler=lambda req: "I cannot tell.")
    config = FixConfig(initial=1, rounds=0, max_calls=1, edit_retries=0)
    with prepared(repo, SandboxSettings(pool_size=1), "docker") as prep:
        [note] = prep.env.notes
        assert note.startswith("setup.py: the build backend could not be asked for the project's dependencies")
        assert "this setup.py needs a private build helper" in note
        result = asyncio.run(run_fix(prep, model, config))
    assert note in result.notices
    # without colorama the test module cannot import: that is what there is to fix
    assert [(t.id, t.outcome) for t in result.targets] == [("tests/test_table.py", "collection_error")]
