"""The run screen driven by Pilot: a scripted model, the real local sandbox, the real engine."""

from __future__ import annotations

import asyncio
import threading

import pytest

from assistant.models.base import ModelError
from assistant.models.scripted import ScriptedModel

from .tui_support import (CORRECT, config, is_critic, isolated_home, make_app,  # noqa: F401
                          screen_text, solve_handler, solve_job, wait_finished, wait_for)

pytestmark = pytest.mark.usefixtures("isolated_home")


async def test_a_solve_run_shows_the_tree_the_ranking_and_the_details(tmp_path, local_sandbox):
    trace = tmp_path / "runs" / "t.jsonl"
    app = make_app(tmp_path, local_sandbox, job=solve_job(trace=trace))
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_finished(pilot)
        run = app.screen
        state = run.state
        assert state.status == "finished"
        assert state.result.ranking == ["n2", "n0"]        # the engine's ranking, refined node first
        assert state.nodes["n1"].status == "duplicate"
        assert "n0" in state.pruned                        # outside the beam after round 1
        text = screen_text(app)
        assert "n2 r1 AC 2/2 ★5" in text and "n0 r0 WA 1/2 ★2" in text and "n1 r0 = n0" in text
        assert run.query_one("#candidates").row_ids == ["n2", "n0"]
        assert "finished" in text and "calls" in text
        assert run.selected == "n2"                        # the best is selected when the run ends
        assert "best = x if best is None else max(best, x)" in text   # code tab
        # the trace went where the job said, and records the result
        assert trace.is_file() and '"type":"result"' in trace.read_text()

        await pilot.press("3")                             # critique (Markdown)
        await pilot.pause()
        assert "correct running maximum" in screen_text(app)

        await pilot.press("d")                             # diff vs parent (n0)
        await pilot.pause()
        text = screen_text(app)
        assert "n0 → n2" in text and "-    return sorted(nums)" in text

        await pilot.press("d", "d")                        # best, then original (the starter code)
        await pilot.pause()
        text = screen_text(app)
        assert "original → n2" in text and '-    """Return a list whose i-th element' in text

        await pilot.press("down")                          # n0 in the table
        await pilot.press("4")                             # its per-test verdicts
        await pilot.pause()
        text = screen_text(app)
        assert run.selected == "n0"
        assert "n0: 1/2 visible" in text and "WA" in text
        assert "[1, 2, 3, 5]" in text                      # actual of the failing test, sorted
        await pilot.press("5")
        await pilot.pause()
        text = screen_text(app)
        assert "best candidate per round" in text and "final" in text and "CPU time per candidate" in text


async def test_actions_save_copy_pin_prune_rerun(tmp_path, local_sandbox):
    app = make_app(tmp_path, local_sandbox, job=solve_job())
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_finished(pilot)
        run = app.screen
        await pilot.press("c")
        assert app.clipboard == CORRECT

        await pilot.press("w")                             # save: a path dialog, pre-filled
        await pilot.pause()
        dialog_input = app.screen.query_one("#path")
        assert dialog_input.value == "running-max.solution.py"
        await pilot.press("enter")
        await pilot.pause()
        saved = tmp_path / "running-max.solution.py"
        assert saved.read_text() == CORRECT
        saved.write_text("mine\n")
        await pilot.press("w")
        await pilot.pause()
        dialog_input = app.screen.query_one("#path")
        assert dialog_input.value == "running-max.solution-2.py"   # the default never clobbers a file
        dialog_input.value = "running-max.solution.py"
        await pilot.press("enter")                         # this one exists: confirmation asked
        await pilot.pause()
        assert "exists" in screen_text(app)
        await pilot.press("n")                             # declined: the file is kept
        await pilot.pause()
        assert saved.read_text() == "mine\n"

        await pilot.press("down", "p")                     # pin n0: listed first
        await pilot.pause()
        assert run.query_one("#candidates").row_ids == ["n0", "n2"]
        assert "⚑" in screen_text(app)
        await pilot.press("x")                             # prune n0 (view): listed last, unpinned
        await pilot.pause()
        assert run.query_one("#candidates").row_ids == ["n2", "n0"]
        assert "n0" in run.state.hidden and "n0" not in run.state.pinned

        await pilot.press("up", "r")                       # re-run n2 in the sandbox
        await wait_for(pilot, lambda: "n2" in run.state.reruns, "the re-run")
        rerun = run.state.reruns["n2"].execution
        assert rerun.passed == rerun.total == 2
        assert run.state.reruns["n2"].sandbox == local_sandbox.name
        await pilot.press("4")
        await pilot.pause()
        assert "re-run in the local sandbox" in screen_text(app)
        assert any("n2 re-run: 2/2 visible" in m for m, _ in app.notified)

        await pilot.press("f")                             # continue refining from n2 (engine refine())
        await wait_for(pilot, lambda: any(n.parent_id == "n2" for n in run.state.nodes.values()), "a child of n2")
        child = next(n for n in run.state.nodes.values() if n.parent_id == "n2")
        assert int(child.id[1:]) > 2                       # the tree grows in place: ids continue


