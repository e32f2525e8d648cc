"""Events of the hint mode, next to the engine's own (NodeCreated, NodeExecuted, Notice, Finished ...).

Plain pydantic data like every engine event, so the CLI and the TUI consume them the same way.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ...engine.events import Event


class HintStage(Event):
    """The run moved to another stage: check, repair, ladder, validate."""

    type: Literal["hint_stage"] = "hint_stage"
    stage: Literal["check", "repair", "ladder", "validate"]
    message: str


class ProgramChecked(Event):
    type: Literal["program_checked"] = "program_checked"
    passed: int
    total: int
    compile_error: str | None = None
    failing: list[str] = Field(default_factory=list)


class RepairChosen(Event):
    type: Literal["repair_chosen"] = "repair_chosen"
    node_id: str | None
    distance: int | None = Field(None, description="tokens changed")
    lines: list[int] = Field(default_factory=list, description="lines of the student's program it changes")
    candidates: int = 0
    passing: int = 0


class HintDrafted(Event):
    """One draft of a hint: accepted, or rejected by a guard (leak, length, repetition)."""

    type: Literal["hint_drafted"] = "hint_drafted"
    level: int
    attempt: int
    accepted: bool
    source: Literal["tutor", "template", "syntax"]
    reason: str | None = None


class StudentAttempt(Event):
    type: Literal["student_attempt"] = "student_attempt"
    level: int | None = Field(description="the hint level tried, None for the attempts without a hint")
    attempt: int
    passed: bool
    detail: str = ""


class HintValidated(Event):
    type: Literal["hint_validated"] = "hint_validated"
    level: int
    k: int
    with_hint: int
    without_hint: int
    kept: bool
