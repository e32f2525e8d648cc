"""The start screen: open a problem, paste a statement, reopen or replay a recent run."""

from __future__ import annotations

import pytest

from .tui_support import (RUNNING_MAX, isolated_home, make_app, screen_text, wait_finished,  # noqa: F401
                          wait_for)

pytestmark = pytest.mark.usefixtures("isolated_home")

STATEMENT = """# Double it

Read an integer n and print 2n.

## Input

```
21
```

## Output

```
42
```
"""


def doubling_handler(req):
    if req.kind == "chat" and "strict reviewer" in req.messages[0].content:
        return '{"analysis": "prints twice the input", "complexity": "O(1)", "suggestion": "none", "score": 5, "done": true}'
    return "Read and double.\n```python\nprint(2 * int(input()))\n```\n"


async def test_open_a_problem_by_path_runs_it_and_records_a_trace(tmp_path, local_sandbox):
    app = make_app(tmp_path, local_sandbox)
    async with app.run_test(size=(80, 24)) as pilot:
        assert type(app.screen).__name__ == "StartScreen"
        assert "Recent runs" in screen_text(app)
        app.screen.query_one("#path").value = RUNNING_MAX
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "RunScreen", "the run screen")
        await wait_finished(pilot)
        run = app.screen
        assert run.job.problem.id == "running-max"
        assert run.state.result.raw.best.execution.passed == 2
        traces = list((tmp_path / "runs").glob("*.jsonl"))
        assert len(traces) == 1 and "running-max" in traces[0].name

        await pilot.press("escape")                        # back: the run is listed
        await pilot.pause()
        assert type(app.screen).__name__ == "StartScreen"
        recent = app.screen.query_one("#recent")
        assert recent.row_count == 1 and recent.runs[0].problem == "running-max"
        assert recent.runs[0].best == run.state.result.best_node_id
        assert recent.runs[0].candidates == len(run.state.result.ranking)


def completion_handler(req):
    """A completion-only model: a right or a wrong body, by the request's seed."""
    if req.options.seed % 2:
        return "    out = []\n    for x in nums:\n        out.append(x if not out else max(out[-1], x))\n    return out\n"
    return "    return sorted(nums)\n"


async def test_replaying_a_recent_run_ranks_the_same(tmp_path, local_sandbox):
    from assistant.models.scripted import ScriptedModel
    from tui.prefs import TuiPrefs

    from .tui_support import model_factory

    def factory(spec):
        if spec.startswith("replay:"):
            return model_factory()(spec)
        return ScriptedModel(handler=completion_handler, can_chat=False)

    app = make_app(tmp_path, local_sandbox, model_factory_=factory, prefs=TuiPrefs(max_calls=4))
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.query_one("#path").value = RUNNING_MAX
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "RunScreen", "the run screen")
        await wait_finished(pilot)
        run = app.screen
        ranking = run.state.result.ranking
        assert len(ranking) == 2                           # two distinct programs among 4 samples
        await pilot.press("escape")
        await pilot.pause()
        trace = app.screen.query_one("#recent").runs[0].path
        app.screen.query_one("#recent").focus()
        await pilot.press("enter")                         # replay: answers from the trace
        await wait_for(pilot, lambda: type(app.screen).__name__ == "RunScreen" and app.screen is not run,
                       "the replay")
        await wait_finished(pilot)
        replay = app.screen
        assert replay.job.model_spec == f"replay:{trace}"
        assert replay.state.status == "finished", replay.state.error
        assert replay.state.result.ranking == ranking
        assert "replay of 20" in screen_text(app) and replay.job.label == f"replay of {trace.name}"
        assert len(list((tmp_path / "runs").glob("*.jsonl"))) == 1   # a replay writes no new trace

        await pilot.press("escape")                        # n: a new run of the same problem
        await pilot.pause()
        app.screen.query_one("#recent").focus()
        await pilot.press("n")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "RunScreen" and app.screen is not replay,
                       "the new run")
        await wait_finished(pilot)
        assert app.screen.job.model_spec == "scripted"
        assert len(list((tmp_path / "runs").glob("*.jsonl"))) == 2


