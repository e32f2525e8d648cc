"""Helpers for the TUI tests: a scripted programmer + critic, app construction, waiting, screen text."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from assistant.config import Settings
from assistant.engine.search import SearchConfig
from assistant.models import open_model
from assistant.models.scripted import ScriptedModel
from assistant.problems import load_problem

REPO = Path(__file__).resolve().parents[1]
RUNNING_MAX = f"{REPO / 'examples' / 'problems.jsonl'}#running-max"

CORRECT = ("def running_max(nums):\n    out = []\n    best = None\n    for x in nums:\n"
           "        best = x if best is None else max(best, x)\n        out.append(best)\n    return out\n")
WRONG = "def running_max(nums):\n    return sorted(nums)\n"


def is_critic(req) -> bool:
    return req.kind == "chat" and "strict reviewer" in req.messages[0].content


def solve_handler(req) -> str:
    """Round 0 writes a wrong program, refinement fixes it; the critic reads the real report."""
    if is_critic(req):
        report = req.messages[-1].content
        ok = "2/2 tests passed" in report
        return json.dumps({"analysis": "correct running maximum" if ok else "sorts the list instead of "
                           "keeping a running maximum", "complexity": "O(n)",
                           "suggestion": "none" if ok else "keep the largest value seen so far",
                           "score": 5 if ok else 2, "done": ok})
    if "execution report" in req.messages[-1].content:
        return f"The report shows sorting is wrong; fixed.\n```python\n{CORRECT}```\n"
    return f"Sort it.\n```python\n{WRONG}```\n"


def config(**kw) -> SearchConfig:
    base = dict(initial=2, beam=1, branching=1, rounds=2, generated_tests=False, complexity=False,
                repeat_final=1, max_calls=20, parallel=1)
    base.update(kw)
    return SearchConfig(**base)


def model_factory(handler: Callable = solve_handler) -> Callable[[str], object]:
    """Scripted models for every spec but replay:TRACE, which opens the real replay backend."""
    def make(spec: str):
        if spec.startswith("replay:"):
            return open_model(spec)
        return ScriptedModel(handler=handler)
    return make


def make_app(tmp_path: Path, sandbox, *, job=None, handler: Callable = solve_handler, prefs=None,
             companion_port: int | None = None, original: str | None = None, model_factory_=None,
             sandbox_choice: str | None = None, language: str = "python"):
    from tui.app import OrpsApp
    from tui.prefs import TuiPrefs

    settings = Settings(model="scripted", runs_dir=tmp_path / "runs", sandbox={"backend": sandbox_choice or "auto"},
                        language=language)
    prefs = prefs or TuiPrefs(max_calls=20, rounds=2, beam=1, initial=2)
    app = OrpsApp(settings=settings, prefs=prefs, job=job, model_factory=model_factory_ or model_factory(handler),
                  sandbox=sandbox, companion_port=companion_port, original=original, sandbox_choice=sandbox_choice)
    app.notified = []
    notify = app.notify

    def recording_notify(message, *args, **kw):
        app.notified.append((str(message), kw.get("severity", "information")))
        return notify(message, *args, **kw)

    app.notify = recording_notify
    return app


def solve_job(cfg: SearchConfig | None = None, trace: Path | None = None, original: str | None = None):
    from tui.modes import SolveJob
    return SolveJob(load_problem(RUNNING_MAX), cfg or config(), "scripted", trace=trace, original=original)


async def wait_for(pilot, predicate: Callable[[], bool], what: str, steps: int = 600) -> None:
    """Let the app run until `predicate()` holds (a bounded number of short pauses, no timing asserts)."""
    for _ in range(steps):
        if predicate():
            await pilot.pause()
            return
        await pilot.pause(0.02)
    raise AssertionError(f"never happened: {what}")


async def wait_finished(pilot, screen=None) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: getattr(screen or app.screen, "state", None) is not None
                   and not (screen or app.screen).state.running, "the run to end")
    await pilot.pause()  # the end's last updates (the best candidate's code) are laid out


def screen_text(app) -> str:
    """The screen as plain text (what a user sees), rendered the way screenshots are."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens,
                                                       simplify=False))
    return console.export_text()


import pytest  # noqa: E402


