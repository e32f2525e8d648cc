"""Hint mode: tutor-style hint ladders for a buggy program, each hint validated by execution.

Public API:
    hint(program_source, problem, tutor_model, student_model, sandbox, config, on_event) -> HintResult
    HintSession(...): prepare(), next_level(), finish() (one level at a time, for UIs)
    hint_problem(problem_spec, tests_spec, program_name, sandbox) -> Problem
    HintConfig, HintResult, result_json
"""

from .core import HintConfig, HintResult, HintSession, RepairSummary, hint, result_json
from .ladder import LEVELS, HintLevel, Validation
from .problem import hint_problem

__all__ = ["HintConfig", "HintLevel", "HintResult", "HintSession", "LEVELS", "RepairSummary", "Validation", "hint", "hint_problem",
           "result_json"]
