"""Fast start: `orps --version` and help screens import none of the heavy modules (timings are in
benchmarks/cli_startup.py; here only what gets imported, which does not depend on the machine)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import REPO

HEAVY = ("rich", "pydantic", "pydantic_settings", "textual", "asyncio", "httpx", "docker", "ollama", "git",
         "tree_sitter", "sandbox", "assistant.engine", "assistant.models", "assistant.problems", "assistant.config",
         "tui")

PROBE = """
import json, sys
from assistant.cli import main
try:
    main(sys.argv[1:], prog_name="orps")
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in {heavy!r}))
print(json.dumps({{"code": code, "heavy": heavy}}), file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["--version"], ["judge", "--help"], ["--help"], ["solve", "--help"],
                                  ["fix", "--help"], ["tui", "--help"]])
def test_start_up_imports_no_heavy_module(args):
    proc = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY), *args], capture_output=True,
                          text=True, cwd=REPO, timeout=60)
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    assert report["code"] == 0, proc.stderr
    assert ("Usage: orps" in proc.stdout) if "--help" in args else proc.stdout.startswith("orps, version ")
    assert report["heavy"] == [], f"orps {' '.join(args)} imported {report['heavy']}"
