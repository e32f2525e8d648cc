"""`orps fix`: repair failing pytest tests in a git repository with ranked, sandbox-verified patches.

Parts: `workspace` (git snapshot, apply/commit), `environment` (the Docker image with the repo's
dependencies, or the host's pytest locally), `pytest_run` (pytest jobs and junit reports),
`localize` (tree-sitter localization and the model's context), `edits` (search/replace and
whole-function edits, validated before running), `search` (the budgeted patch search) and `run`
(the whole flow, the `--json` document, saved runs for `--apply`).
"""

from .run import (FixConfig, FixResult, Prepared, apply_candidate, candidate_rows, load_run, prepare, prepared,
                  result_json, run_fix, save_run)

__all__ = ["FixConfig", "FixResult", "Prepared", "apply_candidate", "candidate_rows", "load_run", "prepare",
           "prepared", "result_json", "run_fix", "save_run"]