async def test_a_bad_path_is_one_error_line_and_the_start_screen_stays(tmp_path, local_sandbox):
    app = make_app(tmp_path, local_sandbox)
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.query_one("#path").value = "missing/problem.md"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.notified, "a notification")
        assert app.notified == [("missing/problem.md: no such file or directory", "error")]
        assert type(app.screen).__name__ == "StartScreen"


# the statement formats the README promises: Input/Output headings (fenced, unfenced or indented
# samples), labelled fences, and plain-text "Sample Input"/"Sample Output"
PASTED = {
    "headings with fenced samples": STATEMENT,
    "headings with unfenced samples": "# Double it\n\nRead an integer n and print 2n.\n\n## Input\n\n21\n\n"
                                      "## Output\n\n42\n",
    "headings with indented samples": "# Double it\n\n## Input\n\n    21\n\n## Output\n\n    42\n",
    "labelled fences": "# Double it\n\nPrint 2n.\n\n```input\n21\n```\n\n```output\n42\n```\n",
    "plain text samples": "Double it\n\nRead n, print 2n.\n\nSample Input\n21\n\nSample Output\n42\n",
}


@pytest.mark.parametrize("form", list(PASTED))
async def test_a_pasted_statement_is_kept_and_solved(tmp_path, local_sandbox, form):
    app = make_app(tmp_path, local_sandbox, handler=doubling_handler)
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.query_one("#statement").text = PASTED[form]
        await pilot.click("#paste")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "RunScreen", "the run screen")
        await wait_finished(pilot)
        run = app.screen
        saved = tmp_path / "data" / "orps" / "statements" / "double-it.md"
        assert saved.read_text() == PASTED[form].strip() + "\n"
        assert run.job.problem.id == "double-it"
        assert [(t.input, t.output) for t in run.job.problem.visible_tests] == [("21\n", "42\n")]
        assert not any("unverified" in m for m, _ in app.notified)
        assert run.state.result.raw.best.execution.passed == 1


async def test_an_empty_paste_is_refused(tmp_path, local_sandbox):
    app = make_app(tmp_path, local_sandbox)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.click("#paste")
        await wait_for(pilot, lambda: app.notified, "a notification")
        assert app.notified[0][1] == "error" and "paste a statement" in app.notified[0][0]


async def test_replaying_an_unfinished_run_ends_where_it_ended(tmp_path, local_sandbox):
    """A run that never finished (its trace has no result) replays up to where it stopped: no toast
    per missing answer, and the counts say what really happened."""
    import json

    from assistant.models.scripted import ScriptedModel
    from tui.prefs import TuiPrefs

    from .tui_support import model_factory

    def factory(spec):
        if spec.startswith("replay:"):
            return model_factory()(spec)
        return ScriptedModel(handler=completion_handler, can_chat=False)

    app = make_app(tmp_path, local_sandbox, model_factory_=factory, prefs=TuiPrefs(max_calls=6, method="bon"))
    async with app.run_test(size=(100, 32)) as pilot:
        app.screen.query_one("#path").value = RUNNING_MAX
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "RunScreen", "the run screen")
        await wait_finished(pilot)
        trace = next((tmp_path / "runs").glob("*.jsonl"))
        lines = trace.read_text().splitlines()
        requests = [i for i, line in enumerate(lines) if json.loads(line)["type"] == "request"]
        trace.write_text("\n".join(lines[: requests[2] + 1]) + "\n")   # it "died" after 3 answers
        await pilot.press("escape")
        await pilot.pause()
        recent = app.screen.query_one("#recent")
        assert recent.runs[0].candidates is None                      # listed as not finished
        app.notified.clear()
        recent.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "RunScreen" and app.screen.job.label.startswith(
            "replay"), "the replay")
        await wait_finished(pilot)
        replay = app.screen
        assert "did not finish" in replay.job.label
        assert replay.state.status == "finished", replay.state.error
        assert "the replayed run ended here" in replay.state.result.stop_reason
        assert replay.state.budget.calls == 3 and len(replay.state.nodes) == 3
        assert not any("no recorded answer" in m for m, _ in app.notified)
        assert len(app.notified) <= 3