def gated_handler(gate: threading.Event, release_after: int):
    """Answers like solve_handler, but the call after `release_after` programmer calls waits for the gate."""
    calls = {"n": 0}

    async def handler(req):
        if not is_critic(req):
            calls["n"] += 1
            if calls["n"] > release_after:
                await asyncio.to_thread(gate.wait)
        return solve_handler(req)
    return handler


async def test_stop_keeps_and_ranks_the_candidates_so_far(tmp_path, local_sandbox):
    gate = threading.Event()
    app = make_app(tmp_path, local_sandbox, job=solve_job(config(rounds=3, initial=2)),
                   handler=gated_handler(gate, 2))
    try:
        async with app.run_test(size=(100, 32)) as pilot:
            run = app.screen
            await wait_for(pilot, lambda: sum(n.runnable for n in run.state.nodes.values()) >= 1
                           and run.state.rounds, "round 0")
            await pilot.press("escape")
            # the call in flight (held at the gate) is interrupted: the stop does not wait for it
            await wait_finished(pilot)
            assert not gate.is_set()
            assert run.state.status == "finished"
            assert run.state.result.stop_reason == "stopped by the user"
            assert run.state.result.ranking                # ranked by the engine, as on a spent budget
            assert "stopped by the user" in screen_text(app)
    finally:
        gate.set()


class HeldSandbox:
    """The real sandbox, except that once `hold` is set its runs wait for `release` (a slow test
    suite): stopping interrupts the model, not the sandbox, so the run stays "stopping"."""

    def __init__(self, inner):
        self.inner, self.name, self.image_id = inner, inner.name, inner.image_id
        self.hold, self.release = threading.Event(), threading.Event()

    async def arun(self, job, on_result=None):
        if self.hold.is_set():
            await asyncio.to_thread(self.release.wait)
        return await self.inner.arun(job)


async def test_escape_twice_cancels_at_once_and_keeps_snapshots(tmp_path, local_sandbox):
    sandbox = HeldSandbox(local_sandbox)
    calls = {"n": 0}

    def handler(req):  # round 1's candidate, once written, waits for the held sandbox
        if not is_critic(req):
            calls["n"] += 1
            if calls["n"] == 3:
                sandbox.hold.set()
        return solve_handler(req)

    app = make_app(tmp_path, sandbox, job=solve_job(config(rounds=3)), handler=handler)
    try:
        async with app.run_test(size=(100, 32)) as pilot:
            run = app.screen
            await wait_for(pilot, lambda: run.state.rounds and sandbox.hold.is_set(), "round 1")
            await pilot.press("escape")
            assert run.state.status == "stopping"          # ranking waits for the sandbox
            await pilot.press("escape")                    # again: cancel at once
            await wait_finished(pilot)
            assert run.state.status == "cancelled"
            assert run.state.result is None
            kept = run.query_one("#candidates").row_ids
            assert kept and set(kept) <= set(run.state.nodes)
            text = screen_text(app)
            assert "cancelled" in text
            assert any("search cancelled" in m for m, _ in app.notified)
            await pilot.press("escape")                    # not running any more: back to the start screen
            await pilot.pause()
            assert type(app.screen).__name__ == "StartScreen"
    finally:
        sandbox.release.set()


async def test_a_model_error_is_one_line_and_the_app_survives(tmp_path, local_sandbox):
    def broken(spec):
        raise ModelError("ollama: cannot reach the server at 127.0.0.1:11434 - start it with `ollama serve`")

    app = make_app(tmp_path, local_sandbox, job=solve_job(), model_factory_=broken)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_finished(pilot)
        run = app.screen
        assert run.state.status == "failed"
        errors = [m for m, sev in app.notified if sev == "error"]
        assert errors == ["ollama: cannot reach the server at 127.0.0.1:11434 - start it with `ollama serve`"]
        assert "failed" in screen_text(app)


