"""Problem packages (Kattis/ICPC, the Code Jam archive layout), oj `.ans` answers, per-test-set
limits and their overrides; every bad package is one clear line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.errors import UserError
from assistant.problems import load_problem
from sandbox.api import Limits, TestCase
from sandbox.compare import describe_rule

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"


def copy_fixture(tmp_path: Path, name: str) -> Path:
    return Path(shutil.copytree(FIXTURES / name, tmp_path / name))


# --------------------------------------------------------------------------- Kattis / ICPC packages

def test_kattis_package_tests_groups_flags_and_limits():
    p = load_problem(str(FIXTURES / "kattis-average"))
    assert (p.id, p.title, p.kind) == ("kattis-average", "Average Speed", "stdio")
    assert [t.name for t in p.visible_tests] == ["sample/1", "sample/2"]
    assert [t.name for t in p.hidden_tests] == ["secret/01-small/1", "secret/01-small/2", "secret/02-large/1"]
    assert p.visible_tests[0].output == "5.000000\n"
    assert (p.time_limit_s, p.memory_limit_mb) == (1.0, 128)  # .timelimit and limits.memory
    assert "average speed" in p.statement
    # validator_flags: float_tolerance 1e-6, and Kattis's default validator ignores case
    assert describe_rule(p.judge) == "float tolerance 1e-06 (integers exact, case-insensitive)"
    # the large group's testdata.yaml adds its own flag on top of problem.yaml's
    large = p.hidden_tests[-1].judge
    assert large is not None and (large.absolute_tolerance, large.relative_tolerance) == (1e-8, 1e-8)
    assert all(t.judge is None for t in p.hidden_tests[:-1])


def test_problem_yaml_path_loads_the_package():
    p = load_problem(str(FIXTURES / "kattis-average" / "problem.yaml"))
    assert p.id == "kattis-average" and len(p.hidden_tests) == 3


def test_kattis_package_with_a_python_output_validator():
    p = load_problem(str(FIXTURES / "kattis-anypair"))
    assert p.title == "Any Pair" and (p.time_limit_s, p.memory_limit_mb) == (2.0, 256)
    assert p.judge.checker and "sys.exit(AC)" in p.judge.checker
    assert p.judge.checker_style == "kattis" and p.judge.checker_flags == []
    assert p.judge.checker_name.endswith("kattis-anypair/output_validators/pair_validator/validate.py")
    assert p.statement.startswith("# Any Pair")


def test_minimal_package_defaults(tmp_path):
    d = tmp_path / "hello"
    (d / "data" / "secret" / "g1" / "deep").mkdir(parents=True)
    (d / "data" / "sample").mkdir(parents=True)
    (d / "data" / "sample" / "1.in").write_text("")
    (d / "data" / "sample" / "1.ans").write_text("Hello World!\n")
    (d / "data" / "secret" / "g1" / "deep" / "10.in").write_text("x\n")
    (d / "data" / "secret" / "g1" / "deep" / "10.ans").write_text("y\n")
    (d / "data" / "secret" / "g1" / "deep" / "2.in").write_text("a\n")
    (d / "data" / "secret" / "g1" / "deep" / "2.ans").write_text("b\n")
    (d / "data" / "secret" / "g1" / "3.in").write_text("no answer: skipped, as problemtools does\n")
    (d / "data" / "secret" / "g1" / "4.ans").write_text("no input: skipped\n")
    p = load_problem(str(d))  # no problem.yaml at all
    assert p.title == "hello" and [t.name for t in p.hidden_tests] == ["secret/g1/deep/2", "secret/g1/deep/10"]
    assert p.time_limit_s is None and p.memory_limit_mb == 1024  # problemtools' default memory
    assert describe_rule(p.judge) == "tokens (case-insensitive)"


def test_data_level_testdata_and_validator_flags_forms(tmp_path):
    d = copy_fixture(tmp_path, "kattis-average")
    (d / "problem.yaml").write_text("name: {en: Average Speed, sv: Medelhastighet}\n"
                                    "validator_flags: case_sensitive space_change_sensitive\n")
    (d / "data" / "testdata.yaml").write_text("output_validator_args: [float_absolute_tolerance, '0.5']\n")
    (d / "data" / "secret" / "02-large" / "testdata.yaml").unlink()
    p = load_problem(str(d))
    assert p.title == "Average Speed"
    assert describe_rule(p.judge) == "tokens (whitespace exact)"
    spec = p.visible_tests[0].judge  # data/testdata.yaml applies to every group
    assert spec is not None and spec.case_sensitive and spec.space_change_sensitive
    assert spec.absolute_tolerance == 0.5 and spec.relative_tolerance is None
    assert p.time_limit_s == 1.0


def test_time_limit_sources(tmp_path):
    d = copy_fixture(tmp_path, "kattis-average")
    (d / ".timelimit").unlink()
    (d / "domjudge-problem.ini").write_text("timelimit='3.5'\n")
    assert load_problem(str(d)).time_limit_s == 3.5
    (d / "problem.yaml").write_text("name: A\nlimits:\n  time_limit: 0.5\n  memory: 64\n")
    p = load_problem(str(d))
    assert (p.time_limit_s, p.memory_limit_mb) == (0.5, 64)


@pytest.mark.parametrize("yaml_text, message", [
    ("validation: custom interactive\n", "is an interactive problem (problem.yaml validation: custom interactive)"),
    ("problem_format_version: 2023-07\ntype: [pass-fail, interactive]\n", "is an interactive problem (problem.yaml type"),
    ("type: submit-answer\n", "is a submit-answer problem"),
    ("type: multi-pass\n", "is a multi-pass problem"),
    ("validation: clever\n", "validation 'clever' is not known"),
    ("validator_flags: float_tolerance\n", "float_tolerance needs a non-negative number"),
    ("validator_flags: float_tolerance abc\n", "float_tolerance needs a non-negative number after it, found 'abc'"),
    ("validator_flags: ignore_case\n", "unknown validator flag 'ignore_case'"),
    ("name: [unclosed\n", "malformed YAML at line"),
    ("- a list\n", "expected a YAML mapping"),
    ("limits:\n  memory: -5\n", "field 'limits.memory'"),
    ("validation: custom\n", "there is no output validator"),
])
def test_bad_packages_are_one_clear_line(tmp_path, yaml_text, message):
    d = copy_fixture(tmp_path, "kattis-average")
    (d / "problem.yaml").write_text(yaml_text)
    with pytest.raises(UserError) as err:
        load_problem(str(d))
    assert message in str(err.value) and "\n" not in str(err.value)
    assert str(d) in str(err.value)


def test_validators_that_cannot_run_are_named(tmp_path):
    d = copy_fixture(tmp_path, "kattis-anypair")
    validator = d / "output_validators" / "pair_validator"
    (validator / "validate.py").unlink()
    (validator / "validate.cpp").write_text('#include "testlib.h"\nint main() {}\n')
    with pytest.raises(UserError, match=r"pair_validator/validate\.cpp: the output validator is C\+\+; only Python"):
        load_problem(str(d))
    (validator / "validate.cpp").unlink()
    (validator / "judge.py").write_text("print 'python 2'\n")
    with pytest.raises(UserError, match=r"judge\.py: the output validator does not compile as Python 3"):
        load_problem(str(d))
    (validator / "judge.py").write_text("import sys\n")
    (validator / "helper.py").write_text("X = 1\n")
    with pytest.raises(UserError, match="several Python files"):
        load_problem(str(d))


# --------------------------------------------------------------------------- the Code Jam archive layout

def test_codejam_layout_samples_test_sets_and_their_limits():
    p = load_problem(str(FIXTURES / "codejam-big-sum"))
    assert p.title == "Big Sum"
    assert [t.name for t in p.visible_tests] == ["sample-ts1"]
    assert p.visible_tests[0].output == "Case #1: 6\nCase #2: 1999999999999\n"
    assert [t.name for t in p.hidden_tests] == ["secret/subtask1/1", "secret/subtask2/1"]
    # each test set has its own time limit (from the statement), memory from "Memory limit: 1 GB"
    assert [p.test_limits(t).cpu_s for t in p.tests(hidden=True)] == [5.0, 5.0, 20.0]
    assert p.time_limit_s == 20.0 and p.memory_limit_mb == 1024
    assert all(p.test_limits(t).memory_mb == 1024 for t in p.tests(hidden=True))
    # problem.yaml: output_validator_flags: float_tolerance 1e-6, integers still exact
    assert describe_rule(p.judge) == "float tolerance 1e-06 (integers exact, case-insensitive)"
    assert "Test Set 2 (Hidden Verdict)" in p.statement and "<b>" not in p.statement
    assert "10^12" in p.statement and "A_i" in p.statement  # <sup> and <sub>


def test_codejam_samples_from_the_statement_when_the_files_are_missing(tmp_path):
    d = copy_fixture(tmp_path, "codejam-big-sum")
    for f in (d / "problem_statement").glob("*_sample_ts*"):
        f.unlink()
    p = load_problem(str(d))
    assert [(t.input, t.output) for t in p.visible_tests] == [
        ("2\n3 1 2 3\n2 1000000000000 999999999999\n", "Case #1: 6\nCase #2: 1999999999999\n")]
    assert p.test_limits(p.visible_tests[0]).cpu_s == 5.0  # samples are test set 1's


def test_codejam_one_limit_for_every_set_is_the_problems(tmp_path):
    d = copy_fixture(tmp_path, "codejam-big-sum")
    html = (d / "problem_statement" / "problem.html").read_text()
    (d / "problem_statement" / "problem.html").write_text(html.replace("Time limit: 20 seconds.", "Time limit: 5 seconds."))
    p = load_problem(str(d))
    assert p.time_limit_s == 5.0 and not p.has_test_set_limits()


def test_codejam_custom_judge_takes_the_testlib_convention(tmp_path):
    d = copy_fixture(tmp_path, "codejam-big-sum")
    (d / "problem.yaml").write_text("# This is a best-effort conversion to problemtools format.\nname: Big Sum\n"
                                    "# Note that the custom judge does not follow problemtools specifications.\n"
                                    "validation: custom\n")
    (d / "output_validators" / "validator").mkdir(parents=True)
    (d / "output_validators" / "validator" / "custom_judge.py").write_text("import sys\nsys.exit(0)\n")
    p = load_problem(str(d))
    assert p.judge.checker_style == "testlib"


# --------------------------------------------------------------------------- oj directories and dataset records

def test_oj_dir_with_ans_answers(tmp_path):
    d = tmp_path / "p" / "test"
    d.mkdir(parents=True)
    (d / "sample-1.in").write_text("1\n")
    (d / "sample-1.ans").write_text("2\n")
    (d / "sample-2.in").write_text("2\n")
    (d / "sample-2.out").write_text("4\n")
    (d / "sample-2.ans").write_text("ignored: NAME.out wins\n")
    p = load_problem(str(d.parent))
    assert [(t.name, t.output) for t in p.visible_tests] == [("sample-1", "2\n"), ("sample-2", "4\n")]
    (d / "sample-3.ans").write_text("6\n")
    with pytest.raises(UserError, match=r"test/sample-3\.ans: no matching sample-3\.in"):
        load_problem(str(d.parent))
    (d / "sample-3.ans").unlink()
    (d / "sample-4.in").write_text("4\n")
    with pytest.raises(UserError, match=r"sample-4\.in: no matching sample-4\.out or sample-4\.ans"):
        load_problem(str(d.parent))


def record(**extra) -> dict:
    return {"id": "cj/sets", "kind": "stdio", "statement": "s", "time_limit_s": 20.0,
            "samples": [{"input": "1\n", "output": "1\n"}],
            "hidden": [{"name": "subtask1/1", "input": "1\n", "output": "1\n"},
                       {"name": "subtask2/1", "input": "2\n", "output": "2\n"}], **extra}


def test_dataset_record_test_set_limits(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text(json.dumps(record(time_limits_by_test_set_s=[5.0, 20.0], memory_limit_mb=1024,
                                   judge={"type": "tokens", "float_tolerance": 1e-6, "case_sensitive": False,
                                          "reals": True})) + "\n")
    p = load_problem(f"{f}#cj/sets")
    assert [p.test_limits(t).cpu_s for t in p.tests(hidden=True)] == [5.0, 5.0, 20.0]
    assert p.time_limit_s == 20.0 and p.test_limits(p.hidden_tests[0]).memory_mb == 1024
    assert p.judge.reals and describe_rule(p.judge) == "float tolerance 1e-06 (every number real, case-insensitive)"
    same = tmp_path / "same.jsonl"
    same.write_text(json.dumps(record(time_limits_by_test_set_s=[20.0, 20.0])) + "\n")
    assert not load_problem(f"{same}#cj/sets").has_test_set_limits()
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(record(time_limits_by_test_set_s=[5.0, -1])) + "\n")
    with pytest.raises(UserError, match="time_limits_by_test_set_s"):
        load_problem(f"{bad}#cj/sets")


def test_limit_overrides_and_jobs():
    p = load_problem(str(FIXTURES / "codejam-big-sum"))
    job = p.job("print()", hidden=True)
    assert [t.limits.cpu_s for t in job.tests] == [5.0, 5.0, 20.0]
    # explicit limits (a measurement's, a tool's) replace the tests' own
    assert all(t.limits is None for t in p.job("print()", hidden=True, limits=Limits(cpu_s=1)).tests)
    fast = p.with_limits(time_s=2.0)
    assert [fast.test_limits(t).cpu_s for t in fast.tests(hidden=True)] == [2.0, 2.0, 2.0]
    assert fast.time_limit_s == 2.0 and fast.test_limits(fast.hidden_tests[0]).memory_mb == 1024
    small = p.with_limits(memory_mb=64)
    assert [small.test_limits(t).memory_mb for t in small.tests(hidden=True)] == [64, 64, 64]
    assert [small.test_limits(t).cpu_s for t in small.tests(hidden=True)] == [5.0, 5.0, 20.0]
    assert p.with_limits() is p
    assert p.test_limits(TestCase(name="generated")).cpu_s == 20.0


@pytest.mark.datasets
def test_every_gcj_record_keeps_its_test_set_limits(datasets):
    lines = (datasets / "stdio" / "gcj.jsonl").read_text().splitlines()
    checked = 0
    for line in lines:
        rec = json.loads(line)
        p = load_problem(f"{datasets / 'stdio' / 'gcj.jsonl'}#{rec['id']}")
        by_set = rec.get("time_limits_by_test_set_s")
        if by_set and len(set(by_set)) > 1:
            for h in p.hidden_tests:
                number = int(h.name.split("/")[0].removeprefix("subtask"))
                assert p.test_limits(h).cpu_s == by_set[number - 1]
            checked += 1
        else:
            assert not p.has_test_set_limits()
    assert checked >= 5


# --------------------------------------------------------------------------- solving a package

SPIN_THEN_SUM = """\
import sys, time
end = time.process_time() + 0.7
while time.process_time() < end:
    pass
