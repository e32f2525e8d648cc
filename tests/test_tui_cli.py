"""`orps tui` and bare `orps` route to the right TUI job; bad input is one line before any UI."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.modes.fix.workspace import materialize

from .tui_support import RUNNING_MAX, isolated_home  # noqa: F401

pytestmark = pytest.mark.usefixtures("isolated_home")


@pytest.fixture
def calls(monkeypatch):
    import tui.app
    seen = []
    monkeypatch.setattr(tui.app, "run_app", lambda **kw: seen.append(kw))
    return seen


def test_a_problem_opens_solve_with_the_budget_options(calls):
    res = CliRunner().invoke(main, ["tui", RUNNING_MAX, "--budget", "7", "--rounds", "1", "--model", "ollama:x",
                                    "--sandbox", "local"])
    assert res.exit_code == 0, res.output
    kw = calls[0]
    assert kw["mode"] == "solve" and kw["problem"].id == "running-max"
    assert kw["config"].max_calls == 7 and kw["config"].rounds == 1
    assert kw["model_spec"] == "ollama:x" and kw["sandbox_choice"] == "local"


def test_a_repository_opens_fix_mode(calls, tmp_path):
    repo = materialize({"a.py": "X = 1\n", "test_a.py": "from a import X\n\ndef test_x():\n    assert X == 2\n"},
                       tmp_path / "repo")
    res = CliRunner().invoke(main, ["tui", str(repo), "--budget", "5"])
    assert res.exit_code == 0, res.output
    assert calls[0]["mode"] == "fix" and calls[0]["repo"] == repo and calls[0]["config"].max_calls == 5


def test_a_program_opens_hint_mode(calls, tmp_path):
    program = tmp_path / "mine.py"
    program.write_text("def running_max(nums):\n    return nums\n")
    res = CliRunner().invoke(main, ["tui", RUNNING_MAX, "--program", str(program)])
    assert res.exit_code == 0, res.output
    kw = calls[0]
    assert kw["mode"] == "hint" and kw["program"] == program.read_text() and kw["program_name"] == "mine.py"


def test_no_argument_opens_the_start_screen_and_options_need_a_problem(calls):
    assert CliRunner().invoke(main, ["tui", "--no-companion"]).exit_code == 0
    assert calls[0] == {"model_spec": None, "sandbox_choice": None, "original": None, "companion": False}
    res = CliRunner().invoke(main, ["tui", "--budget", "3"])
    assert res.exit_code == 2 and "need a PROBLEM" in res.output


def test_a_missing_problem_is_one_line(calls):
    res = CliRunner().invoke(main, ["tui", "nope/problem.md"])
    assert res.exit_code == 2 and res.output.strip() == "orps: error: nope/problem.md: no such file or directory"
    assert not calls


def test_bare_orps_without_a_terminal_prints_help(calls):
    res = CliRunner().invoke(main, [])
    assert res.exit_code == 0 and "Usage: " in res.output and "tui" in res.output and not calls


def test_solve_with_tui_opens_the_same_job(calls):
    res = CliRunner().invoke(main, ["solve", RUNNING_MAX, "--tui", "--budget", "4", "--sandbox", "local"])
    assert res.exit_code == 0, res.output
    kw = calls[0]
    assert kw["mode"] == "solve" and kw["problem"].id == "running-max" and kw["config"].max_calls == 4


def test_solve_fix_and_hint_open_the_tui_with_tui_flag(calls, tmp_path):
    res = CliRunner().invoke(main, ["solve", RUNNING_MAX, "--tui", "--budget", "3", "--sandbox", "local"])
    assert res.exit_code == 0, res.output
    assert calls[-1]["mode"] == "solve" and calls[-1]["config"].max_calls == 3

    repo = materialize({"a.py": "X = 1\n", "test_a.py": "from a import X\n\ndef test_x():\n    assert X == 2\n"},
                       tmp_path / "repo")
    res = CliRunner().invoke(main, ["fix", str(repo), "--tui", "--budget", "4", "-k", "test_x"])
    assert res.exit_code == 0, res.output
    kw = calls[-1]
    assert kw["mode"] == "fix" and str(kw["repo"]) == str(repo) and kw["keyword"] == "test_x"
    assert kw["config"].max_calls == 4

    program = tmp_path / "prog.py"
    program.write_text("def running_max(nums):\n    return sorted(nums)\n")
    res = CliRunner().invoke(main, ["hint", str(program), "--problem", RUNNING_MAX, "--tui", "--sandbox", "local",
                                    "--k", "2"])
    assert res.exit_code == 0, res.output
    kw = calls[-1]
    assert kw["mode"] == "hint" and kw["program"].startswith("def running_max") and kw["program_name"] == "prog.py"
    assert kw["problem"].id == "running-max" and kw["config"].k == 2


@pytest.mark.parametrize("spec, needle", [("foo:bar", "unknown model spec 'foo:bar'"),
                                          ("replay:missing.jsonl", "no such trace file"),
                                          ("embedded:missing.gguf", "no such model file"),
                                          ("ollama:", "needs a model name")])
def test_a_bad_model_is_one_line_before_any_ui(calls, spec, needle):
    for args in (["tui", "--model", spec], ["tui", RUNNING_MAX, "--model", spec],
                 ["solve", RUNNING_MAX, "--tui", "--model", spec]):
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 2, res.output
        lines = res.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"orps: error: --model {spec}: ") and needle in lines[0]
    assert not calls


def test_a_crashed_ui_exits_non_zero(monkeypatch):
    import tui.app
    monkeypatch.setattr(tui.app, "run_app", lambda **kw: 1)  # what run_app returns after Textual caught a crash
    assert CliRunner().invoke(main, ["tui", "--no-companion"]).exit_code == 1
    assert CliRunner().invoke(main, ["tui", RUNNING_MAX]).exit_code == 1
