"""The orps terminal UI: start, run and settings screens over the engine's public API and events.

`run_app()` is what `orps`, `orps tui` and `orps solve --tui` call.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen

from assistant.config import Settings, load_settings
from assistant.engine.search import SearchConfig
from assistant.errors import UserError
from assistant.problems import Problem

from .companion import CompanionListener
from .modes import FixJob, HintJob, ModeJob, SolveJob
from .prefs import TuiPrefs, load_prefs
from .runner import EngineLoop, ModelFactory, Resources
from .screens.run import RunScreen
from .screens.settings import SettingsScreen
from .screens.start import StartScreen


class CompanionProblem(Message):
    def __init__(self, problem: Problem, path: Path) -> None:
        super().__init__()
        self.problem, self.path = problem, path


class CompanionError(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class SandboxWarning(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


QUIT_WAIT_S = 1.5  # the terminal is given back by then; what is still closing finishes after


def screenshot_directory() -> Path:
    """Where screenshots go: the user's Downloads directory if it exists (Textual's default),
    else DATA_DIR/screenshots (made on demand)."""
    from platformdirs import user_downloads_path

    from assistant.config import data_dir

    downloads = user_downloads_path()
    if downloads.is_dir():
        return downloads
    directory = data_dir() / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


class OrpsApp(App):
    CSS_PATH = "orps.tcss"
    TITLE = "orps"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS = [Binding("ctrl+s", "settings", "Settings", show=False),
                Binding("ctrl+q", "quit", "Quit", priority=True),
                Binding("question_mark,f1", "help", "Help"),
                # not a priority binding: a focused text input takes the letter first
                Binding("q", "quit", "Quit", show=False)]

    def __init__(self, *, settings: Settings | None = None, prefs: TuiPrefs | None = None,
                 job: ModeJob | None = None, model_spec: str | None = None, sandbox_choice: str | None = None,
                 model_factory: ModelFactory | None = None, sandbox: Any = None,
                 companion_port: int | None = -1, original: str | None = None, **kw: Any) -> None:
        """`companion_port`: -1 takes the configured port (if enabled), None disables the
        listener, 0 asks for any free port (tests)."""
        super().__init__(**kw)
        self.settings = settings or load_settings()
        self.prefs = prefs or load_prefs()
        self.model_spec = model_spec              # from the command line: wins over the settings
        self.sandbox_choice = sandbox_choice
        self.original = original
        self._initial_job = job
        self._companion_port = companion_port
        self.companion: CompanionListener | None = None
        self.companion_error: str | None = None
        self.engine = EngineLoop()
        self.resources = Resources(self.settings.sandbox, model_factory=model_factory, sandbox=sandbox,
                                   sandbox_choice=sandbox_choice,
                                   warn=lambda text: self.post_message(SandboxWarning(text)))
        self.quitting = False

    # ------------------------------------------------------------------ life cycle

    def on_mount(self) -> None:
        self.push_screen(StartScreen())
        self.start_companion()
        if self._initial_job is not None:
            self.push_screen(RunScreen(self._initial_job))

    def on_unmount(self) -> None:
        self.stop_companion()
        if self.engine.shutdown is None:
            # not through `quit` (a test, or the app ending otherwise): shut down here
            self.engine.close(self.resources.aclose())
        elif self.engine.shutdown.done():
            self.engine.close(timeout=1.0)
        # else the terminal is given back first; run_app's finish_shutdown waits for the rest

    async def action_quit(self) -> None:
        """Quit, safely and soon: "stopping…" shows while the run is cancelled (model calls are
        interrupted, not killed under their thread), models and the sandbox close (containers
        removed); after QUIT_WAIT_S the terminal is given back anyway and `finish_shutdown`
        waits for the rest. A second quit does not wait on screen."""
        if self.quitting:
            self.exit()
            return
        self.quitting = True
        reason = "quitting: stopping the run, closing the model and the sandbox"
        for screen in self.screen_stack:
            if isinstance(screen, RunScreen):
                screen.show_quitting(reason)
        self.notify(reason + "…", severity="warning", timeout=QUIT_WAIT_S + 1)
        self.run_worker(self._quit(), group="quit", exclusive=True, exit_on_error=False)

    async def _quit(self) -> None:
        future = self.engine.begin_shutdown(self.resources.aclose())
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), QUIT_WAIT_S)
        except (TimeoutError, asyncio.TimeoutError, Exception):
            pass  # finish_shutdown waits for it once the terminal is back
        self.exit()

    def finish_shutdown(self, timeout: float = 30.0) -> None:
        """After the app has exited: wait for whatever is still closing, saying so on stderr."""
        future = self.engine.shutdown
        if future is not None and not future.done():
            print("orps: waiting for the model and the sandbox to stop…", file=sys.stderr, flush=True)
        self.engine.close(timeout=timeout)

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Plain text by default: messages carry model output, paths and errors, never markup."""
        return super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def action_help_quit(self) -> None:  # ctrl+c outside a text input
        self.notify("press q or ctrl+q to quit (ctrl+c copies in a text input)", title="Do you want to quit?")

    def action_help(self) -> None:
        from .screens.help import HelpScreen
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The command palette (ctrl+p): the app's own commands first, then Textual's."""
        from .commands import app_commands
        yield from app_commands(self, screen)
        yield from super().get_system_commands(screen)

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """Screenshots go to the Downloads directory when there is one, else to DATA_DIR/screenshots."""
        try:
            directory = Path(path) if path else screenshot_directory()
            saved = self.save_screenshot(filename, str(directory), time_format)
        except OSError as exc:
            self.notify(f"cannot save the screenshot: {exc.strerror or exc}", severity="error")
            return None
        self.notify(f"screenshot saved to {saved}", title="Screenshot")
        return None

    # ------------------------------------------------------------------ jobs

    def current_model_spec(self) -> str:
        return self.model_spec or self.settings.model

    def search_config(self) -> SearchConfig:
        return self.prefs.search_config()

    def in_language(self, problem: Problem) -> Problem:
        """A newly opened problem (a file, a Competitive Companion push) in the configured language."""
        from assistant.languages import for_problem
        return for_problem(problem, None, self.settings.language)

    def solve(self, problem: Problem, config: SearchConfig | None = None, model_spec: str | None = None,
              label: str = "", trace: bool = True) -> RunScreen | None:
        """Open a run screen solving `problem` (a trace goes to the runs directory)."""
        from assistant.modes.solve import default_trace_path

        config = config or self.search_config()
        trace_path = default_trace_path(self.settings.runs_dir, problem, config.method) if trace else None
        job = SolveJob(problem, config, model_spec or self.current_model_spec(), original=self.original,
                       trace=trace_path, label=label)
        return self.open_job(job)

    def open_job(self, job: ModeJob) -> RunScreen | None:
        current = self.screen
        if isinstance(current, RunScreen) and current.state.running:
            self.notify(f"a search is running: stop it (escape) before opening {job.title}", severity="warning")
            return None
        screen = RunScreen(job)
        if isinstance(current, RunScreen):
            self.switch_screen(screen)
        else:
            self.push_screen(screen)
        return screen

    def fix_config(self):
        from assistant.modes.fix import FixConfig
        p = self.prefs
        return FixConfig(max_calls=p.max_calls, max_tokens=p.max_tokens, max_wall_s=p.max_wall_s, rounds=p.rounds,
                         beam=p.beam, initial=p.initial)

    def hint_config(self):
        from assistant.modes.hint import HintConfig
        return HintConfig(max_level=4, max_tutor_calls=self.prefs.max_calls)

    def open_repo(self, path: Path, model_spec: str | None = None, config: dict | None = None,
                  trace: bool = True) -> RunScreen | None:
        """Fix mode: ranked patches for the repository's failing tests (a trace in the runs directory).
        `config`: a recorded FixConfig (a replay needs the same one)."""
        from assistant.modes.fix import FixConfig
        from assistant.modes.fix.run import default_trace_path

        fix_config = FixConfig.model_validate(config) if config else self.fix_config()
        job = FixJob(path, fix_config, model_spec or self.current_model_spec(), self.settings.runs_dir,
                     trace=default_trace_path(self.settings.runs_dir, path.resolve()) if trace else None)
        if model_spec and model_spec.startswith("replay:"):
            job.label = f"replay of {Path(model_spec[len('replay:'):]).name}"
        return self.open_job(job)

    def hint(self, program: str, problem: Problem, program_name: str,
             model_spec: str | None = None) -> RunScreen | None:
        """Hint mode: check the program, find the smallest repair, then hints one at a time."""
        job = HintJob(program, problem, self.hint_config(), model_spec or self.current_model_spec(),
                      program_name=program_name)
        return self.open_job(job)

    def action_home(self) -> None:
        """Back to the start screen (it is always at the bottom of the stack)."""
        while len(self.screen_stack) > 2 and not isinstance(self.screen, StartScreen):
            self.pop_screen()
        if not isinstance(self.screen, StartScreen):
            self.pop_screen()

    def action_settings(self) -> None:
        if not isinstance(self.screen, SettingsScreen):
            self.push_screen(SettingsScreen())

    def apply_settings(self, settings: Settings, prefs: TuiPrefs) -> None:
        sandbox_changed = settings.sandbox != self.settings.sandbox
        companion_changed = (prefs.companion, prefs.companion_port) != (self.prefs.companion,
                                                                         self.prefs.companion_port)
        self.settings, self.prefs = settings, prefs
        self.model_spec = None  # the saved model is the one to use from now on
        if sandbox_changed:
            self.engine.submit(self.resources.reconfigure(settings.sandbox, self.sandbox_choice))
        if companion_changed and self._companion_port == -1:
            self.stop_companion()
            self.start_companion()

    # ------------------------------------------------------------------ Competitive Companion

    def start_companion(self) -> None:
        port = self._companion_port
        if port is None or (port == -1 and not self.prefs.companion):
            return
        if port == -1:
            port = self.prefs.companion_port
        listener = CompanionListener(on_problem=lambda p, path: self.post_message(CompanionProblem(p, path)),
                                     on_error=lambda text: self.post_message(CompanionError(text)), port=port)
        try:
            listener.start()
        except UserError as exc:
            self.companion_error = str(exc)
            self.notify(str(exc), severity="warning", timeout=10)
            return
        self.companion, self.companion_error = listener, None

    def stop_companion(self) -> None:
        if self.companion is not None:
            self.companion.stop()
            self.companion = None

    def companion_status(self) -> str:
        if self.companion is not None:
            return f"Competitive Companion: listening on 127.0.0.1:{self.companion.port}"
        if self.companion_error:
            return "Competitive Companion: not listening (port in use)"
        return "Competitive Companion: off (settings)"

    def on_companion_problem(self, message: CompanionProblem) -> None:
        problem = message.problem
        self.notify(f"Competitive Companion: {problem.title or problem.id} "
                    f"({len(problem.visible_tests)} samples)")
        for screen in self.screen_stack:
            if isinstance(screen, StartScreen):
                screen.set_path(str(message.path))
        self.solve(self.in_language(problem))

    def on_companion_error(self, message: CompanionError) -> None:
        self.notify(message.text, severity="error")

    def on_sandbox_warning(self, message: SandboxWarning) -> None:
        self.notify(message.text, severity="warning", timeout=15)


def run_app(mode: str = "start", problem: Problem | None = None, config: Any = None,
            model_spec: str | None = None, sandbox_choice: str | None = None, original: str | None = None,
            companion: bool = True, repo: str | Path | None = None, tests: list[str] | None = None,
            keyword: str | None = None, program: str | None = None, program_name: str = "program.py",
            student_spec: str | None = None) -> int:
    """Run the TUI: on the start screen (`mode` "start"), or straight on a job:
    "solve" (`problem`, `config`: SearchConfig), "fix" (`repo`, `tests`, `keyword`, `config`:
    FixConfig) or "hint" (`program` source, `problem`, `config`: HintConfig, `student_spec`).
    Returns the app's exit code: 0 after a normal quit, 1 after a crash."""
    app_kw: dict[str, Any] = dict(model_spec=model_spec, sandbox_choice=sandbox_choice, original=original,
                                  companion_port=-1 if companion else None)
    if mode not in ("start", "solve", "fix", "hint"):
        raise UserError(f"unknown TUI mode '{mode}'")
    if mode in ("solve", "hint") and problem is None:
        raise UserError(f"{mode} needs a problem")
    if mode == "fix" and repo is None:
        raise UserError("fix needs a repository")
    if mode == "hint" and program is None:
        raise UserError("hint needs the program to give hints on")
    app = OrpsApp(**app_kw)
    spec = model_spec or app.settings.model
    if mode == "solve":
        from assistant.modes.solve import default_trace_path

        config = config or app.prefs.search_config()
        app._initial_job = SolveJob(problem, config, spec, original=original,
                                    trace=default_trace_path(app.settings.runs_dir, problem, config.method))
    elif mode == "fix":
        from assistant.modes.fix.run import default_trace_path as fix_trace_path

        root = Path(repo)
        app._initial_job = FixJob(root, config or app.fix_config(), spec, app.settings.runs_dir, tests=tests,
                                  keyword=keyword, trace=fix_trace_path(app.settings.runs_dir, root.resolve()))
    elif mode == "hint":
        app._initial_job = HintJob(program, problem, config or app.hint_config(), spec, student_spec=student_spec,
                                   program_name=program_name)
    with _logging_to_file():
        try:
            app.run()
        finally:
            app.finish_shutdown()
            # Every model, sandbox and file is closed by now. The interpreter's last collection
            # would still walk every object left (Textual, pydantic, llama.cpp's modules): a
            # second or more on a busy machine before the shell comes back, for memory that the
            # process gives back anyway. Frozen objects are skipped by it.
            import gc
            gc.freeze()
    return app.return_code or 0


class _logging_to_file:
    """While the UI owns the terminal, log records go to DATA_DIR/tui.log instead of stderr."""

    def __enter__(self) -> None:
        import logging

        from assistant.config import data_dir

        root = logging.getLogger()
        self.saved = root.handlers[:]
        try:
            path = data_dir() / "tui.log"
            path.parent.mkdir(parents=True, exist_ok=True)
            handler: logging.Handler = logging.FileHandler(path, encoding="utf-8")
        except OSError:
            handler = logging.NullHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.handlers = [handler]

    def __exit__(self, *exc) -> None:
        import logging

        root = logging.getLogger()
        for handler in root.handlers:
            handler.close()
        root.handlers = self.saved
