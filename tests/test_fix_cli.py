"""`orps fix` from the command line: ranked output, --json, --apply/--commit, one-line errors."""

from __future__ import annotations

import json

import git
import pytest
from click.testing import CliRunner

from assistant.cli import fix_cmd, main
from assistant.models.scripted import ScriptedModel
from assistant.modes.fix.workspace import materialize

BUGGY = "def area(w, h):\n    return w + h\n\n\ndef perimeter(w, h):\n    return 2 * (w + h)\n"
TESTS = ("from rect import area, perimeter\n\n\ndef test_area():\n    assert area(2, 3) == 6\n\n\n"
         "def test_perimeter():\n    assert perimeter(2, 3) == 10\n")
FIX = "Multiply.\nrect.py\n<<<<<<< SEARCH\n    return w + h\n=======\n    return w * h\n>>>>>>> REPLACE\n"
JSON_KEYS = {"schema", "mode", "repo", "scope", "head", "branch", "dirty", "uncommitted", "environment", "status",
             "baseline", "targets", "suite_errors", "localization", "model", "model_can_chat", "best", "candidates", "invalid_edits",
             "duplicates", "stop_reason", "budget", "notices", "trace", "saved_run"}
CANDIDATE_KEYS = {"rank", "id", "parent", "round", "strategy", "edit_format", "files", "diff", "diff_lines",
                  "targets_fixed", "targets_total", "fixed", "still_failing", "regressions", "new_failures",
                  "suite_passed", "suite_total", "suite_time_s", "critic_score", "critique", "error"}


def handler(req):
    if "strict reviewer of bug fixes" in req.messages[0].content:
        return json.dumps({"analysis": "area multiplies now", "suggestion": "", "score": 5, "done": True})
    return FIX


@pytest.fixture()
def env(tmp_path, monkeypatch):
    monkeypatch.setattr(fix_cmd, "open_cli_model", lambda spec: ScriptedModel(handler=handler))
    (tmp_path / "empty.toml").touch()
    return {"ORPS_RUNS_DIR": str(tmp_path / "runs"), "ORPS_CONFIG": str(tmp_path / "empty.toml")}


@pytest.fixture()
def repo(tmp_path):
    return materialize({"rect.py": BUGGY, "test_rect.py": TESTS}, tmp_path / "repo")


def fix(env, *args):
    return CliRunner().invoke(main, ["fix", *args, "--sandbox", "local"], env=env)


def test_json_document_then_apply_then_commit(env, repo):
    (repo / "NOTES.md").write_text("uncommitted notes\n")
    res = fix(env, str(repo), "--json", "--budget", "3", "--initial", "1", "--rounds", "0")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert set(doc) == JSON_KEYS and doc["schema"] == 1 and doc["status"] == "fixed"
    assert doc["dirty"] and doc["uncommitted"]["untracked"] == ["NOTES.md"]
    desc = doc["environment"]["description"]
    # the repository has no virtual environment: the host's (or the active venv's) pytest runs it
    assert doc["environment"]["backend"] == "local" and "s pytest" in desc and "repository's own" not in desc
    assert doc["baseline"]["total"] == 2 and [t["id"] for t in doc["targets"]] == ["test_rect.py::test_area"]
    best = doc["best"]
    assert set(best) == CANDIDATE_KEYS and best["rank"] == 1 and best["fixed"] == ["test_rect.py::test_area"]
    assert best["regressions"] == [] and best["suite_passed"] == 2 and "+    return w * h" in best["diff"]
    assert best["critique"] == "area multiplies now" and doc["saved_run"]
    assert (repo / "rect.py").read_text() == BUGGY  # untouched until --apply

    res = fix(env, str(repo), "--apply", "1", "--commit")
    assert res.exit_code == 0, res.output
    assert "applied patch #1" in res.output and "on new branch orps/fix-test_area" in res.output
    r = git.Repo(repo)
    assert r.active_branch.name == "orps/fix-test_area" and "return w * h" in (repo / "rect.py").read_text()
    assert r.head.commit.message.startswith("Fix 1 failing test: test_area")
    assert "test_rect.py::test_area" in r.head.commit.message
    assert (repo / "NOTES.md").read_text() == "uncommitted notes\n" and not r.head.commit.stats.files.get("NOTES.md")

    res = fix(env, str(repo), "--apply", "1")  # the patch's base is gone now
    assert res.exit_code == 2 and "changed since the patch was made" in res.output


