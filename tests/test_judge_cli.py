"""`orps judge`: verdict table, JSON document and exit codes (local sandbox; one Docker test)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import main

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
EXAMPLES = REPO / "examples"
DATASETS = REPO.parent / "shared" / "datasets"
DATASET = str(FIXTURES / "dataset.jsonl")

skip_without_datasets = pytest.mark.skipif(not DATASETS.is_dir(), reason="../shared/datasets is not beside the checkout")

JSON_KEYS = {"problem", "solution", "language", "backend", "judge", "passed", "total", "all_passed",
             "compile_error", "compile_ms", "compile_cached", "sandbox_error", "repeat", "results"}
RESULT_KEYS = {"name", "verdict", "rule", "cpu_ms", "wall_ms", "peak_rss_kb", "time_limit_s", "memory_limit_mb",
               "detail", "expected", "actual", "mismatch", "error_type"}

SUM_PAIRS = """\
import sys
from collections import Counter

data = sys.stdin.read().split()
n, k = int(data[0]), int(data[1])
seen = Counter()
pairs = 0
for a in map(int, data[2:2 + n]):
    pairs += seen[k - a]
    seen[a] += 1
print(pairs)
"""


def judge(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, ["judge", *args], env=env)


def judge_json(*args: str) -> tuple[int, dict]:
    result = judge(*args, "--json")
    assert "Traceback" not in result.output
    doc = json.loads(result.stdout)
    assert set(doc) == JSON_KEYS
    for r in doc["results"]:
        assert set(r) == RESULT_KEYS
    return result.exit_code, doc


def solution(tmp_path: Path, source: str, name: str = "sol.py") -> str:
    path = tmp_path / name
    path.write_text(source, encoding="utf-8")
    return str(path)


# --------------------------------------------------------------------------- passing and failing solutions

def test_example_solution_passes_with_table():
    result = judge(str(EXAMPLES / "two-sum" / "solution.py"), "--problem", str(EXAMPLES / "two-sum"),
                   "--sandbox", "local")
    assert result.exit_code == 0, result.output
    out = result.stdout
    for name in ("sample-1", "sample-2", "sample-3"):
        assert name in out
    assert out.count("AC") == 3
    assert "passed 3/3" in out and "max CPU" in out and "max memory" in out
    assert "WARNING" not in result.stderr  # --sandbox local is an explicit choice, not a fallback


def test_json_document_for_a_passing_solution(tmp_path):
    code, doc = judge_json(solution(tmp_path, SUM_PAIRS), "-p", str(EXAMPLES / "sum-pairs.json"), "--sandbox", "local")
    assert code == 0
    assert doc["problem"] == "sum-pairs" and doc["backend"] == "local"
    assert doc["solution"].endswith("sol.py")
    assert (doc["passed"], doc["total"], doc["all_passed"], doc["compile_error"]) == (3, 3, True, None)
    assert [r["name"] for r in doc["results"]] == ["sample-1", "sample-2", "sample-3"]
    for r in doc["results"]:
        assert r["verdict"] == "AC" and r["cpu_ms"] > 0 and r["wall_ms"] > 0 and r["peak_rss_kb"] > 1000
        assert r["actual"] == r["expected"]


def test_wrong_answer_and_runtime_error(tmp_path):
    src = solution(tmp_path, "import sys\nd = sys.stdin.read().split()\nif d[0] == '3':\n    print(1 // 0)\n"
                             "print(1, 2)\n")
    code, doc = judge_json(src, "-p", str(EXAMPLES / "two-sum"), "--sandbox", "local")
    assert code == 1
    assert (doc["passed"], doc["total"], doc["all_passed"]) == (1, 3, False)
    ok, re_, wa = doc["results"]
    assert ok["verdict"] == "AC"
    assert re_["verdict"] == "RE" and re_["error_type"] == "ZeroDivisionError"
    assert "ZeroDivisionError" in re_["detail"] and "solution line 4" in re_["detail"]
    assert wa["verdict"] == "WA" and wa["expected"] == "2 4\n" and wa["actual"] == "1 2\n"
    assert "line 1, token 1: expected '2', got '1'" in wa["detail"] and wa["rule"] == "tokens"
    assert wa["mismatch"] == {"expected_line": 1, "actual_line": 1, "expected": [{"line": 1, "text": "2 4"}],
                              "actual": [{"line": 1, "text": "1 2"}]}
    assert re_["rule"] is None and re_["mismatch"] is None and ok["rule"] == "tokens"

    table = judge(src, "-p", str(EXAMPLES / "two-sum"), "--sandbox", "local")
    assert table.exit_code == 1
    assert "RE" in table.stdout and "WA" in table.stdout and "passed 1/3" in table.stdout
    assert "judged by" in table.stdout and "tokens" in table.stdout
    # below the table: the first differing line of both sides, numbered
    assert "expected:\n    >1 | 2 4\n  got:\n    >1 | 1 2" in table.stdout


def test_compile_error(tmp_path):
    src = solution(tmp_path, "def f(:\n    pass\n")
    code, doc = judge_json(src, "-p", str(FIXTURES / "companion.json"), "--sandbox", "local")
    assert code == 1
    assert "SyntaxError" in doc["compile_error"] and doc["passed"] == 0 and doc["total"] == 2
    assert {r["verdict"] for r in doc["results"]} == {"CE"}
    table = judge(src, "-p", str(FIXTURES / "companion.json"), "--sandbox", "local")
    assert table.exit_code == 1
    assert "compile error" in table.stdout and "SyntaxError" in table.stdout and "passed 0/2" in table.stdout


def test_time_limit_from_the_problem(tmp_path):
    cc = tmp_path / "slow.json"
    cc.write_text(json.dumps({"name": "Slow", "timeLimit": 300, "memoryLimit": 64,
                              "tests": [{"input": "1\n", "output": "1\n"}]}))
    code, doc = judge_json(solution(tmp_path, "while True:\n    pass\n"), "-p", str(cc), "--sandbox", "local")
    assert code == 1
    assert doc["results"][0]["verdict"] == "TLE" and "0.3s" in doc["results"][0]["detail"]


def test_float_tolerance_from_the_statement(tmp_path):
    src = solution(tmp_path, "n = int(input())\nxs = list(map(int, input().split()))\nprint(sum(xs) / n)\n")
    code, doc = judge_json(src, "-p", str(FIXTURES / "mean.md"), "--sandbox", "local")
    assert code == 0, doc  # 2.3333333333333335 vs 2.3333333 within 1e-6
    assert doc["results"][0]["actual"] == "2.3333333333333335\n"


def test_repeat_reports_the_median(tmp_path):
    code, doc = judge_json(solution(tmp_path, SUM_PAIRS), "-p", str(EXAMPLES / "sum-pairs.json"),
                           "--sandbox", "local", "--repeat", "3")
    assert code == 0 and doc["repeat"] == 3
    bad = judge(solution(tmp_path, SUM_PAIRS), "-p", str(EXAMPLES / "sum-pairs.json"), "--repeat", "0")
    assert bad.exit_code == 2 and "Traceback" not in bad.output


# --------------------------------------------------------------------------- function problems

def test_function_record_visible_and_hidden(tmp_path):
    src = solution(tmp_path, "def inc(x):\n    return x + 1\n")
    code, doc = judge_json(src, "-p", f"{DATASET}#fx/inc", "--sandbox", "local")
    # the fixture's third visible test is wrong on purpose (a noisy visible test, as in LBPP)
    assert code == 1 and (doc["passed"], doc["total"]) == (2, 3)
    noisy = doc["results"][2]
    assert noisy["verdict"] == "WA" and noisy["expected"] == "2" and noisy["actual"] == "1"
    assert "assert inc(0) == 2" in noisy["detail"]
    assert doc["judge"] is None and noisy["rule"] is None  # asserts judge function tests, not a comparison
    code, doc = judge_json(src, "-p", f"{DATASET}#fx/inc", "--sandbox", "local", "--hidden")
    assert (doc["passed"], doc["total"]) == (4, 5)
    assert [r["name"] for r in doc["results"]][-2:] == ["hidden-1", "hidden-2"]


def test_function_record_with_module_name(tmp_path):
    result = judge(solution(tmp_path, "def double(x):\n    return 2 * x\n"), "-p", f"{DATASET}#fx/double-mod",
                   "--sandbox", "local", "--hidden")
    assert result.exit_code == 0, result.output
    assert "passed 2/2" in result.stdout
    assert "numpy" in result.stderr  # the record's `requires` is announced


def test_missing_required_package_shows_import_error(tmp_path):
    src = solution(tmp_path, "import orps_surely_not_installed_pkg\n\ndef double(x):\n    return 2 * x\n")
    code, doc = judge_json(src, "-p", f"{DATASET}#fx/double-mod", "--sandbox", "local")
    assert code == 1
    r = doc["results"][0]
    assert r["verdict"] == "RE" and r["error_type"] in ("ModuleNotFoundError", "ImportError")


# --------------------------------------------------------------------------- user errors: exit 2, one line

def _one_line_error(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("orps: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def test_missing_solution_file(tmp_path):
    _one_line_error(judge(str(tmp_path / "gone.py"), "-p", str(EXAMPLES / "two-sum"), "--sandbox", "local"),
                    "gone.py", "no such solution file")


def test_solution_is_a_directory(tmp_path):
    _one_line_error(judge(str(tmp_path), "-p", str(EXAMPLES / "two-sum"), "--sandbox", "local"), "is a directory")


def test_solution_not_utf8(tmp_path):
    path = tmp_path / "latin.py"
    path.write_bytes("print('\u00e9')\n".encode("latin-1"))
    _one_line_error(judge(str(path), "-p", str(EXAMPLES / "two-sum"), "--sandbox", "local"), "latin.py", "not UTF-8")


def test_solution_in_a_language_orps_does_not_know(tmp_path):
    _one_line_error(judge(solution(tmp_path, "class A {}\n", "A.java"), "-p", str(EXAMPLES / "two-sum")),
                    "A.java", "no language for .java files", "python, pypy, cpp, c", "--lang")
    _one_line_error(judge(solution(tmp_path, "print(1)\n"), "-p", str(EXAMPLES / "two-sum"), "--lang", "cobol"),
                    "--lang cobol", "unknown language", "cpp")


def test_a_compiled_binary_is_not_a_solution(tmp_path):
    path = tmp_path / "a.out"
    path.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(64))
    _one_line_error(judge(str(path), "-p", str(EXAMPLES / "two-sum")), "a.out", "ELF executable", "source file")
    blob = tmp_path / "sol.cpp"
    blob.write_bytes(b"int main() {}\x00\x00\x01")
    _one_line_error(judge(str(blob), "-p", str(EXAMPLES / "two-sum")), "sol.cpp", "binary data")


def test_problem_without_tests(tmp_path):
    statement = tmp_path / "task.md"
    statement.write_text("# Task\n\nPrint 42.\n")
    _one_line_error(judge(solution(tmp_path, "print(42)\n"), "-p", str(statement), "--sandbox", "local"),
                    "task.md", "no tests")


def test_problem_with_only_hidden_tests(tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"id": "h", "kind": "function", "visible_tests": [],
                                "hidden_tests": ["assert f() == 1"]}) + "\n")
    src = solution(tmp_path, "def f():\n    return 1\n")
    _one_line_error(judge(src, "-p", f"{data}#h", "--sandbox", "local"), "no visible tests", "--hidden")
    result = judge(src, "-p", f"{data}#h", "--sandbox", "local", "--hidden")
    assert result.exit_code == 0 and "passed 1/1" in result.stdout


def test_bad_problem_spec(tmp_path):
    _one_line_error(judge(solution(tmp_path, "print(1)\n"), "-p", f"{DATASET}#fx/broken-repo"),
                    "repair record", "orps fix")


def test_problem_option_is_required(tmp_path):
    result = judge(solution(tmp_path, "print(1)\n"))
    assert result.exit_code == 2 and "--problem" in result.output


def test_docker_not_running_with_sandbox_docker(tmp_path):
    env = {"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    _one_line_error(judge(solution(tmp_path, "print(1)\n"), "-p", str(EXAMPLES / "two-sum"), "--sandbox", "docker",
                          env=env), "Docker is not running")


# --------------------------------------------------------------------------- Docker and the real datasets

def _docker_unavailable() -> str | None:
    if not shutil.which("docker"):
        return "no docker client"
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, timeout=20)
        if info.returncode != 0:
            return "docker info failed: no engine"
        image = subprocess.run(["docker", "image", "inspect", "orps-sandbox"], capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"docker unavailable: {exc}"
    return None if image.returncode == 0 else "image orps-sandbox missing (orps sandbox build)"


@pytest.mark.docker
def test_judge_in_docker(tmp_path):
    reason = _docker_unavailable()
    if reason:
        pytest.skip(reason)
    code, doc = judge_json(str(EXAMPLES / "two-sum" / "solution.py"), "-p", str(EXAMPLES / "two-sum"),
                           "--sandbox", "docker")
    assert code == 0 and doc["backend"] == "docker" and doc["passed"] == doc["total"] == 3
    missing = judge(str(EXAMPLES / "two-sum" / "solution.py"), "-p", str(EXAMPLES / "two-sum"), "--sandbox", "docker",
                    env={"ORPS_SANDBOX__IMAGE": "orps-sandbox-that-does-not-exist"})
    _one_line_error(missing, "orps-sandbox-that-does-not-exist", "missing")


def _record(name: str, record_id: str) -> dict:
    for line in (DATASETS / name).read_text(encoding="utf-8").split("\n"):
        if line.strip():
            rec = json.loads(line)
            if rec["id"] == record_id:
                return rec
    raise AssertionError(f"{record_id} not in {name}")


@pytest.mark.datasets
@skip_without_datasets
def test_humaneval_reference_passes_hidden_tests(tmp_path):
    rec = _record("function/humaneval.jsonl", "HumanEval/0")
    src = solution(tmp_path, rec["reference_solution"])
    code, doc = judge_json(src, "-p", f"{DATASETS / 'function' / 'humaneval.jsonl'}#HumanEval/0", "--hidden",
                           "--sandbox", "local")
    assert code == 0 and doc["all_passed"] and doc["total"] == 9
    wrong = solution(tmp_path, "def has_close_elements(numbers, threshold):\n    return False\n", "wrong.py")
    code, doc = judge_json(wrong, "-p", f"{DATASETS / 'function' / 'humaneval.jsonl'}#HumanEval/0", "--hidden",
                           "--sandbox", "local")
    assert code == 1 and 0 < doc["passed"] < doc["total"]


TIDY_NUMBERS = """\
t = int(input())
for case in range(1, t + 1):
    digits = list(input().strip())
    for i in range(len(digits) - 1, 0, -1):
        if digits[i] < digits[i - 1]:
            digits[i - 1] = str(int(digits[i - 1]) - 1)
            digits[i:] = "9" * (len(digits) - i)
    print(f"Case #{case}: {int(''.join(digits))}")
