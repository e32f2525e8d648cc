"""`orps solve` end to end through the CLI: replayed runs, output files, user errors."""

from __future__ import annotations

import asyncio
import json
import socket

from click.testing import CliRunner

from assistant.cli import main
from assistant.engine.search import SearchConfig
from assistant.models.scripted import ScriptedModel
from assistant.modes.solve import solve
from assistant.problems import load_problem

from .conftest import REPO

PROBLEM = f"{REPO}/examples/problems.jsonl#running-max"
GOOD = "def running_max(nums: list[int]) -> list[int]:\n    out, best = [], None\n    for x in nums:\n" \
       "        best = x if best is None or x > best else best\n        out.append(best)\n    return out\n"
BAD = "def running_max(nums: list[int]) -> list[int]:\n    return sorted(nums)\n"


def record_trace(sandbox, path, config):
    codes = [BAD, GOOD, BAD.replace("sorted", "list")]

    def handler(req):
        body = codes.pop(0) if codes else GOOD
        # a base model continues the prompt, which ends after the signature and docstring
        return "\n".join(body.splitlines()[1:]) + "\n"

    model = ScriptedModel(handler=handler, can_chat=False)
    problem = load_problem(PROBLEM)
    return asyncio.run(solve(problem, model, sandbox, config, trace=path))


def empty_config(tmp_path):
    """An empty config file: the user's own config stays out of the test."""
    path = tmp_path / "empty.toml"
    path.touch()
    return str(path)


def run_cli(args, tmp_path):
    runner = CliRunner()
    return runner.invoke(main, args, catch_exceptions=False, env={"ORPS_CONFIG": empty_config(tmp_path),
                                                                  "XDG_DATA_HOME": str(tmp_path / "data")})


def test_replayed_run_through_the_cli_ranks_the_same(local_sandbox, tmp_path):
    trace = tmp_path / "run.jsonl"
    config = SearchConfig(max_calls=3, generated_tests=False, complexity=False, repeat_final=1)
    original = record_trace(local_sandbox, trace, config)
    out = tmp_path / "best.py"
    result = run_cli(["solve", PROBLEM, "--model", f"replay:{trace}", "--budget", "3", "--no-generated-tests",
                      "--json", "--out", str(out), "--sandbox", "local", "--trace", str(tmp_path / "again.jsonl")],
                     tmp_path)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [c["id"] for c in doc["candidates"]] == original.ranking
    best = doc["best"]["code"]
    assert best.endswith("\n".join(GOOD.splitlines()[1:]) + "\n") and '"""Return a list' in best
    assert out.read_text() == best
    assert doc["model_can_chat"] is False and doc["budget"]["calls"] == 3


def test_default_output_never_overwrites(local_sandbox, tmp_path, monkeypatch):
    trace = tmp_path / "run.jsonl"
    config = SearchConfig(max_calls=3, generated_tests=False, complexity=False, repeat_final=1)
    record_trace(local_sandbox, trace, config)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "running-max.solution.py").write_text("# mine\n")
    result = run_cli(["solve", PROBLEM, "--model", f"replay:{trace}", "--budget", "3", "--no-generated-tests",
                      "--sandbox", "local", "-q"], tmp_path)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "running-max.solution.py").read_text() == "# mine\n"
    assert "best = x if best is None" in (tmp_path / "running-max.solution-2.py").read_text()


def _one_line_error(result, *needles):
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("orps: error:"), result.stderr
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_user_errors_are_one_line(tmp_path):
    _one_line_error(run_cli(["solve", str(tmp_path / "missing.md")], tmp_path), "missing.md")
    _one_line_error(run_cli(["solve", PROBLEM, "--model", "gpt:foo", "--sandbox", "local"], tmp_path), "gpt:foo")
    _one_line_error(run_cli(["solve", PROBLEM, "--model", f"replay:{tmp_path / 'none.jsonl'}", "--sandbox", "local"],
                            tmp_path), "no such trace")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = CliRunner().invoke(main, ["solve", PROBLEM, "--model", "ollama:qwen2.5-coder:7b", "--sandbox", "local", "-q"],
                                env={"OLLAMA_HOST": f"http://127.0.0.1:{port}", "ORPS_CONFIG": empty_config(tmp_path),
                                     "XDG_DATA_HOME": str(tmp_path / "data")})
    _one_line_error(result, "ollama serve")


