"""`orps rank`: candidates a user brings, ranked through solve's final pick (real local sandbox)."""

from __future__ import annotations

import asyncio
import json

from sandbox.api import TestCase, Verdict

from assistant.engine.batch import run_batched
from assistant.engine.budget import Budget
from assistant.engine.context import EngineContext
from assistant.engine.search import SearchConfig
from assistant.models.scripted import ScriptedModel
from assistant.modes.rank import NoModel, load_candidates, rank
from assistant.modes.solve import solve
from assistant.problems import load_problem
from assistant.problems.model import Problem

from .conftest import REPO
from .test_solve_cli import _one_line_error, run_cli

PROBLEM = f"{REPO}/examples/problems.jsonl#running-max"
FIX = REPO / "tests" / "fixtures" / "rank"


def cli(args, tmp_path):
    return run_cli(["rank", PROBLEM, *args, "--sandbox", "local"], tmp_path)


def test_rank_files_and_a_pool_with_tests_from_a_file(tmp_path):
    files = [str(FIX / n) for n in ("bad.py", "almost.py", "good.py", "pool.jsonl")]
    result = cli([*files, "--tests", str(FIX / "tests.txt"), "--json"], tmp_path)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    # three of the five asserts are usable: one is cut off, one repeats a visible test, and the
    # half-written `assert ____, running_max([5, 1]) == [5, 5]` is read as the test it meant
    assert doc["generated_tests"] == 3
    assert doc["schema"] == 1 and len(doc["candidates"]) == 7
    ranked = [(c["strategy"], c["visible_passed"], c["generated_passed"]) for c in doc["candidates"]]
    top3 = {s for s, _, _ in ranked[:3]}
    assert top3 == {"good.py", "pool.jsonl:1", "pool.jsonl:2"}, ranked
    # `almost.py` passes the visible tests but not the generated ones on negative numbers
    assert ranked[3] == ("almost.py", 2, 1)
    assert [s for s, _, _ in ranked[4:]] == ["bad.py", "zeros", "pool.jsonl:3"]


def test_table_names_each_candidate_and_exit_1_when_the_pick_fails(tmp_path):
    out = tmp_path / "best.py"
    result = cli([str(FIX / "bad.py"), str(FIX / "almost.py"), "--out", str(out)], tmp_path)
    assert result.exit_code == 0, result.output
    assert "almost.py" in result.stdout and "bad.py" in result.stdout
    assert out.read_text() == (FIX / "almost.py").read_text()
    result = cli([str(FIX / "bad.py"), "-q"], tmp_path)
    assert result.exit_code == 1, result.output
    assert "the best candidate fails 1 of 2 visible tests" in result.stdout


