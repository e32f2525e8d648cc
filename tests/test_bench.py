"""`orps bench`: hidden-only scoring, efficiency against the reference, resume, reports, CLI errors.

Scripted models answer per problem; candidates run in the real local sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant import bench
from assistant.cli import main
from assistant.engine.search import SearchConfig
from assistant.errors import UserError
from assistant.models.scripted import ScriptedModel
from assistant.problems.loaders import problem_from_record
from sandbox import ExecutionReport, TestResult, Verdict

ADD_REF = "def add(a, b):\n    return a + b\n"
ABS_REF = "def my_abs(x):\n    return -x if x < 0 else x\n"
SQUARE_REF = "def square(x):\n    return x * x\n"

RECORDS = [
    {"id": "fx/add", "source": "fixture", "kind": "function", "statement": "Return the sum of a and b.",
     "starter_code": "def add(a, b):\n", "entry_point": "add", "test_setup": "",
     "visible_tests": ["assert add(1, 2) == 3"],
     "hidden_tests": ["assert add(1, 2) == 3", "assert add(-5, 5) == 0", "assert add(10, 20) == 30"],
     "reference_solution": ADD_REF},
    # visible tests only check non-negative numbers: `return x` passes them and fails the hidden ones
    {"id": "fx/abs", "source": "fixture", "kind": "function", "statement": "Return the absolute value of x.",
     "starter_code": "def my_abs(x):\n", "entry_point": "my_abs", "test_setup": "",
     "visible_tests": ["assert my_abs(3) == 3", "assert my_abs(0) == 0"],
     "hidden_tests": ["assert my_abs(7) == 7", "assert my_abs(-3) == 3", "assert my_abs(-1) == 1",
                      "assert my_abs(0) == 0"],
     "reference_solution": ABS_REF},
    {"id": "fx/square", "source": "fixture", "kind": "function", "statement": "Return x squared.",
     "starter_code": "def square(x):\n", "entry_point": "square", "test_setup": "",
     "visible_tests": ["assert square(3) == 9"],
     "hidden_tests": ["assert square(4) == 16", "assert square(-2) == 4"],
     "reference_solution": SQUARE_REF},
    {"id": "fx/sum-io", "source": "fixture", "kind": "stdio", "statement": "Read two integers, print their sum.",
     "samples": [{"input": "1 2\n", "output": "3\n"}],
     "hidden": [{"name": "big", "input": "100 23\n", "output": "123\n"},
                {"name": "neg", "input": "-4 4\n", "output": "0\n"}]},
    {"id": "fx/repair", "source": "fixture", "kind": "repair", "files": {"p.py": "x = 1\n"},
     "fixed_files": {"p.py": "x = 2\n"}, "program": "p.py", "failing_tests": ["test_p.py::test_x"]},
    {"id": "fx/no-hidden", "source": "fixture", "kind": "function", "statement": "Return 1.",
     "entry_point": "one", "visible_tests": ["assert one() == 1"], "hidden_tests": []},
]

# what the scripted programmer writes for each problem (keyed by a phrase of its statement)
ANSWERS = {
    "sum of a and b": ADD_REF,
    "absolute value": "def my_abs(x):\n    return x\n",  # passes visible, fails hidden
    "x squared": SQUARE_REF,
    "print their sum": "a, b = map(int, input().split())\nprint(a + b)\n",
}


def write_dataset(path: Path, records=RECORDS) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def programmer(req) -> str:
    text = "\n".join(m.content for m in req.messages or []) if req.kind == "chat" else req.prompt
    for phrase, code in ANSWERS.items():
        if phrase in text:
            return f"Here is the program.\n```python\n{code}```\n"
    raise AssertionError(f"unexpected request: {text[:200]}")


def config(method: str = "bon", calls: int = 2) -> SearchConfig:
    return SearchConfig(method=method, max_calls=calls, generated_tests=False, complexity=False, repeat_final=1)


def fake_report(cpu_ms: list[float], passed: bool = True) -> ExecutionReport:
    return ExecutionReport(kind="function", results=[
        TestResult(index=i, name=f"hidden-{i + 1}", verdict=Verdict.AC if passed else Verdict.WA,
                   cpu_ms=ms, cpu_ms_runs=[ms, ms, ms]) for i, ms in enumerate(cpu_ms)])


class ReportSandbox:
    """Answers each job with a prepared report (candidate first, then reference): exact CPU figures."""

    name = "prepared"

    def __init__(self, *reports: ExecutionReport):
        self.reports = list(reports)
        self.jobs = []

    async def arun(self, job):
        self.jobs.append(job)
        return self.reports.pop(0)


# --------------------------------------------------------------------------- selection

def test_selection_skips_repair_and_records_without_hidden_tests(tmp_path):
    sel = bench.select_records(write_dataset(tmp_path / "ds.jsonl"))
    assert [p.id for p in sel.problems] == ["fx/add", "fx/abs", "fx/square", "fx/sum-io"]
    reasons = {s["id"]: s["reason"] for s in sel.skipped}
    assert set(reasons) == {"fx/repair", "fx/no-hidden"}
    assert "repair record" in reasons["fx/repair"] and "no hidden tests" in reasons["fx/no-hidden"]
    assert sum(sel.skipped_reasons.values()) == 2


def test_selection_by_ids_and_limit(tmp_path):
    ds = write_dataset(tmp_path / "ds.jsonl")
    sel = bench.select_records(ds, ids=["fx/square", "fx/add"])
    assert [p.id for p in sel.problems] == ["fx/add", "fx/square"]  # file order
    sel = bench.select_records(ds, limit=2)
    assert [p.id for p in sel.problems] == ["fx/add", "fx/abs"] and not sel.skipped
    with pytest.raises(UserError, match="no record with id 'fx/ad'.*did you mean fx/add"):
        bench.select_records(ds, ids=["fx/ad"])
    with pytest.raises(UserError, match="no record id given"):
        bench.parse_ids(" , ")


# --------------------------------------------------------------------------- scoring

async def test_pick_that_passes_visible_but_fails_hidden_is_not_solved(local_sandbox, tmp_path):
    sel = bench.select_records(write_dataset(tmp_path / "ds.jsonl"), ids=["fx/abs", "fx/add"])
    model = ScriptedModel(handler=programmer)
    run = await bench.run_bench(sel, model, local_sandbox, config(), tmp_path / "r.jsonl")
    by_id = {r["id"]: r for r in run.records}
    wrong = by_id["fx/abs"]
    assert wrong["pick_visible"] == "2/2"  # the search saw a fully passing candidate...
    assert wrong["passed"] is False  # ...that the hidden tests reject
    assert (wrong["hidden_passed"], wrong["hidden_total"]) == (2, 4) and wrong["hidden_ratio"] == 0.5
    assert wrong["hidden_verdicts"] == {"AC": 2, "WA": 2}
    assert wrong["efficiency"] is None and wrong["cpu_ms"] is None  # no ratio for an unsolved problem
    right = by_id["fx/add"]
    assert right["passed"] is True and right["hidden_ratio"] == 1.0
    assert right["efficiency"] is not None and 0 < right["efficiency"] <= bench.EFFICIENCY_CAP
    assert right["reference_cpu_ms"] > 0
    # the hidden tests never reached the model
    prompts = "\n".join(m.content for r in model.requests for m in (r.messages or []))
    assert "my_abs(-3)" not in prompts and "add(-5, 5)" not in prompts
    row = run.summary()
    assert row["problems"] == 2 and row["solved"] == 1 and row["pass_at_1"] == 0.5
    assert row["hidden_pass_ratio_mean"] == 0.75 and row["efficiency_n"] == 1


async def test_efficiency_ratio_is_candidate_over_reference_and_capped():
    problem = problem_from_record(RECORDS[0], "fixture")
    sb = ReportSandbox(fake_report([5.0, 5.0, 5.0]), fake_report([2.0, 2.0, 2.0]))
    score = await bench.score_pick(problem, "def add(a, b):\n    return b + a\n", sb)
    assert score["efficiency"] == 2.5 and score["efficiency_raw"] == 2.5 and not score["efficiency_capped"]
    assert score["cpu_ms"] == 15.0 and score["reference_cpu_ms"] == 6.0
    # both runs are the hidden tests with repeat=3, the reference second
    assert [j.repeat for j in sb.jobs] == [3, 3]
    assert [t.code for t in sb.jobs[0].tests] == [t.code for t in problem.hidden_tests]
    assert sb.jobs[1].source == problem.reference_solution

    sb = ReportSandbox(fake_report([400.0, 400.0, 400.0]), fake_report([1.0, 1.0, 1.0]))
    score = await bench.score_pick(problem, "def add(a, b):\n    return b + a\n", sb)
    assert score["efficiency_raw"] == 400.0 and score["efficiency"] == bench.EFFICIENCY_CAP
    assert score["efficiency_capped"] is True

    # unsolved: no efficiency, and the reference is not even run
    sb = ReportSandbox(fake_report([1.0, 1.0, 1.0], passed=False))
    score = await bench.score_pick(problem, "def add(a, b):\n    return a - b\n", sb)
    assert score["passed"] is False and score["efficiency"] is None and len(sb.jobs) == 1


async def test_slow_solution_is_capped_at_ten_times_on_the_real_sandbox(local_sandbox):
    problem = problem_from_record(RECORDS[0], "fixture")
    slow = "def add(a, b):\n    n = 0\n    for i in range(3_000_000):\n        n += i\n    return a + b\n"
    score = await bench.score_pick(problem, slow, local_sandbox)
    assert score["passed"] is True
    assert score["efficiency"] == bench.EFFICIENCY_CAP and score["efficiency_capped"] is True
    assert score["efficiency_raw"] > bench.EFFICIENCY_CAP


async def test_no_runnable_candidate_is_counted(local_sandbox, tmp_path):
    sel = bench.select_records(write_dataset(tmp_path / "ds.jsonl"), ids=["fx/add"])
    model = ScriptedModel(handler=lambda req: "I cannot write this program.")
    run = await bench.run_bench(sel, model, local_sandbox, config(), tmp_path / "r.jsonl")
    rec = run.records[0]
    assert rec["no_candidate"] is True and rec["passed"] is False and rec["hidden_passed"] == 0
    assert run.summary()["no_candidate"] == 1 and run.summary()["pass_at_1"] == 0.0


# --------------------------------------------------------------------------- resume

async def test_rerun_skips_done_problems_and_fresh_starts_over(local_sandbox, tmp_path):
    sel = bench.select_records(write_dataset(tmp_path / "ds.jsonl"))
    out = tmp_path / "results.jsonl"
    first = ScriptedModel(handler=programmer)
    run1 = await bench.run_bench(sel, first, local_sandbox, config(), out)
    assert run1.ran == 4 and run1.resumed == 0 and len(first.requests) == 8
    lines = out.read_text().splitlines()
    assert len(lines) == 4 and len({json.loads(x)["key"] for x in lines}) == 4
    # each problem's trace sits next to the results
    for rec in run1.records:
        trace = out.parent / rec["trace"]
        assert trace.is_file() and trace.parent == bench.traces_dir(out)
        assert json.loads(trace.read_text().splitlines()[0])["type"] == "header"

    second = ScriptedModel(handler=programmer)
    run2 = await bench.run_bench(sel, second, local_sandbox, config(), out)
    assert second.requests == [] and run2.ran == 0 and run2.resumed == 4
    assert [r["passed"] for r in run2.records] == [r["passed"] for r in run1.records]
    assert len(out.read_text().splitlines()) == 4

    # another budget is another configuration: it runs, and shares the file
    third = ScriptedModel(handler=programmer)
    run3 = await bench.run_bench(sel, third, local_sandbox, config(calls=1), out)
    assert run3.ran == 4 and len(out.read_text().splitlines()) == 8

    # a torn last line (a run killed mid-write) is ignored and that problem runs again
    done = out.read_text().splitlines()
    out.write_text("\n".join(done[:-1]) + "\n" + done[-1][:40], encoding="utf-8")
    fourth = ScriptedModel(handler=programmer)
    run4 = await bench.run_bench(sel, fourth, local_sandbox, config(calls=1), out)
    assert run4.ignored_lines == 1 and run4.ran == 1 and run4.resumed == 3
    assert len(bench.ResultsFile(out).load()) == 8

    fresh = ScriptedModel(handler=programmer)
    run5 = await bench.run_bench(sel, fresh, local_sandbox, config(), out, fresh=True)
    assert run5.dropped == 4 and run5.ran == 4 and run5.resumed == 0
    kept = bench.ResultsFile(out).load()
    assert len(kept) == 8 and sorted(r["budget"] for r in kept) == [1] * 4 + [2] * 4


# --------------------------------------------------------------------------- reports

async def test_report_table_compares_methods_from_results_files(local_sandbox, tmp_path):
    sel = bench.select_records(write_dataset(tmp_path / "ds.jsonl"))
    for method, calls in (("bon", 2), ("cot", 1)):
        await bench.run_bench(sel, ScriptedModel(handler=programmer), local_sandbox, config(method, calls),
                              tmp_path / f"{method}.jsonl")
    runner = CliRunner()
    res = runner.invoke(main, ["bench", "--report", str(tmp_path / "bon.jsonl"), str(tmp_path / "cot.jsonl")])
    assert res.exit_code == 0, res.output
    lines = [x for x in res.output.splitlines() if x.startswith("| ")]
    assert lines[0].startswith("| method | model | budget | problems | pass@1")
    rows = {x.split("|")[1].strip(): [c.strip() for c in x.split("|")[1:-1]] for x in lines[2:]}
    assert set(rows) == {"bon", "cot"}
    assert rows["bon"][4] == "3/4 = 75.0%" and rows["cot"][4] == "3/4 = 75.0%"
    assert rows["bon"][10] == "8 / 2.0" and rows["cot"][10] == "4 / 1.0"  # calls total / mean

    res = runner.invoke(main, ["bench", "--report", "--json", str(tmp_path / "bon.jsonl"),
                               str(tmp_path / "cot.jsonl")])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert [r["method"] for r in doc["rows"]] == ["bon", "cot"]
    bon = doc["rows"][0]
    assert bon["solved"] == 3 and bon["problems"] == 4 and bon["pass_at_1"] == 0.75
    assert bon["calls_total"] == 8 and bon["efficiency_n"] == 2  # the stdio record has no reference
    assert bon["hidden_pass_ratio_mean"] == pytest.approx((1 + 0.5 + 1 + 1) / 4, abs=1e-4)


def test_report_rows_from_hand_written_results(tmp_path):
    def rec(pid, method, passed, eff, calls, budget=4):
        return {"type": "bench_result", "key": bench.result_key("d.jsonl", pid, method, "m", budget),
                "dataset": "d.jsonl", "id": pid, "method": method, "model": "m", "budget": budget,
                "passed": passed, "hidden_ratio": 1.0 if passed else 0.0, "efficiency": eff,
                "no_candidate": False, "calls": calls, "tokens": 10 * calls, "wall_s": 1.0}
    path = tmp_path / "r.jsonl"
    recs = [rec("a", "orps", True, 1.0, 4), rec("b", "orps", True, 3.0, 4), rec("c", "orps", False, None, 4),
            rec("a", "bon", True, 2.0, 4, budget=2)]
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    rows = bench.aggregate(bench.load_results([path]))
    orps = rows[0]
    assert orps["pass_at_1"] == round(2 / 3, 4) and orps["efficiency_mean"] == 2.0
    assert orps["efficiency_median"] == 2.0 and orps["efficiency_n"] == 2 and orps["calls_mean"] == 4.0
    notes = bench.report_notes(rows)
    assert any("different problems" in n for n in notes) and any("different call budgets" in n for n in notes)


# --------------------------------------------------------------------------- CLI

def test_cli_run_with_a_replayed_model_resumes_and_prints_json(local_sandbox, tmp_path):
    import asyncio

    ds = write_dataset(tmp_path / "ds.jsonl")
    sel = bench.select_records(ds)
    recorded = tmp_path / "recorded.jsonl"
    run = asyncio.run(bench.run_bench(sel, ScriptedModel(handler=programmer), local_sandbox,
                                      SearchConfig(method="bon", max_calls=2), recorded))
    # the traces of all problems, as one replayable model
    trace = tmp_path / "all.jsonl"
    trace.write_text("".join((recorded.parent / r["trace"]).read_text() for r in run.records))
    out = tmp_path / "replayed.jsonl"
    args = ["bench", "--dataset", str(ds), "--method", "bon", "--budget", "2", "--model", f"replay:{trace}",
            "--sandbox", "local", "--out", str(out), "--json", "-q"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["benchmarked"] == 4 and doc["ran"] == 4 and doc["skipped_count"] == 2
    assert {s["id"] for s in doc["skipped"]} == {"fx/repair", "fx/no-hidden"}
    assert [p["passed"] for p in doc["problems"]] == [r["passed"] for r in run.records]
    assert doc["summary"]["pass_at_1"] == 0.75 and doc["summary"]["calls_total"] == 8

    res = CliRunner().invoke(main, args[:-2])  # again, Markdown: everything comes from the results file
    assert res.exit_code == 0, res.output
    assert "| bon | replay:" in res.stdout and "3/4 = 75.0%" in res.stdout
    assert "0 run now, 4 from the results file" in res.stderr  # stdout holds only the table
    assert len(out.read_text().splitlines()) == 4


@pytest.mark.parametrize("args, message", [
    (["--dataset", "{tmp}/missing.jsonl"], "missing.jsonl: no such file"),
    (["--dataset", "{ds}", "--ids", "fx/nope,fx/add"], "no record with id 'fx/nope'"),
    (["--dataset", "{ds}", "--ids", ","], "no record id given"),
    (["--dataset", "{tmp}"], "is a directory"),
    (["--dataset", "{bad}"], "line 2: malformed JSON"),
    ([], "no dataset"),
    (["--report"], "at least one results file"),
    (["--report", "{tmp}/none.jsonl"], "none.jsonl: no such results file"),
    (["--report", "{ds}"], "no bench results in this file"),
    (["--report", "--dataset", "{ds}", "{ds}"], "--report only reads results files"),
    (["{ds}"], "unexpected argument"),
    (["--dataset", "{ds}", "--json", "--markdown"], "choose one output format"),
])
def test_cli_bad_input_is_one_line(tmp_path, args, message):
    ds = write_dataset(tmp_path / "ds.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(RECORDS[0]) + "\n{not json\n")
    args = [a.format(tmp=tmp_path, ds=ds, bad=bad) for a in args]
    res = CliRunner().invoke(main, ["bench", *args])
    assert res.exit_code == 2, res.output
    err = res.stderr.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in res.output


# --------------------------------------------------------------------------- real datasets

@pytest.mark.datasets
async def test_dataset_references_score_as_solved(datasets, local_sandbox):
    sel = bench.select_records(datasets / "function" / "humaneval.jsonl", limit=2)
    assert len(sel.problems) == 2 and not sel.skipped
    for problem in sel.problems:
        score = await bench.score_pick(problem, problem.reference_solution, local_sandbox)
        assert score["passed"] and score["hidden_total"] == len(problem.hidden_tests)
        assert score["efficiency"] is not None and score["efficiency"] <= bench.EFFICIENCY_CAP
    repair = bench.select_records(datasets / "repair" / "quixbugs.jsonl", limit=3)
    assert not repair.problems and len(repair.skipped) == 3
    assert all("repair record" in s["reason"] for s in repair.skipped)
