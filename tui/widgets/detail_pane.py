"""The detail pane: tabs for the selected candidate (code, diff, critique, tests) and the run."""

from __future__ import annotations

from textual.containers import Vertical, VerticalScroll
from textual.widgets import RichLog, TabbedContent, TabPane

from .code_view import CodeView
from .critique_view import CritiqueView
from .diff_view import DiffView
from .live_view import LiveView
from .metrics_chart import MetricsChart
from .test_verdicts import TestVerdicts

TABS = (("code", "Code"), ("diff", "Diff"), ("critique", "Critique"), ("tests", "Tests"),
        ("metrics", "Metrics"), ("log", "Log"), ("live", "Live"))


class DetailPane(Vertical):
    ALLOW_MAXIMIZE = True  # zoom (z) enlarges the whole pane, whichever tab is open

    def compose(self):
        with TabbedContent(id="detail-tabs"):
            with TabPane("Code", id="code"):
                yield CodeView("select a candidate", id="code-view")
            with TabPane("Diff", id="diff"):
                yield DiffView(id="diff-view")
            with TabPane("Critique", id="critique"):
                yield CritiqueView(id="critique-view")
            with TabPane("Tests", id="tests"):
                yield TestVerdicts(id="test-verdicts")
            with TabPane("Metrics", id="metrics"):
                with VerticalScroll():
                    yield MetricsChart(id="metrics-chart")
            with TabPane("Log", id="log"):
                yield RichLog(id="run-log", wrap=True, markup=False, max_lines=2000)
            with TabPane("Live", id="live"):
                yield LiveView(id="live-view")

    @property
    def active(self) -> str:
        return self.query_one(TabbedContent).active

    @active.setter
    def active(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
