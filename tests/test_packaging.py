"""The built wheel holds every file the program reads at run time (stylesheet, prompts,
Dockerfile, data files): a non-editable install works like a checkout. `.ci/smoke.py` then
installs that wheel and runs every entry point; here only the wheel's contents are checked."""

from __future__ import annotations

import importlib.util
import sys
import zipfile

import pytest

from .conftest import REPO


def ci_module(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / ".ci" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(REPO / ".ci"))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(REPO / ".ci"))
    return module


@pytest.mark.slow
def test_the_wheel_holds_every_package_file(tmp_path):
    if not (REPO / ".git").exists():
        pytest.skip("needs a git checkout (the check compares with the tracked files)")
    smoke = ci_module("smoke")
    wheel = smoke.build_wheel(tmp_path, sys.executable)  # exits (fails the test) when a file is missing
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"tui/orps.tcss", "sandbox/Dockerfile", "prompts/programmer_system.txt", "sandbox/runner.py"} <= names
    assert not any("__pycache__" in n or n.startswith(("tests/", "benchmarks/")) for n in names)


def test_the_check_names_what_is_missing(tmp_path):
    check = ci_module("check_wheel")
    wheel = tmp_path / "orps-0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("assistant/__init__.py", "")
    missing, total = check.missing_from_wheel(wheel, REPO)
    assert "tui/orps.tcss" in missing and "assistant/__init__.py" not in missing and total == len(missing) + 1
