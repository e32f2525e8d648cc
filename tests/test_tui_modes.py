"""Fix and hint modes in the TUI: the same run screen over `orps fix` and `orps hint` (scripted
models, the local sandbox, real pytest runs and a real git repository)."""

from __future__ import annotations

import json

import git
import pytest

from assistant.modes.fix.workspace import materialize

from .tui_support import (CORRECT, RUNNING_MAX, WRONG, isolated_home, make_app, screen_text,  # noqa: F401
                          wait_finished, wait_for)

pytestmark = pytest.mark.usefixtures("isolated_home")

BUGGY = "def area(w, h):\n    return w + h\n\n\ndef perimeter(w, h):\n    return 2 * (w + h)\n"
TESTS = ("from rect import area, perimeter\n\n\ndef test_area():\n    assert area(2, 3) == 6\n\n\n"
         "def test_perimeter():\n    assert perimeter(2, 3) == 10\n")
FIX = "Multiply.\nrect.py\n<<<<<<< SEARCH\n    return w + h\n=======\n    return w * h\n>>>>>>> REPLACE\n"


def fix_handler(req):
    if "strict reviewer of bug fixes" in req.messages[0].content:
        return json.dumps({"analysis": "area multiplies now", "suggestion": "", "score": 5, "done": True})
    return FIX


async def test_fix_mode_ranks_patches_and_applies_one_after_confirmation(tmp_path):
    from tui.prefs import TuiPrefs

    repo = materialize({"rect.py": BUGGY, "test_rect.py": TESTS}, tmp_path / "repo")
    app = make_app(tmp_path, None, handler=fix_handler, sandbox_choice="local",
                   prefs=TuiPrefs(max_calls=3, initial=1, rounds=0))
    async with app.run_test(size=(100, 32)) as pilot:
        app.screen.query_one("#path").value = str(repo)
        await pilot.press("enter")                         # a git repository: fix mode
        await wait_for(pilot, lambda: type(app.screen).__name__ == "RunScreen", "the fix run")
        await wait_finished(pilot)
        run = app.screen
        assert run.job.mode == "fix" and run.state.status == "finished", run.state.error
        raw = run.state.result.raw
        assert raw.status == "fixed" and run.state.result.ranking == [raw.best_node_id]
        text = screen_text(app)
        assert "tests  regr" in text and "1/1" in text and "2/2" in text   # targets, suite
        assert "+    return w * h" in text                 # the code tab shows the patch
        assert (repo / "rect.py").read_text() == BUGGY     # nothing written before apply

        await pilot.press("w")                             # save: the patch, as a .patch file
        await pilot.pause()
        assert app.screen.query_one("#path").value == "repo-n0.patch"
        await pilot.press("enter")
        await pilot.pause()
        assert "+    return w * h" in (tmp_path / "repo-n0.patch").read_text()

        await pilot.press("a")                             # apply: asks first
        await pilot.pause()
        assert "Writes rect.py" in screen_text(app)
        await pilot.press("n")
        await pilot.pause()
        assert (repo / "rect.py").read_text() == BUGGY
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("y")
        await wait_for(pilot, lambda: any(m.startswith("applied") for m, _ in app.notified), "the apply")
        assert (repo / "rect.py").read_text() == BUGGY.replace("w + h\n\n\n", "w * h\n\n\n")
        assert git.Repo(repo).is_dirty()                   # applied to the working tree, not committed
        await pilot.press("4")                             # the target test's verdict
        await pilot.pause()
        assert "test_rect.py::test_area" in screen_text(app)
        await pilot.press("escape")                        # the fix run is among the recent runs
        await pilot.pause()
        recent = app.screen.query_one("#recent").runs
        assert [(r.mode, r.problem, r.method, r.best) for r in recent] == [("fix", "repo", "fix", raw.best_node_id)]


def role(req) -> str:
    if req.kind == "chat" and "patient programming tutor" in req.messages[0].content:
        return "tutor"
    if req.kind == "chat" and "# Hints from your tutor" in req.messages[-1].content:
        return "student"
    return "repair"


NUDGE = "Look at what your function returns for each position: is it the largest value seen so far?"
CONCEPT = "Think about keeping one running value that you update as you walk through the list."


def hint_handler(req):
    who = role(req)
    if who == "repair":
        return f"Keep a running maximum.\n```python\n{CORRECT}```\n"
    if who == "student":
        return f"```python\n{CORRECT}```\n"
    text = req.messages[-1].content
    return NUDGE if "Write hint 1 of 4" in text else CONCEPT


