"""Problem loaders: every supported layout, and a clear one-line error for every kind of bad input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.errors import UserError
from assistant.problems import Problem, load_problem
from assistant.problems.loaders import find_samples, parse_statement, problem_from_record

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
EXAMPLES = REPO / "examples"
DATASETS = REPO.parent / "shared" / "datasets"

skip_without_datasets = pytest.mark.skipif(not DATASETS.is_dir(), reason="../shared/datasets is not beside the checkout")


def fixture(name: str) -> str:
    return str(FIXTURES / name)


# --------------------------------------------------------------------------- online-judge-tools directories

def test_oj_dir_tests_sorted_naturally_with_statement():
    p = load_problem(fixture("oj-add"))
    assert isinstance(p, Problem)
    assert p.id == "oj-add" and p.kind == "stdio" and p.title == "A + B"
    assert [t.name for t in p.visible_tests] == ["sample-1", "sample-2", "sample-10"]
    assert [(t.input, t.output) for t in p.visible_tests] == [
        ("1 2\n", "3\n"), ("10 -4\n", "6\n"), ("1000000000 1000000000\n", "2000000000\n")]
    assert p.hidden_tests == []
    assert "print their sum" in p.statement
    assert (p.time_limit_s, p.memory_limit_mb) == (1.0, 64)
    assert p.has_tests and p.source == fixture("oj-add")


def test_oj_dir_without_statement_and_with_tests_dir(tmp_path):
    d = tmp_path / "abc123_a"
    (d / "tests").mkdir(parents=True)
    (d / "tests" / "b.in").write_text("2\n")
    (d / "tests" / "b.out").write_text("4\n")
    (d / "tests" / "a.in").write_text("1\r\n")  # CRLF from a Windows download is normalized
    (d / "tests" / "a.out").write_text("2\r\n")
    p = load_problem(str(d))
    assert p.id == "abc123_a" and p.statement == ""
    assert [(t.name, t.input, t.output) for t in p.visible_tests] == [("a", "1\n", "2\n"), ("b", "2\n", "4\n")]
    assert p.limits().cpu_s == 2.0  # default stdio limit when nothing is stated


def test_oj_dir_statement_only_uses_statement_samples(tmp_path):
    d = tmp_path / "p"
    d.mkdir()
    (d / "README.md").write_text("# Echo\n\n## Sample Input\n\n```\nhi\n```\n\n## Sample Output\n\n```\nhi\n```\n")
    p = load_problem(str(d))
    assert p.title == "Echo"
    assert [(t.input, t.output) for t in p.visible_tests] == [("hi\n", "hi\n")]


def test_example_two_sum_dir_and_statement_agree():
    from_dir = load_problem(str(EXAMPLES / "two-sum"))
    from_md = load_problem(str(EXAMPLES / "two-sum" / "problem.md"))
    assert from_dir.id == from_md.id == "two-sum"
    assert len(from_dir.visible_tests) == 3
    assert [(t.input, t.output) for t in from_dir.visible_tests] == [(t.input, t.output) for t in from_md.visible_tests]
    assert (from_md.time_limit_s, from_md.memory_limit_mb) == (1.0, 256)


# --------------------------------------------------------------------------- Competitive Companion

def test_companion_json():
    p = load_problem(fixture("companion.json"))
    assert p.id == "companion" and p.title == "B. Max of Three" and p.kind == "stdio"
    assert p.time_limit_s == 1.5  # timeLimit is in milliseconds
    assert p.memory_limit_mb == 64
    assert [(t.name, t.input, t.output) for t in p.visible_tests] == [
        ("sample-1", "1 2 3\n", "3\n"), ("sample-2", "-5 -2 -9\n", "-2\n")]
    assert p.limits().cpu_s == 1.5 and p.limits().memory_mb == 64


def test_companion_json_takes_statement_beside_it():
    p = load_problem(str(EXAMPLES / "sum-pairs.json"))
    assert p.title == "Sum Pairs" and p.statement.startswith("# Sum Pairs")
    assert [t.output for t in p.visible_tests] == ["2\n", "6\n", "0\n"]
    assert (p.time_limit_s, p.memory_limit_mb) == (2.0, 256)


def test_companion_adds_missing_final_newline(tmp_path):
    f = tmp_path / "p.json"
    f.write_text(json.dumps({"name": "X", "tests": [{"input": "5", "output": "5"}], "timeLimit": 250,
                             "memoryLimit": 255.5}))
    p = load_problem(str(f))
    assert (p.visible_tests[0].input, p.visible_tests[0].output) == ("5\n", "5\n")
    assert p.time_limit_s == 0.25 and p.memory_limit_mb == 256


def test_json_file_holding_one_dataset_record(tmp_path):
    record = json.loads((FIXTURES / "dataset.jsonl").read_text().split("\n")[0])
    f = tmp_path / "inc.json"
    f.write_text(json.dumps(record, indent=2))
    p = load_problem(str(f))
    assert p.id == "fx/inc" and p.kind == "function" and len(p.visible_tests) == 3


# --------------------------------------------------------------------------- dataset records

def test_function_record():
    p = load_problem(fixture("dataset.jsonl") + "#fx/inc")
    assert p.kind == "function" and p.id == "fx/inc" and p.entry_point == "inc"
    assert p.source == fixture("dataset.jsonl") + "#fx/inc"
    assert [t.code for t in p.visible_tests] == ["assert inc(1) == 2", "assert inc(-1) == 0", "assert inc(0) == 2"]
    assert [t.name for t in p.visible_tests] == ["visible-1", "visible-2", "visible-3"]
    assert [t.name for t in p.hidden_tests] == ["hidden-1", "hidden-2"]
    assert p.noisy_visible == [2]
    assert p.test_setup is None and p.module_name is None
    assert p.starter_code == "def inc(x: int) -> int:\n"
    assert "return x + 1" in p.reference_solution
    job = p.job("def inc(x):\n    return x + 1\n", hidden=True)
    assert job.kind == "function" and len(job.tests) == 5 and job.filename == "solution.py"


def test_function_record_with_module_and_requires():
    p = load_problem(fixture("dataset.jsonl") + "#fx/double-mod")
    assert p.module_name == "code" and p.test_setup == "from code import double\n"
    assert p.requires == ["numpy"] and p.title == "double"
    assert p.job("def double(x): return 2 * x").filename == "code.py"


def test_stdio_record():
    p = load_problem(fixture("dataset.jsonl") + "#fx/reverse-words")
    assert p.kind == "stdio" and p.title == "Reverse Words"
    assert (p.time_limit_s, p.memory_limit_mb) == (5.0, 1024)
    assert p.judge.type == "tokens" and p.judge.float_tolerance == 1e-6 and p.judge.case_sensitive is False
    assert [t.name for t in p.visible_tests] == ["sample-1"]
    assert [t.name for t in p.hidden_tests] == ["subtask1/1", "subtask2/1"]
    assert p.hidden_tests[1].output == "case #1: TEST a is this\n"
    assert [t.name for t in p.tests(hidden=True)] == ["sample-1", "subtask1/1", "subtask2/1"]


def test_jsonl_with_single_record_needs_no_id(tmp_path):
    f = tmp_path / "one.jsonl"
    f.write_text((FIXTURES / "dataset.jsonl").read_text().split("\n")[2] + "\n")
    assert load_problem(str(f)).id == "fx/reverse-words"


def test_jsonl_line_separator_inside_strings_is_not_a_line_break(tmp_path):
    f = tmp_path / "d.jsonl"
    rec = {"id": "s", "kind": "stdio", "statement": "a\u2028b", "samples": [{"input": "1\n", "output": "1\n"}]}
    f.write_text(json.dumps(rec, ensure_ascii=False) + "\n", encoding="utf-8")
    assert load_problem(f"{f}#s").statement == "a\u2028b"


def test_record_without_optional_fields_gets_defaults():
    p = problem_from_record({"id": "x", "kind": "stdio", "samples": [{"input": "1", "output": "2"}],
                             "judge": None, "time_limit_s": None}, "here")
    assert p.judge.type == "tokens" and p.time_limit_s is None and p.limits().cpu_s == 2.0


# --------------------------------------------------------------------------- statements

def test_markdown_statement_fixture():
    p = load_problem(fixture("mean.md"))
    assert p.id == "mean" and p.kind == "stdio" and p.title == "Mean of a List"
    assert [(t.name, t.input, t.output) for t in p.visible_tests] == [
        ("sample-1", "3\n1 2 4\n", "2.3333333\n"),  # fenced blocks
        ("sample-2", "2\n5 5\n", "5.0\n"),  # indented blocks
    ]
    assert p.time_limit_s == 0.5 and p.memory_limit_mb == 128
    assert p.judge.float_tolerance == 1e-6  # "absolute or relative error of at most 10^{-6}"
    assert "arithmetic mean" in p.statement


STATEMENTS = {
    "labelled fences": ("Add.\n\n```input\n1 2\n```\n```output\n3\n```\n\n```in\n5 5\n```\n```out\n10\n```\n",
                        [("1 2\n", "3\n"), ("5 5\n", "10\n")]),
    "codeforces copy": ("Sum\n\nInput\nThe first line holds n.\n\nOutput\nPrint the sum.\n\nExamples\n"
                        "Input\n3\n1 2 3\nOutput\n6\nInput\n1\n7\nOutput\n7\n\nNote\nEasy.\n",
                        [("3\n1 2 3\n", "6\n"), ("1\n7\n", "7\n")]),
    "plain text with blank lines in the input": (
        "Boards\n\nSample Input\n\n2\nXX\n..\n\nX.\n.X\n\nSample Output\n\nCase #1: 2\nCase #2: 1\n\nNotes\n...\n",
        [("2\nXX\n..\n\nX.\n.X\n", "Case #1: 2\nCase #2: 1\n")]),
    "bold numbered headings": ("**Sample Input 1:**\n```\n4\n```\n**Sample Output 1:**\n```\n16\n```\n",
                               [("4\n", "16\n")]),
    "example headings with indented blocks": ("## Example input\n\n    1\n    2\n\n## Example output\n\n    3\n",
                                              [("1\n2\n", "3\n")]),
    "numbered markdown headings": ("### Sample input #2\n~~~\nab\n~~~\n### Sample output #2\n~~~\nba\n~~~\n",
                                   [("ab\n", "ba\n")]),
    "grid lines starting with #": ("Sample Input\n#.#\n.#.\nSample Output\n3\n", [("#.#\n.#.\n", "3\n")]),
    "unlabelled code is not a sample": ("Use this:\n\n```python\nprint(input())\n```\n", []),
    "input format prose is not a sample": ("## Input\n\nOne integer n.\n\n## Output\n\nn squared.\n", []),
    "markdown headings with unfenced samples": (
        "# Add\n\nRead a and b, print their sum.\n\n## Input\n\n1 2\n\n## Output\n\n3\n",
        [("1 2\n", "3\n")]),
    "unfenced samples after the format's description": (
        "# Sum\n\n## Input\n\nThe first line holds n; the second line holds n integers.\n\n## Output\n\n"
        "Print their sum.\n\n## Input\n\n3\n1 2 3\n\n## Output\n\n6\n\n## Input\n\n1\n7\n\n## Output\n\n7\n",
        [("3\n1 2 3\n", "6\n"), ("1\n7\n", "7\n")]),
    "unfenced words are data too": ("## Input\n\nhello world\n\n## Output\n\nHELLO WORLD\n",
                                    [("hello world\n", "HELLO WORLD\n")]),
    "markdown headings with fenced samples": ("## Input\n\n```\n2 2\n```\n\n## Output\n\n```\n4\n```\n",
                                              [("2 2\n", "4\n")]),
}


@pytest.mark.parametrize("name", list(STATEMENTS))
def test_statement_sample_formats(name):
    text, expected = STATEMENTS[name]
    tests = find_samples(text, "s.md")
    assert [(t.input, t.output) for t in tests] == expected
    assert [t.name for t in tests] == [f"sample-{i}" for i in range(1, len(expected) + 1)]


def test_statement_without_samples_is_allowed(tmp_path):
    f = tmp_path / "task.txt"
    f.write_text("Write a program that reads n and prints n squared.\n")
    p = load_problem(str(f))
    assert p.kind == "stdio" and p.id == "task" and not p.has_tests and p.visible_tests == []
    assert p.statement.startswith("Write a program")


def test_statement_limits_and_tolerance_forms():
    p = parse_statement("time limit per test: 2 seconds\nmemory limit per test: 1 GB\n"
                        "Your answer is accepted if its relative error does not exceed 1e-9.\n", "x", "x", "x")
    assert (p.time_limit_s, p.memory_limit_mb, p.judge.float_tolerance) == (2.0, 1024, 1e-9)
    p = parse_statement("Time limit: 1500 ms. The absolute error must be at most 0.001.\n", "x", "x", "x")
    assert (p.time_limit_s, p.memory_limit_mb, p.judge.float_tolerance) == (1.5, None, 1e-3)


# --------------------------------------------------------------------------- bad input: one line naming the file

def _write(path: Path, data: str | bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return str(path)


def _oj_dir(root: Path, test_files: dict[str, str]) -> str:
    root.mkdir(parents=True)
    for name, text in test_files.items():
        _write(root / "test" / name, text)
    return str(root)


def _companion(**changes) -> str:
    data = json.loads((FIXTURES / "companion.json").read_text())
    data.update(changes)
    return json.dumps(data)


# each case: (build the spec in tmp_path) -> (spec, fragments the message must contain)
BAD_INPUTS = {
    "missing file": lambda t: (str(t / "nope.json"), ["nope.json", "no such file"]),
    "missing dataset file": lambda t: (str(t / "nope.jsonl") + "#a/1", ["nope.jsonl", "no such file"]),
    "not UTF-8": lambda t: (_write(t / "latin.md", "Entr\u00e9e\n".encode("latin-1")),
                            ["latin.md", "not UTF-8", "0xe9"]),
    "malformed JSON": lambda t: (_write(t / "cc.json", '{\n  "name": "x",\n  "tests": [,]\n}\n'),
                                 ["cc.json", "malformed JSON at line 3, column 13"]),
    "JSON not an object": lambda t: (_write(t / "cc.json", "[1, 2]"), ["cc.json", "expected a JSON object", "a list"]),
    "JSON without tests": lambda t: (_write(t / "cc.json", '{"name": "x"}'),
                                     ["cc.json", "not a Competitive Companion problem", "no 'tests'"]),
    "companion bad field": lambda t: (_write(t / "cc.json", '{"tests": [{"input": 1, "output": "2"}]}'),
                                      ["cc.json", "field 'tests.0.input'"]),
    "interactive": lambda t: (_write(t / "cc.json", _companion(interactive=True)),
                              ["cc.json", "interactive", "not supported"]),
    "file input": lambda t: (_write(t / "cc.json", _companion(input={"type": "file", "fileName": "in.txt"})),
                             ["cc.json", "file", "in.txt", "not supported"]),
    "file output": lambda t: (_write(t / "cc.json", _companion(output={"type": "file", "fileName": "out.txt"})),
                              ["cc.json", "out.txt", "not supported"]),
    "JSONL line not an object": lambda t: (
        _write(t / "d.jsonl", '{"id": "a", "kind": "stdio"}\n[1, 2]\n') + "#b",
        ["d.jsonl line 2", "expected a JSON object", "a list"]),
    "JSONL malformed line": lambda t: (_write(t / "d.jsonl", '{"id": "a"}\n{"id": \n') + "#b",
                                       ["d.jsonl line 2", "malformed JSON at column"]),
    "JSONL broken line after the record": lambda t: (
        _write(t / "d.jsonl", '{"id": "a", "kind": "stdio"}\n{"id": "b", \n') + "#a",
        ["d.jsonl line 2", "malformed JSON at column"]),
    "repair record": lambda t: (fixture("dataset.jsonl") + "#fx/broken-repo",
                                ["dataset.jsonl#fx/broken-repo", "record fx/broken-repo is a repair record: use `orps fix`"]),
    "unknown id, close match": lambda t: (fixture("dataset.jsonl") + "#fx/incc",
                                          ["dataset.jsonl", "no record with id 'fx/incc'", "4 records",
                                           "did you mean fx/inc"]),
    "unknown id, no close match": lambda t: (fixture("dataset.jsonl") + "#zzz",
                                             ["dataset.jsonl", "'zzz'", "ids look like fx/inc, fx/double-mod"]),
    "empty id": lambda t: (fixture("dataset.jsonl") + "#", ["dataset.jsonl#", "no record id"]),
    "jsonl without id": lambda t: (fixture("dataset.jsonl"), ["dataset.jsonl", "#ID", "fx/inc"]),
    "unknown kind": lambda t: (_write(t / "d.jsonl", '{"id": "a", "kind": "essay"}\n') + "#a",
                               ["d.jsonl#a", "kind 'essay'"]),
    "bad record field": lambda t: (_write(t / "d.jsonl", '{"id": "a", "kind": "function", "visible_tests": "x"}\n')
                                   + "#a", ["d.jsonl#a", "not a valid function record", "visible_tests"]),
    "unsupported judge": lambda t: (_write(t / "d.jsonl", '{"id": "a", "kind": "stdio", "judge": {"type": "special"}}\n')
                                    + "#a", ["d.jsonl#a", "judge type 'special'"]),
    "empty dir": lambda t: (_oj_dir(t / "empty", {}), ["empty", "no tests", "no statement"]),
    ".in without .out": lambda t: (_oj_dir(t / "p", {"sample-1.in": "1\n", "sample-1.out": "1\n",
                                                     "sample-2.in": "2\n"}),
                                   ["p/test/sample-2.in", "no matching sample-2.out"]),
    ".out without .in": lambda t: (_oj_dir(t / "q", {"x.out": "1\n"}), ["q/test/x.out", "no matching x.in"]),
    "empty statement": lambda t: (_write(t / "s.md", "  \n"), ["s.md", "empty"]),
    "sample input without output": lambda t: (_write(t / "s.md", "# T\n\nSample Input\n\n```\n1\n```\n"),
                                              ["s.md", "sample input at line 3 has no output"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_clear_user_error(case, tmp_path):
    spec, fragments = BAD_INPUTS[case](tmp_path)
    with pytest.raises(UserError) as info:
        load_problem(spec)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


@pytest.mark.parametrize("case", ["missing file", "not UTF-8", "malformed JSON", "interactive",
                                  "JSONL line not an object", "JSONL broken line after the record", "repair record", "unknown id, close match",
                                  "empty dir", ".in without .out"])
def test_bad_problem_through_the_cli_is_one_line_without_traceback(case, tmp_path):
    spec, fragments = BAD_INPUTS[case](tmp_path)
    solution = _write(tmp_path / "sol.py", "print(1)\n")
    result = CliRunner().invoke(main, ["judge", solution, "--problem", spec, "--sandbox", "local"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("orps: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert result.stdout == ""


def test_unreadable_file(tmp_path, monkeypatch):
    path = Path(_write(tmp_path / "locked.md", "# T\n"))
    path.chmod(0)
    if os.access(path, os.R_OK):  # root reads anything: make the read fail the way it would for a user
        real = Path.read_bytes

        def refuse(self):
            if self == path:
                raise PermissionError(13, "Permission denied")
            return real(self)
        monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(UserError, match=r"locked\.md: cannot read the file \(permission denied\)"):
        load_problem(str(path))


# --------------------------------------------------------------------------- the real datasets

@pytest.mark.parametrize("name", ["function/humaneval.jsonl", "function/humaneval_plus.jsonl",
                                  "function/mbpp_plus.jsonl", "function/lbpp.jsonl", "function/mbpp_v2.jsonl",
                                  "stdio/gcj.jsonl"])
@pytest.mark.datasets
@skip_without_datasets
def test_every_dataset_record_converts(name):
    path = DATASETS / name
    count = 0
    for line in path.read_text(encoding="utf-8").split("\n"):
        if not line.strip():
            continue
        rec = json.loads(line)
        p = problem_from_record(rec, f"{name}#{rec['id']}")
        count += 1
        assert p.kind == rec["kind"] and p.statement == rec["statement"]
        if p.kind == "function":
            # each snippet is kept whole; helper definitions from earlier snippets may be prepended
            for tests, originals in ((p.visible_tests, rec["visible_tests"]), (p.hidden_tests, rec["hidden_tests"])):
                assert len(tests) == len(originals)
                assert all(t.code.endswith(orig) for t, orig in zip(tests, originals))
            assert p.module_name == rec["module_name"]
            assert p.noisy_visible == (rec.get("reference_visible_failures") or [])
        else:
            assert [(t.input, t.output) for t in p.visible_tests] == [(s["input"], s["output"]) for s in rec["samples"]]
            assert [t.name for t in p.hidden_tests] == [h["name"] for h in rec["hidden"]]
            assert p.judge.case_sensitive is False
    assert count > 50


@pytest.mark.datasets
@skip_without_datasets
def test_dataset_specs_load_by_id():
    he = load_problem(f"{DATASETS / 'function' / 'humaneval.jsonl'}#HumanEval/0")
    assert he.entry_point == "has_close_elements" and len(he.visible_tests) == 2 and len(he.hidden_tests) == 7
    lbpp = load_problem(f"{DATASETS / 'function' / 'lbpp.jsonl'}#lbpp/0")
    assert lbpp.module_name == "code" and lbpp.requires == ["numpy"]
    with pytest.raises(UserError, match=r"quixbugs\.jsonl#quixbugs/bitcount: record quixbugs/bitcount is a repair"):
        load_problem(f"{DATASETS / 'repair' / 'quixbugs.jsonl'}#quixbugs/bitcount")
    with pytest.raises(UserError, match=r"no record with id 'HumanEval/1000'.*did you mean HumanEval/100"):
        load_problem(f"{DATASETS / 'function' / 'humaneval.jsonl'}#HumanEval/1000")


@pytest.mark.datasets
@skip_without_datasets
def test_gcj_statements_parse_to_their_samples_and_limits():
    """The statement parser recovers each GCJ record's samples and time limit from the plain text."""
    exact = 0
    for line in (DATASETS / "stdio" / "gcj.jsonl").read_text(encoding="utf-8").split("\n"):
        if not line.strip():
            continue
        rec = json.loads(line)
        p = parse_statement(rec["statement"], rec["id"], rec["id"], rec["id"])
        got = [(t.input.strip(), t.output.strip()) for t in p.visible_tests]
        want = [(s["input"].strip(), s["output"].strip()) for s in rec["samples"]]
        # a few statements also show "additional samples" that the record leaves out
        assert got[:len(want)] == want, rec["id"]
        exact += got == want
        assert p.time_limit_s == rec["time_limit_s"], rec["id"]
    assert exact >= 75


def test_helpers_from_earlier_snippets_are_carried_forward():
    from assistant.problems.loaders import carry_definitions
    snippets = ["import math\ndef helper(x):\n    return x + 1\nassert helper(1) == 2",
                "assert helper(2) == 3 and math.pi > 3",
                "def helper(x):\n    return x\nassert helper(5) == 5"]
    out = carry_definitions(snippets)
    assert out[0] == snippets[0]
    assert out[1].endswith(snippets[1]) and "def helper(x):\n    return x + 1" in out[1] and "import math" in out[1]
    assert "assert helper(1) == 2" not in out[1]  # only definitions travel, never asserts
    assert out[2] == snippets[2]  # a snippet that defines its own helper keeps it
