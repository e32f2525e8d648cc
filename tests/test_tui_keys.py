"""Keys and commands of the TUI: capabilities decide what is offered, zoom on every pane, the
help screen, the command palette, the search tree's leaves, screenshots, notices without floods."""

from __future__ import annotations

import pytest

from assistant.models.base import ModelError
from assistant.models.scripted import ScriptedModel

from .tui_support import (config, is_critic, isolated_home, make_app, screen_text, solve_handler,  # noqa: F401
                          solve_job, wait_finished, wait_for)

pytestmark = pytest.mark.usefixtures("isolated_home")


def completion(req):
    return "    return [max(nums[:i + 1]) for i in range(len(nums))]\n"


async def test_refine_is_not_offered_for_a_completion_only_model(tmp_path, local_sandbox):
    app = make_app(tmp_path, local_sandbox, job=solve_job(config(max_calls=3)),
                   model_factory_=lambda spec: ScriptedModel(handler=completion, can_chat=False))
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_finished(pilot)
        run = app.screen
        ranking = list(run.state.result.ranking)
        assert run.check_action("refine", ()) is False
        assert "Refine" not in screen_text(app).splitlines()[-1]     # not in the footer
        job = run.job
        await pilot.press("f")                                        # the key does nothing
        await pilot.pause()
        assert run.job is job and run.state.status == "finished" and run.state.result.ranking == ranking
        await pilot.press("question_mark")                            # the help screen says why
        await pilot.pause()
        assert "Refine  (not with this run or model)" in screen_text(app)


async def test_a_failing_refinement_keeps_the_finished_run(tmp_path, local_sandbox):
    refining = {"on": False}

    def handler(req):
        if refining["on"] and not is_critic(req):
            return RuntimeError("the connection was reset")          # not a model error: a crash
        return solve_handler(req)

    app = make_app(tmp_path, local_sandbox, job=solve_job(), handler=handler)
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_finished(pilot)
        run = app.screen
        before = (list(run.state.result.ranking), run.state.result.stop_reason, run.job)
        assert run.check_action("refine", ()) is True
        refining["on"] = True
        await pilot.press("f")
        await wait_for(pilot, lambda: run.job is before[2] and not run.state.running
                       and any("refining from" in m for m, _ in app.notified), "the refinement to fail")
        assert run.state.status == "finished"
        assert (run.state.result.ranking, run.state.result.stop_reason) == before[:2]
        message = next(m for m, _ in app.notified if "refining from" in m)
        assert message == ("refining from n2 ended: RuntimeError: the connection was reset; "
                           "the finished run is kept")
        await pilot.press("6")
        await pilot.pause()
        text = screen_text(app)
        assert "Traceback" not in text and "refining from n2 ended: RuntimeError" in text
        assert "finished" in text.splitlines()[1]


@pytest.mark.parametrize("pane", ["search-tree", "candidates", "detail"])
async def test_zoom_works_on_every_pane(tmp_path, local_sandbox, pane):
    app = make_app(tmp_path, local_sandbox, job=solve_job())
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_finished(pilot)
        run = app.screen
        target = run.query_one(f"#{pane}")
        focus = target if pane != "detail" else run.query_one("#code-view")
        focus.focus()
        await pilot.pause()
        await pilot.press("z")
        await pilot.pause()
        assert run.maximized is target
        await pilot.press("4")                                       # the keys still work zoomed
        await pilot.pause()
        await pilot.press("z")
        await pilot.pause()
        assert run.maximized is None
        await pilot.press("z", "escape")                             # escape un-zooms, it does not leave
        await pilot.pause()
        assert run.maximized is None and app.screen is run


async def test_help_screen_lists_the_keys(tmp_path, local_sandbox):
    app = make_app(tmp_path, local_sandbox, job=solve_job())
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_finished(pilot)
        await pilot.press("f1")
        await pilot.pause()
        text = screen_text(app)
        assert type(app.screen).__name__ == "HelpScreen"
        for line in ("Refine", "Save", "Zoom", "Re-run", "Prune", "^q / q        Quit", "? / f1        Help",
                     "1-7           tabs: Code, Diff, Critique, Tests, Metrics, Log, Live", "ctrl+p"):
            assert line in text, line
        assert "Apply" not in text and "Stop" not in text       # not this mode's, not now
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "RunScreen"