lines = sys.stdin.read().split("\\n")
for i, line in enumerate(lines[1:int(lines[0]) + 1], 1):
    print(f"Case #{i}: {sum(map(int, line.split()[1:]))}")
"""


async def test_solve_runs_candidates_under_the_test_sets_limits_and_the_override(local_sandbox):
    from assistant.engine.search import SearchConfig
    from assistant.models.scripted import ScriptedModel
    from assistant.modes.solve import solve

    model = ScriptedModel(handler=lambda req: f"Sum each case.\n```python\n{SPIN_THEN_SUM}```\n")
    config = SearchConfig(generated_tests=False, complexity=False, repeat_final=1, max_calls=2, initial=1,
                          rounds=0, critic=False)
    problem = load_problem(str(FIXTURES / "codejam-big-sum"))
    result = await solve(problem, model, local_sandbox, config)
    assert result.best is not None and result.best.execution.visible[0].verdict == "AC"  # 5 s for test set 1
    tight = await solve(problem.with_limits(time_s=0.3), model, local_sandbox, config)
    assert [n.execution.visible[0].verdict for n in tight.nodes if n.execution] == ["TLE"]


def test_html_statements_keep_sample_blocks_verbatim():
    from assistant.problems.packages import html_to_text

    text = html_to_text("<html><head><style>p {}</style></head><body><h3>Limits</h3><p>x<sub>i</sub>  &le;\n"
                        "10<sup>5</sup>, $$$N$$$ <img alt='a grid'></p><div>Sample Input</div>"
                        "<pre>2\n  .#\n\n\n#.\n</pre></body></html>")
    assert text == "Limits\n\nx_i ≤ 10^5, N [image: a grid]\n\nSample Input\n\n```\n2\n  .#\n\n\n#.\n```\n"