def test_output_files_are_checked_before_the_search(local_sandbox, tmp_path, monkeypatch):
    trace = tmp_path / "run.jsonl"
    record_trace(local_sandbox, trace, SearchConfig(max_calls=3, generated_tests=False, complexity=False,
                                                    repeat_final=1))
    monkeypatch.chdir(tmp_path)
    args = ["solve", PROBLEM, "--model", f"replay:{trace}", "--budget", "3", "--no-generated-tests", "--sandbox",
            "local", "-q"]
    (tmp_path / "somedir").mkdir()
    _one_line_error(run_cli([*args, "--out", "somedir"], tmp_path), "--out somedir", "is a directory")
    _one_line_error(run_cli([*args, "--out", "nodir/x.py"], tmp_path), "--out nodir/x.py", "no such directory nodir")
    _one_line_error(run_cli([*args, "--trace", "somedir"], tmp_path), "--trace somedir", "is a directory")
    mine = tmp_path / "mine.py"
    mine.write_text("# my own solution\n")
    _one_line_error(run_cli([*args, "--out", "mine.py"], tmp_path), "--out mine.py", "already exists", "--force")
    _one_line_error(run_cli([*args, "--out", "x.py", "--trace", str(trace)], tmp_path), "--trace", "--force")
    assert mine.read_text() == "# my own solution\n" and trace.stat().st_size > 0
    assert not (tmp_path / "data").exists() and not (tmp_path / "x.py").exists()  # no search ran, no trace
    result = run_cli([*args, "--out", "mine.py", "--force"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "best = x if best is None" in mine.read_text()


def test_exit_status_is_1_when_the_pick_fails_a_visible_test(local_sandbox, tmp_path):
    trace = tmp_path / "bad.jsonl"

    def handler(req):
        return "\n".join(BAD.splitlines()[1:]) + "\n"

    problem = load_problem(PROBLEM)
    config = SearchConfig(max_calls=2, generated_tests=False, complexity=False, repeat_final=1)
    asyncio.run(solve(problem, ScriptedModel(handler=handler, can_chat=False), local_sandbox, config, trace=trace))
    result = run_cli(["solve", PROBLEM, "--model", f"replay:{trace}", "--budget", "2", "--no-generated-tests",
                      "--sandbox", "local", "--out", str(tmp_path / "best.py")], tmp_path)
    assert result.exit_code == 1, result.output
    assert "the best candidate fails 1 of 2 visible tests" in result.stdout
    assert (tmp_path / "best.py").read_text().endswith("return sorted(nums)\n")  # still written: it is the best


def test_a_replay_at_a_larger_budget_stops_where_the_recording_ends(local_sandbox, tmp_path):
    trace = tmp_path / "run.jsonl"
    config = SearchConfig(max_calls=3, generated_tests=False, complexity=False, repeat_final=1)
    original = record_trace(local_sandbox, trace, config)
    result = run_cli(["solve", PROBLEM, "--model", f"replay:{trace}", "--budget", "8", "--no-generated-tests",
                      "--json", "--out", str(tmp_path / "best.py"), "--sandbox", "local"], tmp_path)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["budget"]["calls"] == 3 and doc["budget"]["max_calls"] == 8  # only the calls answered count
    assert doc["stop_reason"] == "the replayed trace has no more recorded answers"
    assert [c["id"] for c in doc["candidates"]] == original.ranking
    replay_notices = [n for n in doc["notices"] if "recorded answer" in n]
    assert len(replay_notices) == 1 and "recorded with a budget of 3 calls, replayed with 8" in replay_notices[0]
    warnings = [ln for ln in result.stderr.splitlines() if "recorded answer" in ln]
    assert len(warnings) == 1, result.stderr


def test_a_missing_config_file_named_by_orps_config_is_one_line(tmp_path):
    result = CliRunner().invoke(main, ["solve", PROBLEM, "--sandbox", "local"],
                                env={"ORPS_CONFIG": str(tmp_path / "typo.toml"), "XDG_DATA_HOME": str(tmp_path)})
    _one_line_error(result, f"ORPS_CONFIG={tmp_path / 'typo.toml'}", "no such file")


def test_on_a_terminal_an_existing_output_file_is_replaced_only_after_a_yes(tmp_path, monkeypatch):
    from assistant.cli import outputs
    from assistant.errors import UserError

    mine = tmp_path / "mine.py"
    mine.write_text("# mine\n")
    monkeypatch.setattr(outputs.sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(outputs.sys.stderr, "isatty", lambda: True)
    asked = []
    monkeypatch.setattr(outputs.click, "confirm", lambda text, **kw: asked.append(text) or False)
    try:
        outputs.check_output_file(mine, "--out", force=False)
    except UserError as exc:
        assert str(exc) == f"--out {mine}: not overwritten"
    else:
        raise AssertionError("a no must refuse")
    monkeypatch.setattr(outputs.click, "confirm", lambda text, **kw: asked.append(text) or True)
    outputs.check_output_file(mine, "--out", force=False)
    assert asked == [f"{mine} exists: overwrite it?"] * 2 and mine.read_text() == "# mine\n"
