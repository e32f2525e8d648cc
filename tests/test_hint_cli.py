"""`orps hint`: text output, the JSON document and exit codes (scripted models, local sandbox)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.models.scripted import ScriptedModel

from .test_hint import BUGGY, CONCEPT, FIX, NUDGE, WRONG, role, student_handler, tutor_handler

TOP_KEYS = {"schema", "program", "problem", "status", "tutor_model", "tutor_can_chat", "student_model",
            "student_can_chat", "check", "skipped_tests", "repair", "repair_stop_reason", "candidates", "ladder", "k",
            "without_hint", "budget", "notices", "shown_levels"}
LEVEL_KEYS = {"level", "name", "text", "source", "words", "drafts", "rejected", "validation", "kept"}
CHECK_KEYS = {"passed", "total", "compile_error", "syntax", "failing"}
FAILING_KEYS = {"name", "verdict", "test", "expected", "actual", "error", "program_line"}
REPAIR_KEYS = {"node_id", "distance", "lines", "code", "diff", "minimized_from"}

TESTS = ("from gcd import gcd\n\n\ndef test_zero():\n    assert gcd(17, 0) == 17\n\n\n"
         "def test_equal():\n    assert gcd(13, 13) == 13\n\n\ndef test_coprime():\n    assert gcd(37, 600) == 1\n")


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "gcd.py").write_text(BUGGY, encoding="utf-8")
    (tmp_path / "test_gcd.py").write_text(TESTS, encoding="utf-8")
    (tmp_path / "gcd.md").write_text("# GCD\nReturn the greatest common divisor of a and b.\n", encoding="utf-8")
    return tmp_path


@pytest.fixture
def models(monkeypatch):
    """--model / --student-model specs name scripted models (tutor by default)."""
    made = {"tutor": ScriptedModel(handler=tutor_handler(), name="tutor"),
            "student": ScriptedModel(handler=student_handler(with_hint=FIX, without_hint=WRONG), name="student"),
            "unhelpful": ScriptedModel(handler=student_handler(with_hint=WRONG, without_hint=FIX), name="unhelpful")}
    monkeypatch.setattr("assistant.cli.hint_cmd.open_cli_model", lambda spec: made[spec or "tutor"])
    return made


def orps_hint(files: Path, *args: str, program: str = "gcd.py"):
    return CliRunner().invoke(main, ["hint", str(files / program), "--problem", str(files / "gcd.md"),
                                     "--tests", str(files / "test_gcd.py"), "--sandbox", "local", *args])


def test_json_document_shape(files, models):
    result = orps_hint(files, "--json", "--student-model", "student", "--k", "2", "--level", "2")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == TOP_KEYS and doc["schema"] == 1 and doc["status"] == "hinted"
    assert doc["program"].endswith("gcd.py") and doc["problem"] == "gcd"
    assert doc["tutor_model"] == "tutor" and doc["student_model"] == "student" and doc["k"] == 2
    assert set(doc["check"]) == CHECK_KEYS and doc["check"]["passed"] == 1 and doc["check"]["total"] == 3
    assert all(set(f) == FAILING_KEYS for f in doc["check"]["failing"])
    assert {f["name"] for f in doc["check"]["failing"]} == {"test_equal", "test_coprime"}
    assert set(doc["repair"]) == REPAIR_KEYS and doc["repair"]["lines"] == [5] and doc["repair"]["distance"] == 4
    assert doc["repair"]["code"] is None and doc["repair"]["diff"] is None  # the answer stays private
    assert [set(x) for x in doc["ladder"]] == [LEVEL_KEYS, LEVEL_KEYS]
    first = doc["ladder"][0]
    assert first["text"] == NUDGE and first["kept"] is True
    assert first["validation"] == {"k": 2, "with_hint": 2, "without_hint": 0, "kept": True}
    assert doc["shown_levels"] == [1, 2] and doc["without_hint"] == 0
    assert doc["budget"]["tutor"]["calls"] >= 3 and doc["budget"]["student"]["calls"] == 6
    # the student model, not the tutor, did the validation repairs
    assert all(role(r) != "tutor" for r in models["student"].requests)
    shown = orps_hint(files, "--json", "--k", "0", "--show-repair")
    repair = json.loads(shown.stdout)["repair"]
    assert repair["code"] == FIX and "+        return gcd(b, a % b)" in repair["diff"]


def test_text_output_reveals_one_level_at_a_time(files, models):
    result = orps_hint(files, "--student-model", "student", "--k", "2")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "1/3 tests pass" in out and "test_equal" in out and "RecursionError" in out
    assert "assert gcd(13, 13) == 13" in out and "program line 5" in out
    assert "Hint 1 · nudge" in out and NUDGE in out
    assert "fixed it 2/2 times with this hint, 0/2 without" in out
    assert CONCEPT not in out and "--level 2" in out
    assert "return gcd(b, a % b)" not in out  # the repair is not shown
    two = orps_hint(files, "--student-model", "student", "--k", "2", "--level", "2").stdout
    assert NUDGE in two and CONCEPT in two and "--level 3" in two


def test_a_hint_validation_drops_is_withheld_and_exit_is_1(files, models):
    result = orps_hint(files, "--student-model", "unhelpful", "--k", "2")
    assert result.exit_code == 1, result.output
    assert "withheld" in result.stdout and "0/2 times with this hint, 2/2 without" in result.stdout
    assert NUDGE not in result.stdout
    shown = orps_hint(files, "--student-model", "unhelpful", "--k", "2", "--show-dropped")
    assert NUDGE in shown.stdout and "not kept" in shown.stdout


def test_a_correct_program_says_so(files, models):
    (files / "fixed.py").write_text(FIX, encoding="utf-8")
    result = orps_hint(files, program="fixed.py")
    assert result.exit_code == 0 and "already passes every test" in result.stdout
    assert models["tutor"].requests == []


def test_a_program_that_does_not_parse(files, models):
    (files / "broken.py").write_text(BUGGY.replace("    else:\n", "    else\n"), encoding="utf-8")
    result = orps_hint(files, "--k", "0", program="broken.py")
    assert result.exit_code == 0, result.output
    assert "does not compile" in result.stdout and "line 4" in result.stdout
    assert "Python cannot read your program" in result.stdout


def test_bad_input_is_one_line_and_exit_2(files, models, tmp_path):
    (files / "nosamples.md").write_text("# GCD\nReturn the gcd.\n", encoding="utf-8")
    runner = CliRunner()
    no_tests = runner.invoke(main, ["hint", str(files / "gcd.py"), "--problem", str(files / "nosamples.md"),
                                    "--sandbox", "local"])
    assert no_tests.exit_code == 2 and "a hint needs a check" in no_tests.stderr
    assert "Traceback" not in no_tests.output and len(no_tests.stderr.strip().splitlines()) == 1
    missing = runner.invoke(main, ["hint", str(files / "nope.py"), "--tests", str(files / "test_gcd.py")])
    assert missing.exit_code == 2 and "no such solution file" in missing.stderr
    nothing = runner.invoke(main, ["hint", str(files / "gcd.py")])
    assert nothing.exit_code == 2 and "no problem given" in nothing.stderr
    assert models["tutor"].requests == []


def test_nothing_of_the_fix_reaches_the_student(files, monkeypatch):
    from .test_hint import LADDER, LEAKY
    monkeypatch.setattr("assistant.cli.hint_cmd.open_cli_model",  # a fresh tutor per run: its drafts are a queue
                        lambda spec: ScriptedModel(handler=tutor_handler(hints={**LADDER, 1: [LEAKY, NUDGE]})))
    text = orps_hint(files, "--k", "0")
    assert text.exit_code == 0 and "draft 1 rejected: it quotes code from the fix" in text.stderr
    for stream in (text.stdout, text.stderr):
        assert "gcd(b, a % b)" not in stream and "( b ," not in stream and "% b )" not in stream
    doc = json.loads(orps_hint(files, "--k", "0", "--json").stdout)
    assert doc["ladder"][0]["rejected"] == [{"text": None, "reason": "it quotes code from the fix"}]
    teacher = json.loads(orps_hint(files, "--k", "0", "--json", "--show-repair").stdout)
    assert teacher["ladder"][0]["rejected"][0]["text"] == LEAKY


def test_a_programs_control_characters_are_shown_not_sent_to_the_terminal(files, models):
    # the student's program returns a string holding terminal escapes: the failing test quotes it
    (files / "gcd.py").write_text("def gcd(a, b):\n    return '\\x1b[2J\\x1b]0;owned\\x07' if a != b else a\n",
                                  encoding="utf-8")
    result = orps_hint(files, "--student-model", "student", "--k", "1", "--level", "1")
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout, result.stdout
    assert "\\x1b[2J" in result.stdout or "␛[2J" in result.stdout
