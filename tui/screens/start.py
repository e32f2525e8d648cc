"""The start screen: open a problem (file, directory, FILE.jsonl#ID) or a repository, paste a
statement, or pick a recent run."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Header, Input, Label, Static, TextArea

from assistant.config import data_dir
from assistant.engine.programmer import slug
from assistant.engine.search import SearchConfig
from assistant.errors import UserError
from assistant.problems import Problem, load_problem

from ..runs import RecentRun
from ..widgets.recent_runs import RecentRunsTable
from .plain import PlainNotify


def save_pasted(text: str, directory: Path | None = None) -> Path:
    """Keep a pasted statement as a file (statements/NAME.md), so its runs can be reopened."""
    from assistant.problems.loaders import parse_statement

    if not text.strip():
        raise UserError("paste a statement first (with Input/Output sample blocks)")
    title = parse_statement(text, "pasted", source="pasted", display="pasted statement").title
    directory = directory or data_dir() / "statements"
    directory.mkdir(parents=True, exist_ok=True)
    name = slug(title) if title and title != "pasted" else "pasted-" + datetime.now().strftime("%Y%m%d-%H%M%S")
    path = directory / f"{name}.md"
    path.write_text(text.strip() + "\n", encoding="utf-8")
    return path


def is_git_repo(path: Path) -> bool:
    return (path / ".git").exists()


class StartScreen(PlainNotify, Screen):
    BINDINGS = [
        Binding("ctrl+o", "focus_path", "Open"),
        Binding("ctrl+t", "focus_paste", "Paste"),
        Binding("ctrl+r", "focus_recent", "Recent"),
        Binding("n", "new_run", "New run", show=False),
        Binding("ctrl+s", "app.settings", "Settings"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="start"):
            yield Label("Problem file/dir/FILE.jsonl#ID, a git repo (fix), or a .py program (hints)",
                        classes="start-label")
            with Horizontal(classes="start-row"):
                yield Input(placeholder="examples/problems.jsonl#running-max", id="path")
                yield Button("Solve", variant="primary", id="open")
            yield Label("…or paste a statement with Input/Output samples", classes="start-label")
            with Horizontal(classes="start-row", id="paste-row"):
                yield TextArea(id="statement", soft_wrap=True, show_line_numbers=False)
                yield Button("Solve", id="paste")
            yield Label("Recent runs (enter: replay · n: new run on the problem)", classes="start-label")
            yield RecentRunsTable(id="recent")
        yield Static("", id="companion-status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "start"
        self.query_one("#path", Input).focus()
        self.refresh_recent()
        self.update_companion_status()

    def on_screen_resume(self) -> None:
        self.refresh_recent()
        self.update_companion_status()

    def refresh_recent(self) -> None:
        self.query_one(RecentRunsTable).load(self.app.settings.runs_dir)

    def update_companion_status(self) -> None:
        self.query_one("#companion-status", Static).update(self.app.companion_status())

    # ------------------------------------------------------------------ actions

    def action_focus_path(self) -> None:
        self.query_one("#path", Input).focus()

    def action_focus_paste(self) -> None:
        self.query_one("#statement", TextArea).focus()

    def action_focus_recent(self) -> None:
        self.query_one(RecentRunsTable).focus()

    def set_path(self, spec: str) -> None:
        self.query_one("#path", Input).value = spec

    @on(Input.Submitted, "#path")
    @on(Button.Pressed, "#open")
    def _open(self) -> None:
        spec = self.query_one("#path", Input).value.strip()
        if not spec:
            self.notify("type a problem path first", severity="warning")
            return
        self.open_spec(spec)

    @on(Button.Pressed, "#paste")
    def _paste(self) -> None:
        self.open_pasted(self.query_one("#statement", TextArea).text)

    @work(group="open", exclusive=True, exit_on_error=False)
    async def open_spec(self, spec: str) -> None:
        path = Path(spec).expanduser()
        if path.suffix == ".py" and path.is_file():
            self.ask_problem_for(path)
            return
        try:
            problem = await asyncio.to_thread(load_problem, spec)
        except UserError as exc:
            if path.is_dir() and is_git_repo(path):
                self.app.open_repo(path)
                return
            self.notify(str(exc), severity="error")
            return
        self.app.solve(self.app.in_language(problem))

    def ask_problem_for(self, program: Path) -> None:
        """A Python file is a program to give hints on: ask which problem (with tests) it solves."""
        from .dialogs import PathScreen

        def chosen(spec: str | None) -> None:
            if spec:
                self.open_hint(program, spec)

        self.app.push_screen(PathScreen(f"Hints for {program.name}: the problem it should solve (with tests)", "",
                                        action="Check"), chosen)

    @work(group="open", exclusive=True, exit_on_error=False)
    async def open_hint(self, program: Path, problem_spec: str) -> None:
        from assistant.problems.loaders import read_text

        try:
            source = await asyncio.to_thread(read_text, program, str(program))
            problem = await asyncio.to_thread(load_problem, problem_spec)
        except UserError as exc:
            self.notify(str(exc), severity="error")
            return
        self.app.hint(source, problem, program.name)

    @work(group="open", exclusive=True, exit_on_error=False)
    async def open_pasted(self, text: str) -> None:
        try:
            path = await asyncio.to_thread(save_pasted, text)
            problem = await asyncio.to_thread(load_problem, str(path))
        except UserError as exc:
            self.notify(str(exc), severity="error")
            return
        except OSError as exc:
            self.notify(f"cannot keep the pasted statement: {exc.strerror or exc}", severity="error")
            return
        if not problem.visible_tests:
            self.notify(f"no Input/Output samples found: {problem.id} is solved unverified", severity="warning")
        self.app.solve(self.app.in_language(problem))

    @on(DataTable.RowSelected, "#recent")
    def _replay(self, event: DataTable.RowSelected) -> None:
        run = self.query_one(RecentRunsTable).run_at(event.cursor_row)
        if run is not None:
            self.reopen(run, replay=True)

    def action_new_run(self) -> None:
        table = self.query_one(RecentRunsTable)
        if not table.has_focus:
            return
        run = table.run_at(table.cursor_row)
        if run is not None:
            self.reopen(run, replay=False)

    @work(group="open", exclusive=True, exit_on_error=False)
    async def reopen(self, run: RecentRun, replay: bool) -> None:
        if not run.problem_source:
            self.notify(f"{run.path.name}: the trace does not say where its problem came from", severity="error")
            return
        if run.mode == "fix":
            repo = Path(run.problem_source)
            if not repo.is_dir():
                self.notify(f"cannot reopen {run.problem}: {repo} is not a directory any more", severity="error")
                return
            self.app.open_repo(repo, model_spec=f"replay:{run.path}" if replay else None,
                               config=run.config if replay else None, trace=not replay)
            return
        try:
            problem: Problem = await asyncio.to_thread(load_problem, run.problem_source)
        except UserError as exc:
            self.notify(f"cannot reopen {run.problem}: {exc}", severity="error")
            return
        if not replay:
            self.app.solve(self.app.in_language(problem))
            return
        if run.language:  # a replay asks the same questions: in the language the run wrote
            problem = problem.model_copy(update={"language": run.language})
        config = SearchConfig.model_validate(run.config) if run.config else None
        unfinished = " (a run that did not finish: it ends where the recording ends)" if run.candidates is None else ""
        self.app.solve(problem, config=config, model_spec=f"replay:{run.path}",
                       label=f"replay of {run.path.name}{unfinished}", trace=False)