"""


@pytest.mark.datasets
@skip_without_datasets
def test_gcj_record_samples_and_hidden(tmp_path):
    spec = f"{DATASETS / 'stdio' / 'gcj.jsonl'}#codejam/2017/qualification_round/tidy_numbers"
    code, doc = judge_json(solution(tmp_path, TIDY_NUMBERS), "-p", spec, "--sandbox", "local")
    assert code == 0 and doc["problem"] == "codejam/2017/qualification_round/tidy_numbers"
    assert [r["name"] for r in doc["results"]] == ["sample-1"]
    code, doc = judge_json(solution(tmp_path, TIDY_NUMBERS), "-p", spec, "--sandbox", "local", "--hidden")
    assert code == 0 and doc["total"] == 3 and doc["results"][1]["name"] == "subtask1/1"
    off_by_one = TIDY_NUMBERS.replace("int(''.join(digits))", "int(''.join(digits)) + 1")
    code, doc = judge_json(solution(tmp_path, off_by_one, "bad.py"), "-p", spec, "--sandbox", "local")
    assert code == 1 and doc["results"][0]["verdict"] == "WA"


# --------------------------------------------------------------------------- packages, rules and limits

BIG_SUM = """\
import sys
lines = sys.stdin.read().split("\\n")
for i, line in enumerate(lines[1:int(lines[0]) + 1], 1):
    xs = list(map(int, line.split()))[1:]
    print(f"Case #{i}: {sum(xs) + OFF.get(i, 0)}")
