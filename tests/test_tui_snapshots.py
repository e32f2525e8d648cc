"""SVG snapshots of the main screens at 80x24 and 120x36 (pytest-textual-snapshot).

Run content is a recorded real run (tests/fixtures/tui), so every figure is the same each time.
Update after an intended change with `pytest tests/test_tui_snapshots.py --snapshot-update`
and look at the SVGs before committing them."""

from __future__ import annotations

import json
import time
from importlib.metadata import version
from pathlib import Path

import pytest

from .tui_support import (isolated_home, make_app, recorded_fix_job, recorded_hint_job, recorded_job,  # noqa: F401
                          wait_finished, wait_for)

# SVG snapshots are byte-exact renderings: another Textual release draws them slightly
# differently. They are checked with the release they were recorded with; with another one the
# Pilot tests still cover every flow, and `--snapshot-update` re-records them.
SNAPSHOT_TEXTUAL = "8.2.8"

pytestmark = [pytest.mark.usefixtures("isolated_home"),
              pytest.mark.skipif(version("textual") != SNAPSHOT_TEXTUAL,
                                 reason=f"snapshots were recorded with textual {SNAPSHOT_TEXTUAL}")]


@pytest.fixture
def fixed_env(monkeypatch, isolated_home):
    """UTC clock for the recent-runs dates, a relative config path for the settings screen."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    (isolated_home / "orps.toml").touch()
    monkeypatch.setenv("ORPS_CONFIG", "orps.toml")
    yield
    monkeypatch.undo()
    time.tzset()


def write_trace(runs: Path, name: str, problem: str, stamp: str, ranking: list[str], stop: str) -> None:
    runs.mkdir(parents=True, exist_ok=True)
    header = {"type": "header", "format": 1, "spec": "ollama:qwen2.5-coder:7b", "timestamp": stamp,
              "options": {"problem": problem, "problem_source": f"examples/{problem}.json",
                          "config": {"method": "orps"}}}
    result = {"type": "result", "ranking": ranking, "best": ranking[0] if ranking else None, "stop_reason": stop}
    (runs / name).write_text(json.dumps(header) + "\n" + json.dumps(result) + "\n")


def start_app():
    runs = Path("runs")
    write_trace(runs, "a.jsonl", "sum-pairs", "2025-01-02T10:30:00+00:00", ["n4", "n1", "n0"], "search finished")
    write_trace(runs, "b.jsonl", "running-max", "2025-01-03T08:05:00+00:00", ["n2", "n0"],
                "solved: the best candidate passes every visible and generated test")
    import os
    os.utime(runs / "a.jsonl", (1, 1))   # listed newest first by modification time
    os.utime(runs / "b.jsonl", (2, 2))
    return make_app(Path("."), None)


def run_app(job=None):
    return make_app(Path("."), None, job=job or recorded_job())


async def finished(pilot):
    await wait_finished(pilot)
    pilot.app.clear_notifications()
    # the tree's cursor follows the selection through messages: under load the picture could
    # be taken before it lands on the best node, so wait for it, then for a quiet screen
    from tui.widgets.search_tree import SearchTree
    run = pilot.app.screen
    tree = run.query_one(SearchTree)
    await wait_for(pilot, lambda: tree.cursor_node is not None and tree.cursor_node.data == run.selected,
                   "the tree cursor on the selected candidate")
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
def test_start_screen(snap_compare, fixed_env, size):
    assert snap_compare(start_app(), terminal_size=size)


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
def test_run_screen_code(snap_compare, fixed_env, size):
    assert snap_compare(run_app(), terminal_size=size, run_before=finished)


def test_run_screen_tests_of_a_failing_candidate(snap_compare, fixed_env):
    async def before(pilot):
        await finished(pilot)
        await pilot.press("down", "4")

    assert snap_compare(run_app(), terminal_size=(120, 36), run_before=before)


def test_run_screen_diff_vs_parent(snap_compare, fixed_env):
    async def before(pilot):
        await finished(pilot)
        await pilot.press("d")

    assert snap_compare(run_app(), terminal_size=(80, 24), run_before=before)


def test_run_screen_metrics(snap_compare, fixed_env):
    async def before(pilot):
        await finished(pilot)
        await pilot.press("5")

    assert snap_compare(run_app(), terminal_size=(120, 36), run_before=before)


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
def test_settings_screen(snap_compare, fixed_env, size):
    async def before(pilot):
        await pilot.press("ctrl+s")
        await pilot.pause()

    assert snap_compare(start_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
def test_fix_run_screen(snap_compare, fixed_env, size):
    """Fix mode: the ranked patches, the best one's diff, the footer's apply key."""
    assert snap_compare(run_app(recorded_fix_job()), terminal_size=size, run_before=finished)


def test_fix_run_screen_tests_with_a_regression(snap_compare, fixed_env):
    async def before(pilot):
        await finished(pilot)
        await pilot.press("down", "4")

    assert snap_compare(run_app(recorded_fix_job()), terminal_size=(120, 36), run_before=before)


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
def test_hint_run_screen(snap_compare, fixed_env, size):
    """Hint mode: the check, the hidden repair, the first hint and its validation."""
    assert snap_compare(run_app(recorded_hint_job()), terminal_size=size, run_before=finished)


def test_help_screen(snap_compare, fixed_env):
    async def before(pilot):
        await finished(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(run_app(), terminal_size=(120, 36), run_before=before)
