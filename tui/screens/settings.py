"""The settings screen: model backend and model, the language solve writes, search budget,
sandbox, Competitive Companion.

Saved to the orps config file ([tui] holds the TUI's budget and listener settings)."""

from __future__ import annotations

from pydantic import ValidationError
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, Select, Switch

from assistant.config import config_path, load_settings, save_settings
from assistant.errors import UserError

from ..prefs import TuiPrefs
from .plain import PlainNotify

BACKENDS = (("embedded (built-in llama.cpp)", "embedded"), ("ollama", "ollama"),
            ("OpenAI-compatible server", "openai"), ("replay a trace", "replay"))
MODEL_HELP = {"embedded": "optional: PATH.gguf", "ollama": "NAME, e.g. qwen2.5-coder:7b",
              "openai": "URL[,URL...]#MODEL", "replay": "TRACE.jsonl"}


def LANGUAGES() -> list[tuple[str, str]]:  # noqa: N802 - a table, read when the screen opens
    """The languages `solve` (and a Competitive Companion push) can write: the sandbox's table.
    Function problems are always solved in Python."""
    from sandbox.languages import languages
    return [(lang.name, key) for key, lang in languages().items()]


def split_spec(spec: str) -> tuple[str, str]:
    scheme, _, rest = spec.partition(":")
    scheme = scheme.strip().lower()
    if scheme.startswith("embedded?"):  # embedded?n_ctx=... has options but no path
        return "embedded", spec.strip()[len("embedded"):]
    return (scheme, rest) if scheme in MODEL_HELP else ("embedded", "")


def join_spec(backend: str, model: str) -> str:
    model = model.strip()
    if backend == "embedded":
        if not model:
            return "embedded"
        return f"embedded{model}" if model.startswith("?") else f"embedded:{model}"
    if not model:
        raise UserError(f"the {backend} backend needs a model: {MODEL_HELP[backend]}")
    if backend == "openai" and "#" not in model:
        raise UserError(f"an OpenAI-compatible model is {MODEL_HELP['openai']} (the '#MODEL' part is missing)")
    return f"{backend}:{model}"


def _number(value: str, kind: type, name: str):
    value = value.strip()
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise UserError(f"{name}: '{value}' is not a {'whole ' if kind is int else ''}number") from None


class SettingsScreen(PlainNotify, Screen):
    BINDINGS = [Binding("ctrl+s", "save", "Save"), Binding("escape", "app.pop_screen", "Back")]

    def compose(self) -> ComposeResult:
        settings, prefs = self.app.settings, self.app.prefs
        in_use = self.app.current_model_spec()  # --model wins over the config file for this session
        backend, model = split_spec(in_use)
        yield Header()
        with VerticalScroll(id="settings"):
            if in_use != settings.model:
                yield Label(Text(f"in use now: {in_use} (from the command line); the config file says "
                                 f"{settings.model}. Saving makes the model below the default."),
                            classes="settings-note")
            with Grid(classes="settings-grid"):
                yield Label("Model backend")
                yield Select(BACKENDS, value=backend, allow_blank=False, id="backend")
                yield Label("Model")
                yield Input(model, placeholder=MODEL_HELP[backend], id="model")
                yield Label("Method")
                yield Select([(m, m) for m in ("orps", "bon", "cot", "reflexion")], value=prefs.method,
                             allow_blank=False, id="method")
                yield Label("Language")
                yield Select(LANGUAGES(), value=settings.language, allow_blank=False, id="language")
                yield Label("Budget: model calls")
                yield Input(_text(prefs.max_calls), placeholder="no limit", type="integer", id="max_calls")
                yield Label("Budget: tokens")
                yield Input(_text(prefs.max_tokens), placeholder="no limit", type="integer", id="max_tokens")
                yield Label("Budget: seconds")
                yield Input(_text(prefs.max_wall_s), placeholder="no limit", type="number", id="max_wall_s")
                yield Label("Rounds / beam / initial")
                with Horizontal(classes="settings-triple"):
                    yield Input(str(prefs.rounds), type="integer", id="rounds")
                    yield Input(str(prefs.beam), type="integer", id="beam")
                    yield Input(str(prefs.initial), type="integer", id="initial")
                yield Label("Sandbox")
                yield Select([("auto (Docker if it answers)", "auto"), ("docker", "docker"),
                              ("local (weaker isolation)", "local")],
                             value=settings.sandbox.backend, allow_blank=False, id="sandbox")
                yield Label("Runs directory")
                yield Input(str(settings.runs_dir), id="runs_dir")
                yield Label("Competitive Companion")
                with Horizontal(classes="settings-companion"):
                    yield Switch(prefs.companion, id="companion")
                    yield Label("port", classes="settings-port-label")
                    yield Input(str(prefs.companion_port), type="integer", id="companion_port")
        # outside the scrolling form: Save is always on screen, whatever the terminal's height
        with Horizontal(classes="settings-buttons"):
            yield Label(Text(f"saved to {config_path()}"), classes="settings-path")
            yield Button("Save", variant="primary", id="save")
            yield Button("Cancel", id="cancel")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "settings"

    @on(Select.Changed, "#backend")
    def _backend_changed(self, event: Select.Changed) -> None:
        self.query_one("#model", Input).placeholder = MODEL_HELP.get(str(event.value), "")

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.app.pop_screen()

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        try:
            spec, prefs, updates = self.collect()
            path = save_settings(updates)
        except UserError as exc:
            self.notify(str(exc), severity="error")
            return
        try:
            settings = load_settings()
        except UserError as exc:
            self.notify(str(exc), severity="error")
            return
        self.app.apply_settings(settings, prefs)
        if settings.model != spec:
            self.notify(f"saved, but ORPS_MODEL in the environment overrides the model ({settings.model})",
                        severity="warning")
        else:
            self.notify(f"settings saved to {path}")
        self.app.pop_screen()

    def collect(self) -> tuple[str, TuiPrefs, dict]:
        def value(id_: str) -> str:
            return self.query_one(f"#{id_}", Input).value

        spec = join_spec(str(self.query_one("#backend", Select).value), value("model"))
        try:
            prefs = TuiPrefs(method=self.query_one("#method", Select).value,
                             max_calls=_number(value("max_calls"), int, "model calls"),
                             max_tokens=_number(value("max_tokens"), int, "tokens"),
                             max_wall_s=_number(value("max_wall_s"), float, "seconds"),
                             rounds=_required(value("rounds"), "rounds"),
                             beam=_required(value("beam"), "beam"),
                             initial=_required(value("initial"), "initial"),
                             companion=self.query_one("#companion", Switch).value,
                             companion_port=_required(value("companion_port"), "port"))
        except ValidationError as exc:
            err = exc.errors()[0]
            raise UserError(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}") from None
        runs_dir = value("runs_dir").strip()
        if not runs_dir:
            raise UserError("runs directory: give a directory for run traces")
        updates = {"model": spec, "runs_dir": runs_dir, "language": str(self.query_one("#language", Select).value),
                   "sandbox": {"backend": str(self.query_one("#sandbox", Select).value)},
                   "tui": prefs.as_section()}
        return spec, prefs, updates


def _required(value: str, name: str) -> int:
    number = _number(value, int, name)
    if number is None:
        raise UserError(f"{name}: give a whole number")
    return number


def _text(value) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)
