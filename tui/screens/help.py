"""The help screen (? or F1): every key of the screen below it, read from its bindings, and
whether each action can be used now."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

from .plain import PlainNotify

NOTES = {
    "RunScreen": ("tab / shift+tab move the focus between the tree, the candidates and the details; "
                  "z zooms the focused pane; escape stops a run (twice: cancels at once), then goes back."),
    "StartScreen": "enter opens what the path names: a problem, a git repository (fix mode) or a .py program (hints).",
}


def screen_bindings(screen: Screen) -> list[Binding]:
    """The screen's own bindings then the app's, each key once (tab keys 1-9 kept apart)."""
    seen: set[tuple[str, str]] = set()
    out: list[Binding] = []
    for owner in (type(screen), type(screen.app)):
        for cls in owner.__mro__:
            for binding in Binding.make_bindings(cls.__dict__.get("BINDINGS", [])):
                if binding.system or (binding.key, binding.action) in seen:
                    continue
                seen.add((binding.key, binding.action))
                out.append(binding)
    return out


def _namespace(screen: Screen, binding: Binding):
    return screen if binding in Binding.make_bindings(getattr(type(screen), "BINDINGS", [])) else screen.app


def keys_table(screen: Screen) -> Table:
    app = screen.app
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    tabs: list[str] = []
    rows: dict[str, tuple[list[str], str, str]] = {}
    for binding in screen_bindings(screen):
        action = binding.action
        name, _, rest = action.partition("(")
        if name == "tab":
            if screen.check_action(name, (rest.strip("()'\""),)) is not False:
                tabs.append((binding.key, binding.description))
            continue
        target = _namespace(screen, binding)
        params = tuple(p.strip("'\" ") for p in rest.rstrip(")").split(",")) if rest else ()
        state = target.check_action(name, params)
        if state is False:
            # an action that does not apply here is left out, unless the screen says why it is not offered
            why = getattr(target, "unavailable_reason", lambda action: None)(name)
            if why is None:
                continue
            note = f"  ({why})"
        else:
            note = "" if state is True else "  (not now)"
        key = app.get_key_display(binding)
        entry = rows.setdefault(action + note, ([], binding.description or action, note))
        if key not in entry[0]:
            entry[0].append(key)
    for keys, description, note in rows.values():
        table.add_row(" / ".join(keys), Text(description) + Text(note, style="dim"))
    if tabs:
        tabs.sort()
        table.add_row(f"{tabs[0][0]}-{tabs[-1][0]}", "tabs: " + ", ".join(label for _, label in tabs))
    table.add_row("ctrl+p", "every command (search by name)")
    return table


class HelpScreen(PlainNotify, ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,f1,q", "dismiss", "Close")]

    def __init__(self, under: Screen, **kw) -> None:
        super().__init__(**kw)
        self.under = under

    def compose(self) -> ComposeResult:
        name = type(self.under).__name__
        title = {"RunScreen": "Keys of the run screen", "StartScreen": "Keys of the start screen",
                 "SettingsScreen": "Keys of the settings screen"}.get(name, "Keys")
        with Vertical(classes="dialog help-dialog"):
            yield Label(title, classes="dialog-title")
            with VerticalScroll(classes="help-keys"):
                yield Static(keys_table(self.under))
                if name in NOTES:
                    yield Static(Text(NOTES[name], style="dim"), classes="help-note")
            yield Label(Text("escape, ? or q closes", style="dim"))

    def action_dismiss(self) -> None:
        self.dismiss(None)