def test_table_output_shows_ranked_diffs_and_how_to_apply(env, repo):
    res = fix(env, str(repo), "--budget", "3", "--initial", "1", "--rounds", "0")
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "1/1" in out and "2/2" in out and "multiplies" in out and "+    return w * h" in out
    assert "fixed" in out and "--apply N" in out


def test_all_passing_says_so_and_exits_0(env, tmp_path):
    repo = materialize({"ok.py": "X = 1\n", "test_ok.py": "from ok import X\n\ndef test_x():\n    assert X == 1\n"},
                       tmp_path / "ok")
    res = fix(env, str(repo))
    assert res.exit_code == 0 and "all 1 tests pass already: nothing to fix" in res.output


@pytest.mark.parametrize("setup, args, message", [
    ("plain", [], "not a git repository"),
    ("notests", [], "no tests found"),
    ("repo", ["test_nope.py::test_x"], "no such test file"),
    ("repo", ["--apply", "1"], "no earlier `orps fix` run"),
])
def test_bad_input_is_one_line(env, tmp_path, setup, args, message):
    if setup == "plain":
        path = tmp_path / "plain"
        path.mkdir()
    elif setup == "notests":
        path = materialize({"lib.py": "X = 1\n"}, tmp_path / "nt")
    else:
        path = materialize({"rect.py": BUGGY, "test_rect.py": TESTS}, tmp_path / "r")
    res = fix(env, str(path), *args)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    errors = [ln for ln in res.stderr.splitlines() if "orps: error:" in ln]
    assert len(errors) == 1 and message in errors[0] and res.stderr.rstrip().endswith(errors[0].rstrip())


def test_commit_needs_apply(env, repo):
    res = fix(env, str(repo), "--commit")
    assert res.exit_code == 2 and "--commit needs --apply" in res.output


def test_a_mistyped_repository_is_named(env, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not inside a git repository
    res = fix(env, "missing_repo")
    assert res.exit_code == 2
    assert res.output.strip() == ("orps: error: missing_repo: no such repository directory (and the current "
                                  "directory is not in a git repository, so it is no test id either)")


def test_an_existing_trace_file_needs_force(env, repo, tmp_path):
    trace = tmp_path / "mine.jsonl"
    trace.write_text("keep\n")
    res = fix(env, str(repo), "--trace", str(trace), "--budget", "3", "--initial", "1", "--rounds", "0")
    assert res.exit_code == 2 and "already exists; pass --force" in res.output and trace.read_text() == "keep\n"
    res = fix(env, str(repo), "--trace", str(trace), "--force", "--budget", "3", "--initial", "1", "--rounds", "0")
    assert res.exit_code == 0, res.output
    assert trace.read_text().startswith('{"type":"header"')


@pytest.mark.parametrize("setup, args, message", [
    ("plain", [], "not a git repository"),
    ("repo", ["test_nope.py::test_x"], "no such test file"),
    ("repo", ["--budget", "0"], "--budget"),
    ("repo", ["--commit"], "--commit needs --apply"),
])
def test_bad_input_under_json_still_writes_a_json_error(env, tmp_path, setup, args, message):
    if setup == "plain":
        path = tmp_path / "plain"
        path.mkdir()
    else:
        path = materialize({"rect.py": BUGGY, "test_rect.py": TESTS}, tmp_path / "r")
    res = fix(env, str(path), "--json", *args)
    assert res.exit_code == 2
    doc = json.loads(res.stdout)
    assert doc["schema"] == 1 and doc["status"] == "error" and message in doc["error"]
    assert "Traceback" not in res.output


def test_applying_a_patch_that_fixes_nothing_warns_and_its_commit_says_the_suite_did_not_run(env, repo, monkeypatch):
    wrong = "Guess.\nrect.py\n<<<<<<< SEARCH\n    return w + h\n=======\n    return w - h\n>>>>>>> REPLACE\n"
    monkeypatch.setattr(fix_cmd, "open_cli_model", lambda spec: ScriptedModel(
        handler=lambda req: json.dumps({"analysis": "no", "suggestion": "multiply", "score": 1, "done": False})
        if "strict reviewer" in req.messages[0].content else wrong))
    res = fix(env, str(repo), "--budget", "2", "--initial", "1", "--rounds", "0")
    assert res.exit_code == 1 and "not fixed" in res.stdout
    res = fix(env, str(repo), "--apply", "1", "--commit", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["warnings"] == ["patch #1 fixes 0 of the 1 target test; the full suite was not run on it"]
    assert "warning: patch #1 fixes 0 of the 1 target test" in res.stderr
    message = git.Repo(repo).head.commit.message
    assert "the full suite was not run on it" in message and "no regressions" not in message
