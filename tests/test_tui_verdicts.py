"""The tests pane shows where a wrong answer differs, with candidate text made safe."""

from __future__ import annotations

from textual.app import App

from assistant.engine.node import Execution, TestOutcome
from sandbox.api import JudgeSpec, TestCase
from sandbox.compare import compare_output
from tui.widgets.test_verdicts import TestVerdicts

from .tui_support import screen_text


class VerdictsApp(App):
    def compose(self):
        yield TestVerdicts()


async def test_a_wrong_answer_shows_its_first_differing_line():
    expected = "".join(f"Case #{i}: {i * 10}\n" for i in range(1, 7))
    actual = expected.replace("Case #4: 40", "Case #4: 41\x1b[2J")
    cmp = compare_output(actual, expected, JudgeSpec())
    outcome = TestOutcome(name="big", verdict="WA", detail=cmp.reason, expected=expected, actual=actual,
                          rule=cmp.rule, mismatch=cmp.mismatch)
    app = VerdictsApp()
    async with app.run_test(size=(100, 40)) as pilot:
        app.query_one(TestVerdicts).show("n0", Execution(visible=[outcome]),
                                         cases=[TestCase(name="big", input="6\n", output=expected)])
        await pilot.pause()
        text = screen_text(app)
        assert "line 4, token 12: expected '40', got '41\\x1b[2J'" in text
        assert ">4 | Case #4: 40" in text and ">4 | Case #4: 41\\x1b[2J" in text
        assert "41[2J" not in text  # the escape is shown as text everywhere, never passed through
