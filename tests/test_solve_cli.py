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


def run_cli(args, tmp_path):
    runner = CliRunner()
    return runner.invoke(main, args, catch_exceptions=False, env={"ORPS_CONFIG": str(tmp_path / "none.toml"),
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
                                env={"OLLAMA_HOST": f"http://127.0.0.1:{port}", "ORPS_CONFIG": str(tmp_path / "none.toml"),
                                     "XDG_DATA_HOME": str(tmp_path / "data")})
    _one_line_error(result, "ollama serve")