async def test_engine_notices_become_notifications(tmp_path, local_sandbox):
    """A completion-only model: the engine warns (no critic, no refinement) and samples."""
    def completion(req):
        return "    return [max(nums[:i + 1]) for i in range(len(nums))]\n"

    app = make_app(tmp_path, local_sandbox, job=solve_job(config(max_calls=3)),
                   model_factory_=lambda spec: ScriptedModel(handler=completion, can_chat=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_finished(pilot)
        assert any("completion-only" in m and sev == "warning" for m, sev in app.notified)
        run = app.screen
        assert run.state.result.raw.best is not None and run.state.result.raw.best.execution.passed == 2
        await pilot.press("6")
        await pilot.pause()
        assert "completion-only" in screen_text(app)


async def test_80x24_and_resize(tmp_path, local_sandbox):
    app = make_app(tmp_path, local_sandbox, job=solve_job())
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_finished(pilot)
        text = screen_text(app)
        assert "n2" in text and "2/2" in text and "Code" in text
        footer, status = text.splitlines()[-1], text.splitlines()[1]
        for key in ("esc Back", "f Refine", "d Diff", "z Zoom", "^q Quit", "? Help"):
            assert key in footer                           # the essential keys fit in 80 columns
        assert "finished" in status and "solved" in status     # the state and why the run ended
        assert app.screen.has_class("-narrow")
        await pilot.resize_terminal(140, 40)
        await pilot.pause()
        assert app.screen.has_class("-wide")
        text = screen_text(app)
        assert "n2 r1 AC 2/2 ★5 best" in text
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert "n2" in screen_text(app)


async def test_pin_and_prune_during_a_run_steer_the_engine(tmp_path, local_sandbox):
    gate = threading.Event()
    job = solve_job(config(rounds=2, initial=2))
    # the second round-0 candidate waits: the beam for round 1 is chosen after our marks
    app = make_app(tmp_path, local_sandbox, job=job, handler=gated_handler(gate, 1))
    try:
        async with app.run_test(size=(100, 32)) as pilot:
            run = app.screen
            await wait_for(pilot, lambda: sum(n.runnable for n in run.state.nodes.values()) >= 1, "a candidate")
            run.selected = next(n.id for n in run.state.nodes.values() if n.runnable)
            chosen = run.selected
            await pilot.press("p")
            await pilot.pause()
            assert chosen in job.control.pinned
            assert any("keeps it in its beam" in m for m, _ in app.notified)
            await pilot.press("x")                         # prune the same node: it leaves the pins
            await pilot.pause()
            assert chosen in job.control.pruned and chosen not in job.control.pinned
            gate.set()
            await wait_finished(pilot)
            children = [n for n in run.state.nodes.values() if n.parent_id == chosen]
            assert children == []                          # the engine never refined a pruned node
    finally:
        gate.set()


HOSTILE = ("import sys\n# \x1b]0;owned\x07 sets the window title if it reaches a terminal\n"
           "print('\\x1b[2J\\x1b[31m[green]passed 3/3[/]')\n")


async def test_candidate_output_and_code_are_shown_never_obeyed(tmp_path, local_sandbox):
    """Control sequences and Rich markup in a candidate's code and output are shown as text:
    escapes are made visible (textsafe.printable), brackets stay brackets."""
    from assistant.problems.model import Problem
    from sandbox.api import TestCase
    from tui.modes import SolveJob

    problem = Problem(id="echo", kind="stdio", statement="Print 3.", source="echo",
                      visible_tests=[TestCase(name="sample-1", input="", output="3\n")])

    def handler(req):
        if is_critic(req):
            return '{"analysis": "[bold red]ALL PASSED[/] it prints \\u001b[2J", "score": 1, "done": false}'
        return f"[blink]Trust me[/].\n```python\n{HOSTILE}```\n"

    app = make_app(tmp_path, local_sandbox, job=SolveJob(problem, config(initial=1, rounds=0), "scripted"),
                   handler=handler)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_finished(pilot)
        run = app.screen
        assert run.state.result.raw.best.execution.visible[0].verdict == "WA"
        seen = []
        for tab in ("1", "4", "3"):                      # code, tests (expected vs actual), critique
            await pilot.press(tab)
            await pilot.pause()
            seen.append(screen_text(app))
        code, tests, critique = seen
        assert "\\x1b]0;owned\\a" in code                 # the comment's ESC and BEL, as escapes
        assert "\\x1b[2J\\x1b[31m[green]passed 3/3[/]" in tests   # the output, as it was printed
        assert "[bold red]ALL PASSED[/]" in critique and "\\x1b[2J" in critique
        for text in seen:
            assert "\x1b" not in text and "\x07" not in text
