"""The app's commands in the command palette (ctrl+p): the same actions as the keys, offered
only where they can work (the screen's `check_action` decides, as it does for the footer)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.screen import Screen

if TYPE_CHECKING:
    from .app import OrpsApp

# (title, help, action on the screen, key) for the run screen, in palette order
RUN_COMMANDS = (
    ("Stop the run", "interrupt the model and rank the candidates so far", "stop", "escape"),
    ("Back to the start screen", "the run stays in the recent runs", "back", "escape"),
    ("Refine from the selected candidate", "more refinement rounds seeded by it", "refine", "f"),
    ("Apply the selected patch", "write it to your repository (asks first)", "apply", "a"),
    ("Next hint", "write and validate the next hint level", "hint", "h"),
    ("Show or hide the repair", "the repair is the answer: hidden by default", "reveal", "v"),
    ("Save the selected candidate", "to a file (asks where)", "save", "w"),
    ("Copy the selected candidate", "to the clipboard", "copy", "c"),
    ("Re-run the selected candidate", "in the sandbox, on every test", "rerun", "r"),
    ("Pin or unpin the selected candidate", "listed first; the search keeps it in its beam", "pin", "p"),
    ("Prune or restore the selected candidate", "dimmed, listed last; the search will not refine it", "prune",
     "x"),
    ("Diff: next base", "compare with the parent, the best, or your original", "cycle_diff", "d"),
    ("Zoom the focused pane", "full screen, or back", "zoom", "z"),
    ("Zoom the search tree", "full screen", "zoom('tree')", ""),
    ("Zoom the candidate table", "full screen", "zoom('candidates')", ""),
    ("Zoom the details pane", "code, diff, critique, tests, metrics, log, live", "zoom('detail')", ""),
)
TAB_COMMANDS = (("hints", "0"), ("code", "1"), ("diff", "2"), ("critique", "3"), ("tests", "4"),
                ("metrics", "5"), ("log", "6"), ("live", "7"))


def _allowed(screen: Screen, action: str) -> bool:
    name, _, rest = action.partition("(")
    params = tuple(p.strip().strip("'\"") for p in rest.rstrip(")").split(",")) if rest else ()
    return screen.check_action(name, params) is True


def _title(title: str, key: str) -> str:
    return f"{title}  ({key})" if key else title


def app_commands(app: OrpsApp, screen: Screen) -> Iterable[SystemCommand]:
    from .screens.run import RunScreen
    from .screens.start import StartScreen

    if isinstance(screen, RunScreen):
        for title, help_text, action, key in RUN_COMMANDS:
            if _allowed(screen, action):
                yield SystemCommand(_title(title, key), help_text, partial(app.run_action, action, screen))
        for tab, key in TAB_COMMANDS:
            if _allowed(screen, f"tab('{tab}')"):
                yield SystemCommand(_title(f"Show the {tab.capitalize()} tab", key), f"the {tab} of the run",
                                    partial(app.run_action, f"tab('{tab}')", screen))
    start = next((s for s in app.screen_stack if isinstance(s, StartScreen)), None)
    if start is not None:
        yield SystemCommand("Open a problem, a repository or a program", "type its path on the start screen",
                            partial(_on_start, app, start, "focus_path"))
        yield SystemCommand("Paste a statement", "with Input/Output samples, on the start screen",
                            partial(_on_start, app, start, "focus_paste"))
        yield SystemCommand("Recent runs", "replay one, or start a new run on its problem",
                            partial(_on_start, app, start, "focus_recent"))
    yield SystemCommand(_title("Settings", "ctrl+s"), "model, budget, sandbox, Competitive Companion",
                        app.action_settings)
    yield SystemCommand(_title("Help", "?"), "every key of this screen", app.action_help)


async def _on_start(app: OrpsApp, start: Screen, action: str) -> None:
    from .screens.run import RunScreen

    if isinstance(app.screen, RunScreen) and app.screen.state.running:
        app.notify("a search is running: stop it (escape) first", severity="warning")
        return
    app.action_home()
    await app.run_action(action, start)