"""


def test_codejam_package_end_to_end_with_exact_integers(tmp_path):
    good = solution(tmp_path, "OFF = {}\n" + BIG_SUM)
    code, doc = judge_json(good, "-p", str(FIXTURES / "codejam-big-sum"), "--hidden", "--sandbox", "local")
    assert code == 0 and doc["passed"] == doc["total"] == 3, doc
    assert doc["judge"] == "float tolerance 1e-06 (integers exact, case-insensitive)"
    assert [r["time_limit_s"] for r in doc["results"]] == [5.0, 5.0, 20.0]
    assert {r["rule"] for r in doc["results"]} == {"float tolerance"}
    # off by 600 on a sum near 10^12: within a relative 1e-6, still wrong
    off = solution(tmp_path, "OFF = {7: 600}\n" + BIG_SUM, "off.py")
    code, doc = judge_json(off, "-p", str(FIXTURES / "codejam-big-sum"), "--hidden", "--sandbox", "local")
    assert code == 1 and [r["verdict"] for r in doc["results"]] == ["AC", "WA", "WA"]
    m = doc["results"][1]["mismatch"]
    assert m["expected_line"] == m["actual_line"] == 7 and [x["line"] for x in m["expected"]] == [5, 6, 7, 8, 9]
    assert "integers are compared exactly" in doc["results"][1]["detail"]
    table = judge(off, "-p", str(FIXTURES / "codejam-big-sum"), "--hidden", "--sandbox", "local")
    assert "limits 5-20s CPU by test set, 1024 MB" in " ".join(table.stdout.split())
    assert "secret/subtask1/1 WA: line 7, token 21" in " ".join(table.stdout.split())


def test_time_and_memory_limit_overrides(tmp_path):
    spin = solution(tmp_path, "import time\nend = time.process_time() + 0.8\nwhile time.process_time() < end:\n"
                              "    pass\nOFF = {}\n" + BIG_SUM)
    code, doc = judge_json(spin, "-p", str(FIXTURES / "codejam-big-sum"), "--hidden", "--sandbox", "local",
                           "--time-limit", "0.3", "--memory-limit", "200")
    assert code == 1 and {r["verdict"] for r in doc["results"]} == {"TLE"}
    assert {(r["time_limit_s"], r["memory_limit_mb"]) for r in doc["results"]} == {(0.3, 200)}
    # the CPU limit, or the wall limit derived from it (2 x 0.3 + 1 s) on a loaded machine
    assert "0.3s" in doc["results"][0]["detail"] or "1.6s" in doc["results"][0]["detail"]
    bad = judge(spin, "-p", str(FIXTURES / "codejam-big-sum"), "--time-limit", "0")
    assert bad.exit_code == 2 and "--time-limit" in bad.output and "Traceback" not in bad.output


def test_kattis_package_with_its_output_validator(tmp_path):
    pair = solution(tmp_path, "n = int(input())\nprint(n // 2, n - n // 2 + (1 if n == 99 else 0))\n")
    code, doc = judge_json(pair, "-p", str(FIXTURES / "kattis-anypair"), "--hidden", "--sandbox", "local")
    assert code == 1 and [r["verdict"] for r in doc["results"]] == ["AC", "AC", "AC", "WA"]
    assert {r["rule"] for r in doc["results"]} == {"checker"}
    assert doc["results"][3]["detail"].startswith("49 + 51 = 100, not 99")  # the validator's judgemessage
    assert doc["results"][3]["mismatch"] is None

def test_kattis_package_default_validator(tmp_path):
    average = solution(tmp_path, "import sys\nd = list(map(int, sys.stdin.read().split()))\n"
                                 "print(sum(d[1::2]) / sum(d[2::2]))\n")
    code, doc = judge_json(average, "-p", str(FIXTURES / "kattis-average"), "--hidden", "--sandbox", "local")
    assert code == 0 and doc["total"] == 5, doc
    assert {r["rule"] for r in doc["results"]} == {"float tolerance"}
    rounded = solution(tmp_path, "import sys\nd = list(map(int, sys.stdin.read().split()))\n"
                                 "print(f'{sum(d[1::2]) / sum(d[2::2]):.7f}')\n", "rounded.py")
    code, doc = judge_json(rounded, "-p", str(FIXTURES / "kattis-average"), "--hidden", "--sandbox", "local")
    # 7 decimals pass 1e-6 everywhere but in the large group, whose testdata.yaml asks for 1e-8
    assert [r["verdict"] for r in doc["results"]] == ["AC", "AC", "AC", "AC", "WA"], doc


def test_interactive_problems_are_refused_in_one_line(tmp_path):
    d = tmp_path / "guess"
    (d / "data" / "sample").mkdir(parents=True)
    (d / "problem.yaml").write_text("name: Guess the Number\nvalidation: custom interactive\n")
    result = judge(solution(tmp_path, "print(1)"), "-p", str(d), "--sandbox", "local")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "'Guess the Number' is an interactive problem" in result.output
    assert len([ln for ln in result.stderr.splitlines() if ln.strip()]) == 1


def test_candidate_control_characters_are_shown_not_obeyed(tmp_path):
    src = solution(tmp_path, "print('\\x1b[2J\\x1b[32mAC\\x1b[0m', 5)\n")
    result = judge(src, "-p", str(EXAMPLES / "two-sum"), "--sandbox", "local")
    assert result.exit_code == 1
    assert "\x1b" not in result.stdout and "\\x1b[2J" in result.stdout


def test_a_checker_from_the_command_line(tmp_path):
    d = tmp_path / "pair" / "test"
    d.mkdir(parents=True)
    for name, n, answer in (("a", 10, "5 5"), ("b", 7, "3 4")):
        (d / f"{name}.in").write_text(f"{n}\n")
        (d / f"{name}.out").write_text(f"{answer}\n")
    checker = tmp_path / "check.py"
    checker.write_text("import sys\nn = int(open(sys.argv[1]).read())\nout = open(sys.argv[2]).read().split()\n"
                       "ok = len(out) == 2 and int(out[0]) + int(out[1]) == n\n"
                       "print('ok' if ok else 'not a pair summing to n', file=sys.stderr)\nsys.exit(0 if ok else 1)\n")
    src = solution(tmp_path, "n = int(input())\nprint(1, n - 1 if n != 7 else n)\n")
    code, doc = judge_json(src, "-p", str(d.parent), "--sandbox", "local", "--checker", str(checker))
    assert code == 1 and [r["verdict"] for r in doc["results"]] == ["AC", "WA"]
    assert [r["rule"] for r in doc["results"]] == ["checker", "checker"]
    assert doc["judge"] == f"checker (testlib: {checker})" and "not a pair" in doc["results"][1]["detail"]
    # the package's own Kattis validator, named on the command line for an oj directory
    validator = FIXTURES / "kattis-anypair" / "output_validators" / "pair_validator" / "validate.py"
    code, doc = judge_json(src, "-p", str(d.parent), "--sandbox", "local", "--checker", str(validator),
                           "--checker-style", "kattis")
    assert [r["verdict"] for r in doc["results"]] == ["AC", "WA"] and "not 7" in doc["results"][1]["detail"]
    (tmp_path / "check.java").write_text("class Check {}\n")
    for bad, message in ((str(tmp_path / "missing.py"), "missing.py: no such file"),
                         (str(tmp_path / "check.java"), "no language for .java files")):
        result = judge(src, "-p", str(d.parent), "--checker", bad)
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    result = judge(src, "-p", f"{DATASET}#fx/inc", "--checker", str(checker))
    assert result.exit_code == 2 and "function problem" in result.output
