"""QuixBugs and HumanEvalFix records as tiny git repositories: with scripted replies holding the true
fix among decoys, the true fix ranks first, the repository is unchanged until apply, and after
apply the record's whole suite passes in the sandbox. Needs ../shared/datasets (skips without it)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from assistant.models.scripted import ScriptedModel
from assistant.modes.fix import FixConfig, prepared, run_fix
from assistant.modes.fix.localize import definitions
from assistant.modes.fix.pytest_run import PytestOptions, pytest_job, read_report
from assistant.modes.fix.search import fix_strategy
from assistant.modes.fix.workspace import apply_patch, materialize
from sandbox import SandboxSettings

pytestmark = [pytest.mark.datasets, pytest.mark.slow]

CASES = [("quixbugs", "quixbugs/gcd"), ("quixbugs", "quixbugs/kth"),
         ("humanevalfix", "HumanEvalFix/0"), ("humanevalfix", "HumanEvalFix/2")]


def record(datasets: Path, name: str, rid: str) -> dict:
    for line in (datasets / "repair" / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if rec["id"] == rid:
            return rec
    raise AssertionError(f"{rid} not in {name}")


def fixed_function(rec: dict) -> str:
    """The correct definition of the program's function (the last one, as upstream files may hold several)."""
    name = rec.get("entry_point") or Path(rec["program"]).stem
    text = rec["fixed_files"][rec["program"]]
    defs = [d for d in definitions(text) if d.qualname == name]
    d = defs[-1]
    return "\n".join(text.splitlines()[d.start - 1:d.end]) + "\n"


def block(rec: dict, code: str, prose: str) -> str:
    return f"{prose}\n{rec['program']}\n```python\n{code}```\n"


def replies(rec: dict) -> dict[int, str]:
    true_fix = fixed_function(rec)
    name = rec.get("entry_point") or Path(rec["program"]).stem
    buggy = rec["files"][rec["program"]]
    d = [x for x in definitions(buggy) if x.qualname == name][-1]
    buggy_fn = "\n".join(buggy.splitlines()[d.start - 1:d.end]) + "\n"
    signature = buggy_fn.splitlines()[0]
    return {
        0: block(rec, true_fix.rstrip("\n") + "\n    assert True\n", "Same fix with an extra check."),  # bigger diff
        1: block(rec, f"{signature}\n    raise NotImplementedError\n", "Start over."),             # breaks everything
        2: block(rec, true_fix, "The true fix."),
        3: block(rec, buggy_fn.replace(signature, signature + "  # reviewed", 1), "Looks fine."),  # changes nothing real
    }


@pytest.mark.parametrize("name, rid", CASES)
def test_true_fix_ranks_first_and_the_repo_is_unchanged_until_apply(datasets, tmp_path, name, rid):
    rec = record(datasets, name, rid)
    repo = materialize(rec["files"], tmp_path / "repo")
    before = {p: (repo / p).read_text(encoding="utf-8") for p in rec["files"]}
    answers = replies(rec)

    def handler(req):
        if "strict reviewer of bug fixes" in req.messages[0].content:
            return json.dumps({"analysis": "see the result", "suggestion": "", "score": 3, "done": False})
        for i, text in answers.items():
            if f"For this attempt: {fix_strategy(i)}" in req.messages[-1].content:
                return text
        raise AssertionError("unexpected prompt")

    config = FixConfig(initial=4, rounds=0, max_calls=8, pytest=PytestOptions(per_test_timeout=10))
    with prepared(repo, SandboxSettings(pool_size=2), "local") as prep:
        result = asyncio.run(run_fix(prep, ScriptedModel(handler=handler), config))
        assert sorted(t.id for t in result.targets) == sorted(rec["failing_tests"])
        assert result.status == "fixed"
        ranked = [result.node(i).reasoning.splitlines()[0] for i in result.ranking]
        assert ranked[0] == "The true fix."
        assert ranked.index("Same fix with an extra check.") == 1
        assert {p: (repo / p).read_text(encoding="utf-8") for p in rec["files"]} == before
        best = result.patches[result.best_node_id]
        assert best.files == [rec["program"]]

        apply_patch(repo, best.changes)
        assert (repo / rec["program"]).read_text(encoding="utf-8") != before[rec["program"]]
        files = {p: (repo / p).read_text(encoding="utf-8") for p in best.changes}
        suite = read_report(asyncio.run(prep.sandbox.arun(pytest_job(prep.env, [], files, config.pytest))), [])
    assert suite.tests and all(t.ok for t in suite.tests), suite.summary()