async def test_hint_mode_hides_the_repair_and_reveals_hints_one_at_a_time(tmp_path, local_sandbox):
    program = tmp_path / "mine.py"
    program.write_text(WRONG)
    app = make_app(tmp_path, local_sandbox, handler=hint_handler)
    async with app.run_test(size=(100, 32)) as pilot:
        app.screen.query_one("#path").value = str(program)
        await pilot.press("enter")                         # a .py file: which problem?
        await pilot.pause()
        app.screen.query_one("#path").value = RUNNING_MAX
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "RunScreen", "the hint run")
        await wait_finished(pilot)
        run = app.screen
        assert run.job.mode == "hint" and run.state.status == "finished", run.state.error
        raw = run.state.result.raw
        assert raw.check.passed == 1 and raw.check.total == 2 and raw.repair is not None
        text = screen_text(app)                            # the hints tab opens
        assert "1/2 tests pass" in text and "Press h for the next hint" in text
        await pilot.press("1")                             # code: hidden, it is the answer
        await pilot.pause()
        assert "the repair is hidden in hint mode" in screen_text(app)
        assert "best = x if best is None" not in screen_text(app)

        await pilot.press("c")                             # nor can it be copied while hidden
        assert app.clipboard == "" and "hidden" in app.notified[-1][0]

        await pilot.press("h")
        await wait_for(pilot, lambda: any(m.startswith("hint 1 (") for m, _ in app.notified), "hint 1")
        await pilot.pause()
        text = screen_text(app)
        assert "Hint 1: nudge" in text and "Look at what your function returns" in text
        # the same scripted model as student repairs it with and without the hint: not kept, and said
        assert "4/4 without (not kept)" in " ".join(text.split())
        assert any("no hint can raise that" in m for m, _ in app.notified)
        await pilot.press("h")
        await wait_for(pilot, lambda: any(m.startswith("hint 2 (") for m, _ in app.notified), "hint 2")
        await pilot.pause()
        assert "Hint 2" in screen_text(app)

        await pilot.press("1", "v")                        # a teacher may look at the repair
        await pilot.pause()
        assert "best = x if best is None" in screen_text(app)


BREAKS = FIX + "rect.py\n<<<<<<< SEARCH\n    return 2 * (w + h)\n=======\n    return 2 * w + h\n>>>>>>> REPLACE\n"


def breaking_handler(req):
    if "strict reviewer of bug fixes" in req.messages[0].content:
        return json.dumps({"analysis": "area multiplies now", "suggestion": "", "score": 3, "done": False})
    return BREAKS


async def test_fix_mode_shows_regressions_in_the_tests_tab_and_charts_patches(tmp_path):
    from tui.prefs import TuiPrefs

    repo = materialize({"rect.py": BUGGY, "test_rect.py": TESTS}, tmp_path / "repo")
    app = make_app(tmp_path, None, handler=breaking_handler, sandbox_choice="local",
                   prefs=TuiPrefs(max_calls=2, initial=1, rounds=0))
    async with app.run_test(size=(120, 36)) as pilot:
        app.screen.query_one("#path").value = str(repo)
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "RunScreen", "the fix run")
        await wait_finished(pilot)
        run = app.screen
        assert run.state.status == "finished", run.state.error
        report = run.state.result.raw.reports[run.state.result.ranking[0]]
        assert report.regressions == ["test_rect.py::test_perimeter"]
        await pilot.press("4")                             # the target fixed, and the regression
        await pilot.pause()
        text = screen_text(app)
        assert "1/1 target tests; suite 1/2 pass, 1 regressions" in text
        cells = [line.split("▕")[-1].split() for line in text.splitlines()]
        rows = {c[0]: c[1] for c in cells if c and c[0].startswith("test_rect.py::") and not c[0].endswith(":")}
        assert rows == {"test_rect.py::test_area": "AC", "test_rect.py::test_perimeter": "WA"}
        verdicts = run.query_one("#test-verdicts")
        verdicts.show_detail(1)                            # the regression's own report
        await pilot.pause()
        assert "regression: passed before the patch, fails now" in screen_text(app)
        await pilot.press("5")                             # metrics: per patch, no "-" for CPU time
        await pilot.pause()
        text = screen_text(app)
        assert "target tests fixed per patch" in text and "1/1, 1 regressions" in text
        assert "whole-suite time per patch" in text and " s" in text and "changed lines per patch" in text
        assert "CPU time per candidate" not in text


def held_tutor(model_handler):
    from .tui_support import StreamingModel
    return StreamingModel(handler=model_handler, hold=lambda req: role(req) == "tutor")


async def test_hint_mode_shows_the_hint_being_written(tmp_path, local_sandbox):
    from tui.modes import HintJob

    from assistant.problems import load_problem
    from assistant.modes.hint import HintConfig

    model = held_tutor(hint_handler)
    job = HintJob(WRONG, load_problem(RUNNING_MAX), HintConfig(max_level=4, k=1), "scripted", program_name="mine.py")
    app = make_app(tmp_path, local_sandbox, job=job, model_factory_=lambda spec: model)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_finished(pilot)
            run = app.screen
            assert run.check_action("hint", ()) is True
            await pilot.press("h")
            await wait_for(pilot, model.held.is_set, "the tutor half-way through hint 1")
            await wait_for(pilot, lambda: "writing the hint" in screen_text(app).splitlines()[1], "the status")
            status = screen_text(app).splitlines()[1]
            assert "working" in status and "tok/s" in status   # not "finished" while the hint is written
            assert run.check_action("hint", ()) is None        # one hint at a time
            assert "Look at what your" in screen_text(app)     # the draft, in the hints tab
            model.gate.set()
            await wait_for(pilot, lambda: any(m.startswith("hint 1 (") for m, _ in app.notified), "hint 1")
            await pilot.pause()
            assert "working" not in screen_text(app).splitlines()[1]
    finally:
        model.gate.set()