@pytest.fixture
def isolated_home(tmp_path, monkeypatch):
    """Config, data (runs, companion inbox, pasted statements) and cwd inside tmp_path."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("ORPS_CONFIG", raising=False)
    monkeypatch.delenv("ORPS_MODEL", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


FIXTURES = Path(__file__).parent / "fixtures"


def recorded_job(name: str = "running-max-run.json"):
    """A mode job that replays the events and result of a real run (recorded with the local
    sandbox by a scripted model), for screens whose every figure must be the same each time."""
    from pydantic import TypeAdapter

    from assistant.engine.events import AnyEvent
    from assistant.engine.search import SearchResult
    from tui.modes import SolveJob

    data = json.loads((FIXTURES / "tui" / name).read_text())
    events = [TypeAdapter(AnyEvent).validate_python(e) for e in data["events"]]
    result = SearchResult.model_validate(data["result"])
    problem = load_problem(str(REPO / data["problem"]))

    class RecordedRun(SolveJob):
        async def run(self, resources, on_event):
            import asyncio
            for event in events:
                on_event(event)
                await asyncio.sleep(0)
            return result

    return RecordedRun(problem, result.config, "scripted", original=problem.starter_code)


class StreamingModel(ScriptedModel):
    """A scripted model that writes its answers piece by piece, as real backends stream, and
    stops half-way through the answers `hold(request)` picks until `gate` opens."""

    def __init__(self, handler: Callable = solve_handler, hold: Callable | None = None, can_chat: bool = True,
                 delay: float = 0.01):
        import threading

        super().__init__(handler=handler, can_chat=can_chat)
        self.hold, self.delay = hold, delay
        self.gate = threading.Event()
        self.held = threading.Event()          # a held answer has written its first half
        self.interrupted = threading.Event()   # a call was cancelled while it wrote

    async def _answer(self, request, on_text):
        import asyncio
        import re

        from assistant.models.base import Completion

        self.requests.append(request)
        text = self._handler(request)
        pieces = re.findall(r"\s*\S+|\s+", text)
        waits = self.hold is not None and self.hold(request) and not self.gate.is_set()
        try:
            for i, piece in enumerate(pieces):
                if on_text is not None:
                    on_text(piece)
                await asyncio.sleep(self.delay)
                if waits and i == len(pieces) // 2:
                    self.held.set()
                    while not self.gate.is_set():
                        await asyncio.sleep(0.02)
        except asyncio.CancelledError:
            self.interrupted.set()
            raise
        return Completion(text=text, model=self.name, prompt_tokens=10, completion_tokens=len(pieces),
                          finish_reason="stop", backend=self.name)


def _recorded_events(data: dict) -> list:
    """The events of a recorded run, each as its own class (the engine's and hint mode's)."""
    from pydantic import BaseModel

    from assistant.engine import events as engine_events
    from assistant.modes.hint import events as hint_events

    classes = {}
    for module in (engine_events, hint_events):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseModel) and "type" in value.model_fields:
                default = value.model_fields["type"].default
                if isinstance(default, str):
                    classes[default] = value
    return [classes[e["type"]].model_validate(e) for e in data["events"]]


def recorded_fix_job():
    """Fix mode replaying a recorded run (tests/fixtures/tui/record.py) of a two-test repository."""
    from assistant.modes.fix import FixConfig
    from assistant.modes.fix.search import FixResult
    from tui.modes import FixJob

    data = json.loads((FIXTURES / "tui" / "fix-run.json").read_text())
    events = _recorded_events(data)
    result = FixResult.model_validate(data["result"])

    class RecordedFix(FixJob):
        async def run(self, resources, on_event):
            import asyncio
            for event in events:
                on_event(event)
                await asyncio.sleep(0)
            return result

    return RecordedFix(Path(data["repo"]), FixConfig.model_validate(data["result"]["config"]), "scripted",
                       Path("runs"))


def recorded_hint_job():
    """Hint mode replaying a recorded check, repair and first hint (tests/fixtures/tui/record.py)."""
    from assistant.modes.hint import HintConfig
    from assistant.modes.hint.core import HintResult
    from tui.modes import HintJob

    data = json.loads((FIXTURES / "tui" / "hint-run.json").read_text())
    events = _recorded_events(data)
    result = HintResult.model_validate(data["result"])

    class RecordedHint(HintJob):
        async def run(self, resources, on_event):
            import asyncio
            import types
            for event in events:
                on_event(event)
                await asyncio.sleep(0)
            self.session = types.SimpleNamespace(result=result)  # what the hints tab reads
            return result

    return RecordedHint(data["program"], load_problem(str(REPO / data["problem"])), HintConfig(max_level=4, k=2),
                        "scripted", program_name="mine.py")
