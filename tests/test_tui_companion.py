"""Competitive Companion: a POST of the extension's JSON opens the problem (same loader as files)."""

from __future__ import annotations

import asyncio
import json
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from assistant.errors import UserError
from tui.companion import CompanionListener

from .tui_support import isolated_home, make_app, wait_finished, wait_for  # noqa: F401

pytestmark = pytest.mark.usefixtures("isolated_home")

FIXTURE = Path(__file__).parent / "fixtures" / "companion.json"


def post(port: int, body: bytes) -> tuple[int, str]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def max_of_three(req):
    if req.kind == "chat" and "strict reviewer" in req.messages[0].content:
        return '{"analysis": "prints the largest", "complexity": "O(1)", "suggestion": "none", "score": 5, "done": true}'
    return "```python\nprint(max(map(int, input().split())))\n```\n"


async def test_a_pushed_problem_opens_and_is_solved(tmp_path, local_sandbox):
    app = make_app(tmp_path, local_sandbox, handler=max_of_three, companion_port=0)
    async with app.run_test(size=(80, 24)) as pilot:
        port = app.companion.port
        assert f"listening on 127.0.0.1:{port}" in app.companion_status()
        status, text = await asyncio.to_thread(post, port, FIXTURE.read_bytes())
        assert status == 200 and "b-max-of-three" in text
        await wait_for(pilot, lambda: type(app.screen).__name__ == "RunScreen", "the pushed problem's run")
        await wait_finished(pilot)
        run = app.screen
        problem = run.job.problem
        saved = tmp_path / "data" / "orps" / "companion" / "b-max-of-three.json"
        assert json.loads(saved.read_text()) == json.loads(FIXTURE.read_text())
        assert problem.id == "b-max-of-three" and problem.title == "B. Max of Three"
        assert problem.time_limit_s == 1.5 and problem.memory_limit_mb == 64 and len(problem.visible_tests) == 2
        assert run.state.result.raw.best.execution.passed == 2
        assert any("Competitive Companion: B. Max of Three (2 samples)" in m for m, _ in app.notified)


def max_of_three_cpp(req):
    if req.kind == "chat" and "strict reviewer" in req.messages[0].content:
        return '{"analysis": "prints the largest", "complexity": "O(1)", "suggestion": "none", "score": 5, "done": true}'
    assert "C++17" in req.messages[0].content  # the model is asked for C++
    return ("```cpp\n#include <bits/stdc++.h>\nint main() { long long a, b, c; std::cin >> a >> b >> c;"
            " std::cout << std::max({a, b, c}) << '\\n'; }\n```\n")


@pytest.mark.skipif(shutil.which("g++") is None, reason="g++ is not installed on this host")
async def test_a_push_is_solved_in_the_configured_language(tmp_path, local_sandbox):
    app = make_app(tmp_path, local_sandbox, handler=max_of_three_cpp, companion_port=0, language="cpp")
    async with app.run_test(size=(80, 24)) as pilot:
        status, _ = await asyncio.to_thread(post, app.companion.port, FIXTURE.read_bytes())
        assert status == 200
        await wait_for(pilot, lambda: type(app.screen).__name__ == "RunScreen", "the pushed problem's run")
        await wait_finished(pilot)
        run = app.screen
        assert run.job.problem.language == "cpp"
        best = run.state.result.raw.best
        assert best.language == "cpp" and best.execution.passed == 2
        # the code tab highlights it as C++, and saving names it .cpp
        assert run.job.code(best)[1] == "cpp" and run.job.export(best)[1].endswith(".cpp")


async def test_bad_pushes_are_refused_with_the_loaders_message(tmp_path, local_sandbox):
    app = make_app(tmp_path, local_sandbox, companion_port=0)
    async with app.run_test(size=(80, 24)) as pilot:
        port = app.companion.port
        status, text = await asyncio.to_thread(post, port, b"{not json")
        assert status == 400 and "not JSON" in text
        interactive = dict(json.loads(FIXTURE.read_text()), interactive=True)
        status, text = await asyncio.to_thread(post, port, json.dumps(interactive).encode())
        assert status == 400 and "interactive problems are not supported" in text
        await wait_for(pilot, lambda: len(app.notified) >= 2, "two notifications")
        assert [sev for _, sev in app.notified] == ["error", "error"]
        assert type(app.screen).__name__ == "StartScreen"


async def test_a_push_during_a_run_does_not_interrupt_it(tmp_path, local_sandbox):
    import threading

    gate = threading.Event()

    async def slow(req):
        await asyncio.to_thread(gate.wait)
        return max_of_three(req)

    from .tui_support import solve_job
    app = make_app(tmp_path, local_sandbox, handler=slow, companion_port=0, job=solve_job())
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            run = app.screen
            status, _ = await asyncio.to_thread(post, app.companion.port, FIXTURE.read_bytes())
            assert status == 200
            await wait_for(pilot, lambda: any("search is running" in m for m, _ in app.notified), "the warning")
            assert app.screen is run
            start = app.screen_stack[1]
            assert start.query_one("#path").value.endswith("b-max-of-three.json")  # ready to open after
            gate.set()
            await wait_finished(pilot, run)
    finally:
        gate.set()


def test_a_port_in_use_is_one_line():
    first = CompanionListener(lambda p, path: None, lambda t: None, port=0)
    port = first.start()
    try:
        with pytest.raises(UserError, match=f"cannot listen on 127.0.0.1:{port}"):
            CompanionListener(lambda p, path: None, lambda t: None, port=port).start()
    finally:
        first.stop()