async def test_the_palette_holds_the_apps_commands(tmp_path, local_sandbox):
    app = make_app(tmp_path, local_sandbox, job=solve_job())
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_finished(pilot)
        run = app.screen
        titles = [c.title for c in app.get_system_commands(run)]
        for title in ("Refine from the selected candidate  (f)", "Save the selected candidate  (w)",
                      "Copy the selected candidate  (c)", "Re-run the selected candidate  (r)",
                      "Pin or unpin the selected candidate  (p)", "Prune or restore the selected candidate  (x)",
                      "Zoom the details pane", "Show the Tests tab  (4)", "Open a problem, a repository or a program",
                      "Paste a statement", "Settings  (ctrl+s)", "Help  (?)", "Back to the start screen  (escape)"):
            assert title in titles, title
        assert "Apply the selected patch  (a)" not in titles          # not a fix run
        assert "Stop the run  (escape)" not in titles                 # the run has ended
        await pilot.press("ctrl+p")                                   # through the palette itself
        await pilot.pause()
        await pilot.press(*"zoom the details")
        await wait_for(pilot, lambda: "Zoom the details pane" in screen_text(app), "the command listed")
        await pilot.press("enter")
        await wait_for(pilot, lambda: run.maximized is not None, "the zoom")
        assert run.maximized is run.query_one("#detail")


async def test_leaves_have_no_expand_arrow(tmp_path, local_sandbox):
    app = make_app(tmp_path, local_sandbox, job=solve_job())
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_finished(pilot)
        tree = app.screen.query_one("#search-tree")
        items = {item.data: item for item in tree._items.values()}
        assert items["n0"].allow_expand                               # n0 has a child (n2)
        assert not items["n2"].allow_expand and not items["n1"].allow_expand
        text = screen_text(app)
        assert "▼ n0 r0" in text and "n2 r1" in text and "▶ n2" not in text and "▼ n2" not in text
        assert "▶ n1" not in text and "▼ n1" not in text


@pytest.mark.parametrize("downloads", [True, False])
async def test_screenshots_go_where_a_directory_exists(tmp_path, local_sandbox, monkeypatch, downloads):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    if downloads:
        (home / "Downloads").mkdir()
    app = make_app(tmp_path, local_sandbox)
    async with app.run_test(size=(80, 24)) as pilot:
        app.deliver_screenshot()
        await pilot.pause()
    where = home / "Downloads" if downloads else tmp_path / "data" / "orps" / "screenshots"
    saved = list(where.glob("*.svg"))
    assert len(saved) == 1 and saved[0].read_text().startswith("<svg")
    assert any(m == f"screenshot saved to {saved[0]}" for m, _ in app.notified)
    assert not any("Failed" in m for m, _ in app.notified)


async def test_repeated_notices_are_one_toast_and_all_in_the_log(tmp_path, local_sandbox):
    def critic_down(req):  # every critic call fails: one notice per candidate
        if is_critic(req):
            return ModelError("the server closed the connection")
        return solve_handler(req)

    app = make_app(tmp_path, local_sandbox, job=solve_job(config(initial=5, rounds=1, beam=2)), handler=critic_down)
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_finished(pilot)
        run = app.screen
        toasts = [m for m, _ in app.notified if "server closed the connection" in m]
        assert len(toasts) == 1
        failed = [n for n in run.state.notices if "server closed the connection" in n.message]
        assert len(failed) >= 2
        assert any(m.startswith(f"{len(failed) - 1} more notices of this run are in the Log tab")
                   for m, _ in app.notified)
        await pilot.press("6")                                           # the Log tab
        await pilot.pause()
        log = " ".join(line.text.strip() for line in run.query_one("#run-log").lines)
        assert log.count("critic call for") == len(failed)               # every one is in the Log tab