def test_bad_input_is_one_line_naming_the_file(tmp_path):
    _one_line_error(cli([str(tmp_path / "missing.py")], tmp_path), "missing.py", "no such file")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"code": "def f(): pass"}\n{oops\n')
    _one_line_error(cli([str(broken)], tmp_path), "broken.jsonl line 2", "malformed JSON")
    odd = tmp_path / "odd.jsonl"
    odd.write_text('{"text": "x"}\n')
    _one_line_error(cli([str(odd)], tmp_path), "odd.jsonl line 1", '"code"')
    _one_line_error(cli([str(FIX / "pool.jsonl") + "#7"], tmp_path), "pool.jsonl#7", "pool record")
    _one_line_error(cli([str(FIX / "good.py"), "--tests", str(FIX / "pool.jsonl")], tmp_path),
                    "--tests", "pool.jsonl line 1")
    empty = tmp_path / "none.txt"
    empty.write_text("print('no asserts here')\n")
    _one_line_error(cli([str(FIX / "good.py"), "--tests", str(empty)], tmp_path), "--tests", "no usable assert")
    (tmp_path / "x.py").write_text("# mine\n")
    _one_line_error(cli([str(FIX / "good.py"), "--out", str(tmp_path / "x.py")], tmp_path), "--out", "--force")


def test_pool_records_give_k_samples_each(tmp_path):
    problem = load_problem(PROBLEM)
    pool = tmp_path / "pool.jsonl"
    body = "    return [max(nums[:i + 1]) for i in range(len(nums))]\n"
    pool.write_text(json.dumps({"task_id": "running-max", "samples": [body, "    return nums\n", body]}) + "\n"
                    + json.dumps({"task_id": "other", "samples": ["    pass\n"]}) + "\n")
    got = load_candidates(problem, [str(pool)], k=2)  # the record named like the problem
    assert [label for label, _, _ in got] == ["pool.jsonl:1#0", "pool.jsonl:1#1"]
    assert got[0][1].startswith(problem.starter_code) and got[0][1].endswith(body)
    assert len(load_candidates(problem, [f"{pool}#other"])) == 1


async def test_rank_is_solves_final_pick(local_sandbox):
    """The same programs, written by a base model in solve or brought to rank: the same ranking."""
    problem = Problem(id="absval", kind="function", statement="Return |x|.", entry_point="absval",
                      visible_tests=[TestCase(name="v1", code="assert absval(3) == 3"),
                                     TestCase(name="v2", code="assert absval(0) == 0")])
    codes = ["def absval(x):\n    return x\n", "def absval(x):\n    return -x\n",
             "def absval(x):\n    return abs(x)\n", "def absval(x):\n    return abs(x)\n"]
    generated = [TestCase(code="assert absval(-2) == 2"), TestCase(code="assert absval(-7) == 7")]
    config = SearchConfig(complexity=False, repeat_final=1)
    ranked = await rank(problem, [(f"c{i}", c, "") for i, c in enumerate(codes)], local_sandbox, config,
                        tests=generated)
    order = [ranked.node(i).code for i in ranked.ranking]
    assert order == [codes[2], codes[0], codes[1]]  # the duplicate is counted, not ranked
    assert ranked.node(ranked.ranking[0]).execution.generated_passed == 2

    replies = list(codes)

    def handler(req):
        return "\n".join(replies.pop(0).splitlines()[1:]) + "\n" if replies else "    return 0\n"

    solved = await solve(problem.model_copy(update={"starter_code": "def absval(x):\n"}),
                         ScriptedModel(handler=handler, can_chat=False), local_sandbox,
                         SearchConfig(method="bon", max_calls=4, generated_tests=False, complexity=False,
                                      repeat_final=1))
    assert [solved.node(i).code for i in solved.ranking] == [codes[2], codes[0], codes[1]]
    blind = await rank(problem, [(f"c{i}", c, "") for i, c in enumerate(codes)], local_sandbox, config)
    assert [blind.node(i).code for i in blind.ranking] == [codes[2], codes[0], codes[1]]


async def test_batched_asserts_keep_each_verdict(local_sandbox):
    problem = Problem(id="f", kind="function", statement="", entry_point="f", time_limit_s=1)
    ctx = EngineContext(NoModel(), local_sandbox, problem, Budget())
    code = ("def f(x):\n    if x == 11:\n        while True:\n            pass\n    if x == 9:\n"
            "        import os\n        os._exit(3)\n    return x + 1 if x != 3 else 0\n")
    tests = [TestCase(name=f"g{i}", code=f"assert f({i}) == {i + 1}") for i in range(12)]
    tests.append(TestCase(name="star", code="from math import *\nassert f(1) == 2"))  # runs alone
    report = await run_batched(ctx, problem, code, tests, leading=[TestCase(name="v", code="assert f(1) == 2")])
    verdicts = {r.name: r.verdict for r in report.results}
    assert verdicts.pop("v") is Verdict.AC and report.results[0].name == "v"
    # the longest asserts run last: the program loops on the last one (and ends its process on g9)
    assert verdicts.pop("g3") is Verdict.WA and verdicts.pop("g11") is Verdict.TLE and verdicts.pop("g9") is Verdict.RE
    assert set(verdicts.values()) == {Verdict.AC}
    assert [r.name for r in report.results[1:]] == [t.name for t in tests]
    wrong = next(r for r in report.results if r.name == "g3")
    assert "f(3) == 4" in wrong.detail


async def test_a_program_that_loops_everywhere_costs_one_limit(local_sandbox):
    problem = Problem(id="f", kind="function", statement="", entry_point="f", time_limit_s=0.5)
    ctx = EngineContext(NoModel(), local_sandbox, problem, Budget())
    tests = [TestCase(name=f"g{i}", code=f"assert f({i}) == {i}") for i in range(20)]
    report = await run_batched(ctx, problem, "def f(x):\n    while True:\n        pass\n", tests)
    assert all(r.verdict is Verdict.TLE for r in report.results)
    assert sum("not run" in r.detail for r in report.results) == 19


def test_no_model_is_never_asked():
    async def ask():
        await NoModel().complete("x", None)

    try:
        asyncio.run(ask())
    except Exception as exc:
        assert "no model" in str(exc)
    else:
        raise AssertionError("NoModel answered")


async def test_a_batch_report_fits_its_message(local_sandbox):
    """A hundred failing asserts with long non-ASCII messages: the report still reads whole."""
    problem = Problem(id="f", kind="function", statement="", entry_point="f")
    ctx = EngineContext(NoModel(), local_sandbox, problem, Budget())
    tests = [TestCase(name=f"g{i}", code=f"assert f({i}) == 0, '{'é' * 300}'") for i in range(100)]
    sizes = []
    execute = ctx.execute

    async def counted(job):
        sizes.append(len(job.tests))
        return await execute(job)

    ctx.execute = counted
    report = await run_batched(ctx, problem, "def f(x):\n    return x\n", tests)
    assert sizes == [1]  # one sandbox test answered all hundred
    assert [r.verdict for r in report.results] == [Verdict.AC] + [Verdict.WA] * 99
    assert all(r.cpu_ms is None or r.cpu_ms < 1000 for r in report.results)


async def test_a_model_can_write_the_generated_tests(local_sandbox):
    problem = Problem(id="absval", kind="function", statement="Return |x|.", entry_point="absval",
                      visible_tests=[TestCase(name="v1", code="assert absval(3) == 3")])
    model = ScriptedModel(["```python\nassert absval(-2) == 2\nassert absval(-5) == 5\n```"])
    codes = ["def absval(x):\n    return x\n", "def absval(x):\n    return abs(x)\n"]
    result = await rank(problem, [(f"c{i}", c, "") for i, c in enumerate(codes)], local_sandbox,
                        SearchConfig(complexity=False, repeat_final=1), model=model)
    assert [t.code for t in result.generated_tests] == ["assert absval(-2) == 2", "assert absval(-5) == 5"]
    assert result.best.code == codes[1] and result.budget["calls"] == 1
