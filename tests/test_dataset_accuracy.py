"""The judge on real data: every HumanEval reference passes its hidden tests, every HumanEvalFix
buggy program fails them, every LBPP reference passes (bar missing third-party packages)."""

from __future__ import annotations

import importlib.util

import pytest

from .conftest import REPO, docker_ready

pytestmark = [pytest.mark.datasets, pytest.mark.slow]


def _accuracy_module():
    spec = importlib.util.spec_from_file_location("judge_accuracy", REPO / "benchmarks" / "judge_accuracy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def accuracy(datasets, request):
    sandbox = request.getfixturevalue("docker_sandbox" if docker_ready() is None else "local_sandbox")
    return _accuracy_module().run(datasets, sandbox, workers=sandbox.backend.pool.size)


def test_humaneval_references_pass_hidden_tests(accuracy):
    result = accuracy["humaneval_references_pass_hidden"]
    assert result["records"] == 164
    assert result["mismatches"] == []
    assert result["test_verdicts"] == {"AC": 1116}


def test_humanevalfix_buggy_programs_fail_hidden_tests(accuracy):
    result = accuracy["humanevalfix_buggy_fail_hidden"]
    assert result["records"] == 164
    assert result["mismatches"] == []


def test_lbpp_references_pass_hidden_tests(accuracy):
    result = accuracy["lbpp_references_pass_hidden"]
    skipped = result["skipped_missing_dependency"]
    assert result["records"] + len(skipped) == 161
    assert all(s["missing"] or s.get("unsupported") for s in skipped)
    assert sum(1 for s in skipped if s.get("unsupported")) <= 1  # the one case the README names
    assert result["mismatches"] == []
