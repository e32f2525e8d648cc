"""The settings screen writes the config file; save_settings merges and validates."""

from __future__ import annotations

import tomllib

import pytest

from assistant.config import config_path, load_settings, save_settings
from assistant.errors import UserError
from tui.prefs import load_prefs

from .tui_support import isolated_home, make_app, screen_text, wait_for  # noqa: F401

pytestmark = pytest.mark.usefixtures("isolated_home")


def test_save_settings_merges_keeps_unknown_keys_and_drops_none():
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text('model = "ollama:llama3.1"\n[sandbox]\npool_size = 3\n[tui]\nmax_tokens = 5000\n'
                    '[other]\nkeep = true\n')
    written = save_settings({"sandbox": {"backend": "local"}, "tui": {"max_tokens": None, "rounds": 1}})
    assert written == path
    data = tomllib.loads(path.read_text())
    assert data == {"model": "ollama:llama3.1", "sandbox": {"pool_size": 3, "backend": "local"},
                    "tui": {"rounds": 1}, "other": {"keep": True}}
    assert load_settings().sandbox.backend == "local" and load_settings().sandbox.pool_size == 3


def test_save_settings_refuses_an_invalid_value_and_leaves_the_file():
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text('model = "embedded"\n')
    with pytest.raises(UserError, match="invalid setting sandbox.backend"):
        save_settings({"sandbox": {"backend": "podman"}})
    assert path.read_text() == 'model = "embedded"\n'


def test_save_settings_on_a_broken_file_is_one_line():
    path = config_path()
    path.parent.mkdir(parents=True)
    path.write_text("model = \n")
    with pytest.raises(UserError, match="not a valid TOML config file"):
        save_settings({"model": "embedded"})


async def test_the_settings_screen_saves_backend_model_budget_sandbox_and_companion(tmp_path, local_sandbox):
    app = make_app(tmp_path, local_sandbox)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
        screen = app.screen
        assert type(screen).__name__ == "SettingsScreen"
        assert "Model backend" in screen_text(app)
        screen.query_one("#backend").value = "ollama"
        screen.query_one("#model").value = "qwen2.5-coder:7b"
        screen.query_one("#method").value = "bon"
        screen.query_one("#language").value = "cpp"
        screen.query_one("#max_calls").value = "12"
        screen.query_one("#max_tokens").value = "9000"
        screen.query_one("#max_wall_s").value = "90"
        screen.query_one("#rounds").value = "1"
        screen.query_one("#sandbox").value = "local"
        screen.query_one("#companion").value = False
        screen.query_one("#companion_port").value = "10045"
        await pilot.pause()
        screen.action_save()
        await pilot.pause()
        assert type(app.screen).__name__ == "StartScreen"
        data = tomllib.loads(config_path().read_text())
        assert data["model"] == "ollama:qwen2.5-coder:7b" and data["language"] == "cpp"
        assert app.settings.language == "cpp"
        assert data["sandbox"] == {"backend": "local"}
        assert data["tui"] == {"method": "bon", "max_calls": 12, "max_tokens": 9000, "max_wall_s": 90.0,
                               "rounds": 1, "beam": 1, "initial": 2, "companion": False,
                               "companion_port": 10045}
        # the app uses them at once, and they load again next time
        assert app.settings.model == "ollama:qwen2.5-coder:7b" and app.current_model_spec() == app.settings.model
        assert app.search_config().method == "bon" and app.search_config().max_calls == 12
        assert load_prefs().companion_port == 10045
        assert any("settings saved to" in m for m, _ in app.notified)


async def test_bad_settings_are_one_error_line_and_nothing_is_written(tmp_path, local_sandbox):
    app = make_app(tmp_path, local_sandbox)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
        screen = app.screen
        screen.query_one("#backend").value = "openai"
        screen.query_one("#model").value = "http://127.0.0.1:8000/v1"
        screen.action_save()
        await pilot.pause()
        assert app.notified[-1][1] == "error" and "'#MODEL' part is missing" in app.notified[-1][0]
        screen.query_one("#backend").value = "embedded"
        screen.query_one("#model").value = ""
        screen.query_one("#beam").value = "0"
        screen.action_save()
        await pilot.pause()
        assert app.notified[-1][1] == "error" and "beam" in app.notified[-1][0]
        assert not config_path().exists()
        assert type(app.screen).__name__ == "SettingsScreen"
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "StartScreen"


async def test_the_environment_overriding_the_saved_model_is_said(tmp_path, local_sandbox, monkeypatch):
    monkeypatch.setenv("ORPS_MODEL", "ollama:from-env")
    app = make_app(tmp_path, local_sandbox)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
        app.screen.query_one("#backend").value = "embedded"
        app.screen.action_save()
        await wait_for(pilot, lambda: app.notified, "a notification")
        assert app.notified[-1][1] == "warning" and "ORPS_MODEL" in app.notified[-1][0]


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
async def test_save_is_on_screen_and_the_model_in_use_is_shown(tmp_path, local_sandbox, size):
    """--model wins over the config file for the session: the screen shows the model in use,
    says where the config differs, and Save is on screen whatever the height."""
    from tui.app import OrpsApp

    app = make_app(tmp_path, local_sandbox)
    assert isinstance(app, OrpsApp)
    app.model_spec = "ollama:qwen2.5-coder:7b"                 # as `orps tui --model ...` sets it
    async with app.run_test(size=size) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
        screen = app.screen
        assert (screen.query_one("#backend").value, screen.query_one("#model").value) == ("ollama",
                                                                                      "qwen2.5-coder:7b")
        text = screen_text(app)
        assert "in use now: ollama:qwen2.5-coder:7b (from the command line)" in " ".join(text.split())
        save = screen.query_one("#save")
        assert save.region.bottom <= size[1] - 1 and save.region.height > 0   # above the footer, visible
        await pilot.click("#save")
        await pilot.pause()
    assert load_settings().model == "ollama:qwen2.5-coder:7b"
