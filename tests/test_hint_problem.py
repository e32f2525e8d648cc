"""Problems for `orps hint`: a statement plus a tests file (Python, JSON, oj folder)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.errors import UserError
from assistant.modes.hint import hint_problem

BUGGY = "def gcd(a, b):\n    if b == 0:\n        return a\n    else:\n        return gcd(a % b, b)\n"
FIX = "def gcd(a, b):\n    if b == 0:\n        return a\n    else:\n        return gcd(b, a % b)\n"


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


async def run(sandbox, problem, source):
    report = await sandbox.arun(problem.job(source))
    return {r.name: r for r in report.results}


async def test_pytest_style_file_with_literal_parametrize_helpers_and_classes(tmp_path, local_sandbox):
    write(tmp_path, {
        "statement.md": "Greatest common divisor of a and b.\n",
        "gcd.py": BUGGY,
        "helpers.py": "def same(x):\n    return x\n",
        "test_gcd.py": (
            "import pytest\nfrom helpers import same\nfrom gcd import gcd\n\n\n"
            "@pytest.mark.parametrize('a,b,expected', [(17, 0, 17), pytest.param(13, 13, 13, id='eq'), (37, 600, 1)])\n"
            "def test_gcd(a, b, expected):\n    \"\"\"checks one case\"\"\"\n    assert gcd(a, b) == same(expected)\n\n\n"
            "def test_type():\n    with pytest.raises(TypeError):\n        gcd('x', 2)\n    assert gcd(0.5, 0) == pytest.approx(0.5)\n\n\n"
            "@pytest.mark.skip(reason='later')\ndef test_later():\n    assert False\n\n\n"
            "class TestMore:\n    def test_one(self):\n        assert gcd(5, 0) == 5\n\n\n"
            "assert gcd(4, 0) == 4\n")})
    problem = await hint_problem(str(tmp_path / "statement.md"), str(tmp_path / "test_gcd.py"),
                                 str(tmp_path / "gcd.py"), local_sandbox)
    assert problem.kind == "function" and problem.module_name == "gcd" and problem.entry_point == "gcd"
    assert problem.statement.startswith("Greatest common divisor")
    names = [t.name for t in problem.visible_tests]
    assert names == ["test_gcd[0]", "test_gcd[1]", "test_gcd[2]", "test_type", "TestMore.test_one", "test_gcd.py:28"]
    assert problem.visible_tests[1].code == "a, b, expected = (13, 13, 13)\nassert gcd(a, b) == same(expected)"
    buggy = await run(local_sandbox, problem, BUGGY)
    assert buggy["test_gcd[0]"].passed and not buggy["test_gcd[1]"].passed and buggy["test_type"].passed
    assert buggy["TestMore.test_one"].passed and buggy["test_gcd.py:28"].passed
    fixed = await run(local_sandbox, problem, FIX)
    assert all(r.passed for r in fixed.values()), {n: r.detail for n, r in fixed.items() if not r.passed}
    # expected vs actual travel back from inside the test function
    bad = await run(local_sandbox, problem, "def gcd(a, b):\n    return 1\n")
    assert bad["test_gcd[0]"].expected == "17" and bad["test_gcd[0]"].actual == "1"


async def test_parametrized_values_computed_from_data_files_run_in_the_sandbox(tmp_path, local_sandbox):
    # the QuixBugs layout: a helper module reads JSON test data beside it
    write(tmp_path, {
        "gcd.py": BUGGY,
        "load_testdata.py": ("import json\nfrom pathlib import Path\n\n\ndef load_json_testcases(name):\n"
                             "    path = Path(__file__).parent / f'json_testcases/{name}.json'\n"
                             "    with open(path) as fh:\n        return [json.loads(line) for line in fh]\n"),
        "json_testcases/gcd.json": "[[17, 0], 17]\n[[13, 13], 13]\n[[37, 600], 1]\n",
        "test_gcd.py": ("import pytest\nfrom load_testdata import load_json_testcases\nfrom gcd import gcd\n\n"
                        "testdata = load_json_testcases(gcd.__name__)\n\n\n"
                        "@pytest.mark.parametrize('input_data,expected', testdata)\n"
                        "def test_gcd(input_data, expected):\n    assert gcd(*input_data) == expected\n")})
    problem = await hint_problem(None, str(tmp_path / "test_gcd.py"), str(tmp_path / "gcd.py"), local_sandbox)
    assert [t.name for t in problem.visible_tests] == ["test_gcd[0]", "test_gcd[1]", "test_gcd[2]"]
    # the values are shown to the models as literals
    assert problem.visible_tests[1].code.startswith("input_data, expected = [[13, 13], 13]")
    buggy = await run(local_sandbox, problem, BUGGY)
    assert [r.passed for r in buggy.values()] == [True, False, False]
    assert all(r.passed for r in (await run(local_sandbox, problem, FIX)).values())


async def test_tests_that_import_nothing_share_the_program_namespace(tmp_path, local_sandbox):
    write(tmp_path, {"prog.py": "def add(a, b):\n    return a - b\n",
                     "checks.py": "assert add(1, 2) == 3\nassert add(0, 0) == 0\n"})
    problem = await hint_problem(None, str(tmp_path / "checks.py"), str(tmp_path / "prog.py"), local_sandbox)
    assert problem.module_name is None and problem.id == "prog"
    results = await run(local_sandbox, problem, "def add(a, b):\n    return a - b\n")
    assert [r.passed for r in results.values()] == [False, True]


async def test_stdio_tests_from_json_and_oj_folders(tmp_path, local_sandbox):
    write(tmp_path, {"sum.md": "# Sum\nPrint the sum of the numbers.\n",
                     "tests.json": json.dumps([{"input": "1 2\n", "output": "3\n"}, {"input": "5\n", "output": "5\n"}]),
                     "tests.jsonl": '{"input": "1 2\\n", "output": "3\\n"}\n',
                     "cases/a.in": "2 2\n", "cases/a.out": "4\n"})
    from_json = await hint_problem(str(tmp_path / "sum.md"), str(tmp_path / "tests.json"), "sum.py", local_sandbox)
    assert from_json.kind == "stdio" and len(from_json.visible_tests) == 2 and from_json.title == "Sum"
    assert len((await hint_problem(None, str(tmp_path / "tests.jsonl"), "sum.py")).visible_tests) == 1
    folder = await hint_problem(str(tmp_path / "sum.md"), str(tmp_path / "cases"), "sum.py")
    assert [(t.input, t.output) for t in folder.visible_tests] == [("2 2\n", "4\n")]


async def test_bad_tests_files_are_one_line_errors(tmp_path, local_sandbox):
    write(tmp_path, {"p.py": "x = 1\n", "broken.py": "def test_x(:\n", "empty.py": "x = 1\n",
                     "fixture.py": "def test_x(tmp_path):\n    assert tmp_path\n",
                     "notes.txt": "hello", "bad.json": '[{"input": 1}]'})
    cases = {
        "broken.py": "the tests file does not parse",
        "empty.py": "no tests in this file",
        "fixture.py": "pytest fixtures are not supported",
        "notes.txt": "unsupported tests file",
        "bad.json": "needs string fields",
        "missing.py": "no such tests file",
    }
    for name, message in cases.items():
        with pytest.raises(UserError, match=message) as info:
            await hint_problem(None, str(tmp_path / name), str(tmp_path / "p.py"), local_sandbox)
        assert "\n" not in str(info.value) and name in str(info.value)
    with pytest.raises(UserError, match="no problem given"):
        await hint_problem(None, None, "p.py")


async def test_a_repair_record_is_a_problem_with_its_pytest_tests(tmp_path, local_sandbox):
    record = {"id": "toy/gcd", "kind": "repair", "source": "toy", "program": "gcd.py",
              "statement": "Greatest common divisor.",
              "files": {"gcd.py": BUGGY,
                        "node.py": "class Box:\n    def __init__(self, v):\n        self.v = v\n",
                        "test_gcd.py": ("from node import Box\nfrom gcd import gcd\n\n\n"
                                        "def test_zero():\n    assert gcd(Box(17).v, 0) == 17\n\n\n"
                                        "def test_equal():\n    assert gcd(13, 13) == 13\n")},
              "fixed_files": {"gcd.py": FIX}}
    data = tmp_path / "repairs.jsonl"
    data.write_text(json.dumps({"id": "other", "kind": "repair"}) + "\n" + json.dumps(record) + "\n", encoding="utf-8")
    # the student's copy has another name: it stands in for the record's program
    problem = await hint_problem(f"{data}#toy/gcd", None, str(tmp_path / "mine.py"), local_sandbox)
    assert problem.id == "toy/gcd" and problem.statement == "Greatest common divisor."
    assert problem.module_name == "gcd" and [t.name for t in problem.visible_tests] == ["test_zero", "test_equal"]
    assert [r.passed for r in (await run(local_sandbox, problem, BUGGY)).values()] == [True, False]
    assert all(r.passed for r in (await run(local_sandbox, problem, FIX)).values())
