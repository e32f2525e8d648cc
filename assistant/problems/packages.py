"""Problem packages: Kattis / ICPC (`problem.yaml`, `data/sample`, `data/secret`) and the Code Jam
archive's layout of them (`problem_statement/*_sample_ts*_input.txt`, `data/secret/subtaskN/`).

What a package says is honoured:
- tests: every `NAME.in` with its `NAME.ans` under `data/sample` (visible) and `data/secret`
  (hidden), groups nested to any depth, in natural order; a file without its partner is
  skipped, as problemtools does. Code Jam's statement samples (`*_sample_tsN_input.txt` with
  `_output.txt`) are visible tests of test set N.
- judging: `validation: default` is Kattis's default validator with the package's flags
  (`validator_flags` / `output_validator_flags` in problem.yaml, plus a group's
  `output_validator_flags` in its testdata.yaml): case-insensitive unless `case_sensitive`,
  `space_change_sensitive`, `float_tolerance` / `float_absolute_tolerance` /
  `float_relative_tolerance`. `validation: custom` runs the package's Python output validator
  (`output_validators/NAME/`) with the Kattis convention (Code Jam's own judges, which say they
  do not follow it, with the testlib one). Interactive, multi-pass and submit-answer problems
  are refused.
- limits: `limits.memory` (MiB), a time limit from `limits.time_limit`, a `.timelimit` file or
  `domjudge-problem.ini`; Code Jam's statement gives each test set its own time limit.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sandbox.api import JudgeSpec, Limits, TestCase

from ..errors import UserError
from .model import Problem

PACKAGE_MEMORY_MB = 1024  # problemtools' default when problem.yaml gives none
STATEMENT_DIRS = ("problem_statement", "statement")
STATEMENT_FILES = ("problem.en.md", "problem.md", "problem.en.tex", "problem.tex", "problem.html",
                   "problem.en.html")
_PYTHON_CHECKER_NAMES = ("validate.py", "validator.py", "checker.py", "check.py", "main.py", "custom_judge.py")
_OTHER_LANGUAGES = {".c": "C", ".cc": "C++", ".cpp": "C++", ".cxx": "C++", ".h": "C/C++", ".hpp": "C++",
                    ".java": "Java", ".kt": "Kotlin", ".rs": "Rust", ".go": "Go", ".sh": "shell",
                    ".ctd": "checktestdata", ".viva": "VIVA", ".js": "JavaScript"}
_REFUSED_TYPES = {"interactive": "an interactive problem", "multi-pass": "a multi-pass problem",
                  "submit-answer": "a submit-answer problem"}


class _Limits(BaseModel):
    model_config = ConfigDict(extra="ignore")

    memory: int | None = Field(None, gt=0, description="MiB")
    time_limit: float | None = Field(None, gt=0, description="seconds (problem format 2023-07)")


class _ProblemYaml(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str | dict[str, str] | None = None
    type: str | list[str] | None = None
    validation: str | None = None
    limits: _Limits = Field(default_factory=_Limits)


def is_package(path: Path) -> bool:
    """A directory that looks like a Kattis/ICPC problem package."""
    data = path / "data"
    return (path / "problem.yaml").is_file() or (data / "sample").is_dir() or (data / "secret").is_dir()


def _read(path: Path, display: str) -> str:
    from .loaders import read_text
    return read_text(path, display)


def _yaml(path: Path, display: str) -> dict[str, Any]:
    import yaml

    text = _read(path, display)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        what = getattr(exc, "problem", None) or str(exc).split("\n")[0]
        raise UserError(f"{display}: malformed YAML{where}: {what}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"{display}: expected a YAML mapping (key: value lines), found {type(data).__name__}")
    return data


def _flag_string(value: Any, display: str, key: str) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    if isinstance(value, (str, int, float)):
        return str(value)
    raise UserError(f"{display}: '{key}' should be a string of flags, found {type(value).__name__}")


def judge_from_flags(flags: list[str], display: str) -> JudgeSpec:
    """Kattis's default output validator with these flags (unknown flags are an error, as there)."""
    spec: dict[str, Any] = {"type": "tokens", "case_sensitive": False}
    tolerances = {"float_tolerance": ("float_absolute_tolerance", "float_relative_tolerance"),
                  "float_absolute_tolerance": ("float_absolute_tolerance",),
                  "float_relative_tolerance": ("float_relative_tolerance",)}
    i = 0
    while i < len(flags):
        flag = flags[i]
        if flag == "case_sensitive":
            spec["case_sensitive"] = True
        elif flag == "space_change_sensitive":
            spec["space_change_sensitive"] = True
        elif flag in tolerances:
            value = flags[i + 1] if i + 1 < len(flags) else None
            try:
                number = float(value) if value is not None else None
            except ValueError:
                number = None
            if number is None or not number >= 0 or number == float("inf"):
                raise UserError(f"{display}: validator flag {flag} needs a non-negative number after it"
                                f"{f', found {value!r}' if value is not None else ''}")
            spec.update(dict.fromkeys(tolerances[flag], number))  # later flags win, as in the validator
            i += 1
        else:
            raise UserError(f"{display}: unknown validator flag {flag!r} (the default validator knows "
                            "case_sensitive, space_change_sensitive, float_tolerance, float_absolute_tolerance, "
                            "float_relative_tolerance)")
        i += 1
    return JudgeSpec(**spec)


def _entries(path: Path, display: str) -> list[Path]:
    from .loaders import _natural_key
    try:
        return sorted(path.iterdir(), key=lambda p: _natural_key(p.name))
    except OSError as exc:
        raise UserError(f"{display}: cannot read the directory ({exc.strerror or exc})") from None


def _group_flags(group_dir: Path, display: str, inherited: list[str]) -> list[str]:
    config = group_dir / "testdata.yaml"
    if not config.is_file():
        return inherited
    data = _yaml(config, f"{display}/testdata.yaml")
    for key in ("output_validator_flags", "output_validator_args"):  # legacy, 2023-07
        if key in data:
            return _flag_string(data[key], f"{display}/testdata.yaml", key).split()
    return inherited


def _collect(group_dir: Path, data_dir: Path, display: str, flags: list[str],
             out: list[tuple[TestCase, list[str]]]) -> None:
    """Every .in/.ans pair under `group_dir`, depth first, with its group's validator flags (a
    group's testdata.yaml overrides its parent's)."""
    flags = _group_flags(group_dir, display, flags)
    entries = _entries(group_dir, display)
    names = {p.name for p in entries}
    for entry in entries:
        where = f"{display}/{entry.name}"
        if entry.is_dir():
            _collect(entry, data_dir, where, flags, out)
        elif entry.suffix == ".in" and f"{entry.stem}.ans" in names:
            name = entry.with_suffix("").relative_to(data_dir).as_posix()
            out.append((TestCase(name=name, input=_read(entry, where),
                                 output=_read(entry.with_suffix(".ans"), f"{display}/{entry.stem}.ans")), flags))


# --------------------------------------------------------------------------- statements

class _HtmlText(HTMLParser):
    """Plain text from a statement's HTML: blocks on their own lines, <pre> kept verbatim as fenced
    blocks (so the sample finder sees them), sub/superscripts as _ and ^, scripts and styles dropped."""

    _BLOCKS = {"p", "div", "br", "h1", "h2", "h3", "h4", "h5", "h6", "li", "tr", "table", "ul", "ol", "section"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.segments: list[tuple[bool, str]] = []  # (verbatim, text)
        self.skip = 0
        self.pre = 0

    def _add(self, text: str, verbatim: bool = False) -> None:
        self.segments.append((verbatim, text))

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head"):
            self.skip += 1
        elif tag == "pre":
            self.pre += 1
        elif tag in self._BLOCKS:
            self._add("\n")
        elif tag == "sub":
            self._add("_", self.pre > 0)
        elif tag == "sup":
            self._add("^", self.pre > 0)
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self._add(f"[image: {alt}]")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head"):
            self.skip = max(0, self.skip - 1)
        elif tag == "pre":
            self.pre = max(0, self.pre - 1)
        elif tag in self._BLOCKS:
            self._add("\n")

    def handle_data(self, data):
        if not self.skip:  # in prose, a newline is a space: only block tags break lines
            self._add(data if self.pre else re.sub(r"\s+", " ", data), self.pre > 0)

    def text(self) -> str:
        out: list[str] = []
        prose: list[str] = []

        def flush_prose() -> None:
            raw = re.sub(r" +", " ", "".join(prose).replace("$$$", ""))
            text = re.sub(r"\n{3,}", "\n\n", "\n".join(ln.strip() for ln in raw.split("\n"))).strip()
            if text:
                out.append(text)
            prose.clear()

        i = 0
        while i < len(self.segments):
            verbatim, text = self.segments[i]
            if not verbatim:
                prose.append(text)
                i += 1
                continue
            block = []
            while i < len(self.segments) and self.segments[i][0]:
                block.append(self.segments[i][1])
                i += 1
            flush_prose()
            out.append("```\n" + "".join(block).strip("\n") + "\n```")
        flush_prose()
        return "\n\n".join(out) + "\n"


def html_to_text(source: str) -> str:
    parser = _HtmlText()
    parser.feed(source)
    parser.close()
    return parser.text()


def _statement(path: Path, display: str) -> tuple[str, Path | None]:
    for folder in STATEMENT_DIRS:
        for name in STATEMENT_FILES:
            candidate = path / folder / name
            if candidate.is_file():
                text = _read(candidate, f"{display}/{folder}/{name}")
                return (html_to_text(text) if candidate.suffix == ".html" else text), candidate
    return "", None


_TEST_SET = re.compile(r"\btest\s*set\s*(\d+)\b", re.I)
_TIME = re.compile(r"time\s+limit\s*:?\s*(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?)\b", re.I)
_MEMORY = re.compile(r"memory\s+limit\s*:?\s*(\d+(?:\.\d+)?)\s*(kb|mb|mib|gb|gib)\b", re.I)


def codejam_limits(statement: str) -> tuple[float | None, dict[int, float], int | None]:
    """(time limit for every set, time limit by test set, memory MiB) from a Code Jam statement:
    a "Time limit" under a "Test Set N" heading is that set's."""
    overall: float | None = None
    by_set: dict[int, float] = {}
    memory: int | None = None
    current: int | None = None
    for line in statement.split("\n"):
        heading = _TEST_SET.search(line)
        if heading and len(line) < 80 and not _TIME.search(line):
            current = int(heading.group(1))
        time = _TIME.search(line)
        if time:
            value = float(time.group(1)) / (1000 if time.group(2).lower().startswith("m") else 1)
            if current is None:
                overall = value
            else:
                by_set[current] = value
        mem = _MEMORY.search(line)
        if mem and memory is None:
            unit = mem.group(2).lower()
            factor = 1024 if unit.startswith("g") else 1 / 1024 if unit.startswith("k") else 1
            memory = max(1, round(float(mem.group(1)) * factor))
    return overall, by_set, memory


def _codejam_samples(path: Path, display: str) -> list[tuple[int, TestCase]]:
    """(test set, test) for each problem_statement/*_sample_tsN_input.txt with its _output.txt."""
    folder = path / "problem_statement"
    if not folder.is_dir():
        return []
    found = []
    for entry in _entries(folder, f"{display}/problem_statement"):
        match = re.fullmatch(r"(.+)_sample_ts(\d+)_input\.txt", entry.name)
        if not match:
            continue
        answer = entry.with_name(f"{match.group(1)}_sample_ts{match.group(2)}_output.txt")
        if not answer.is_file():
            continue
        where = f"{display}/problem_statement"
        found.append((int(match.group(2)), TestCase(
            name=f"sample-ts{match.group(2)}", input=_read(entry, f"{where}/{entry.name}"),
            output=_read(answer, f"{where}/{answer.name}"))))
    return found


# --------------------------------------------------------------------------- limits and checkers

def _time_limit_file(path: Path, display: str) -> float | None:
    for name in (".timelimit", "domjudge-problem.ini"):
        file = path / name
        if not file.is_file():
            continue
        text = _read(file, f"{display}/{name}")
        match = re.search(r"(?:^|timelimit\s*=\s*['\"]?)(\d+(?:\.\d+)?)", text.strip(), re.M)
        if match and float(match.group(1)) > 0:
            return float(match.group(1))
        raise UserError(f"{display}/{name}: no time limit (seconds) in this file")
    return None


def _find_checker(path: Path, display: str) -> tuple[Path, str]:
    """The package's output validator: a Python file (display name alongside)."""
    folders = [path / "output_validators", path / "output_validator"]
    candidates: list[Path] = []
    for folder in folders:
        if folder.is_dir():
            for entry in _entries(folder, f"{display}/{folder.name}"):
                if entry.is_dir():
                    candidates.extend(p for p in _entries(entry, f"{display}/{folder.name}/{entry.name}")
                                      if p.is_file())
                elif entry.is_file():
                    candidates.append(entry)
    if not candidates:
        raise UserError(f"{display}/problem.yaml: validation is custom but there is no output validator "
                        "(output_validators/NAME/)")
    python = [p for p in candidates if p.suffix == ".py"]
    rel = lambda p: f"{display}/{p.relative_to(path).as_posix()}"  # noqa: E731
    if not python:
        other = next((p for p in candidates if p.suffix.lower() in _OTHER_LANGUAGES), candidates[0])
        language = _OTHER_LANGUAGES.get(other.suffix.lower(), f"a {other.suffix or 'extensionless'} file")
        raise UserError(f"{rel(other)}: the output validator is {language}; only Python checkers can run for now")
    if len(python) > 1:
        named = [p for p in python if p.name in _PYTHON_CHECKER_NAMES]
        if len(named) != 1:
            raise UserError(f"{display}: several Python files could be the output validator "
                            f"({', '.join(p.name for p in python[:4])}); multi-file validators are not supported")
        python = named
    return python[0], rel(python[0])


def read_checker(path: Path, display: str, what: str = "the checker") -> str:
    """A Python checker's source; one that does not compile is a UserError now, not a judge error
    on every test later."""
    source = _read(path, display)
    try:
        compile(source, display, "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise UserError(f"{display}: {what} does not compile as Python 3 (SyntaxError at line "
                        f"{exc.lineno}: {exc.msg})") from None
    return source


def _problem_type(meta: _ProblemYaml, display: str, title: str) -> None:
    kinds = [meta.type] if isinstance(meta.type, str) else list(meta.type or [])
    validation = (meta.validation or "default").split()
    for word, what in _REFUSED_TYPES.items():
        if word in kinds or word in validation:
            key = f"validation: {' '.join(validation)}" if word in validation else f"type: {word}"
            raise UserError(f"{display}: '{title}' is {what} (problem.yaml {key}): only problems that read stdin "
                            "and write stdout can be judged")


# --------------------------------------------------------------------------- the package

def load_package(path: Path, display: str | None = None) -> Problem:
    """A Kattis/ICPC problem package (or the Code Jam archive's layout of one)."""
    name = (display or str(path)).rstrip("/") or "/"
    yaml_path = path / "problem.yaml"
    raw = _yaml(yaml_path, f"{name}/problem.yaml") if yaml_path.is_file() else {}
    try:
        meta = _ProblemYaml.model_validate(raw)
    except ValidationError as exc:
        from .loaders import _validation_message
        raise UserError(f"{name}/problem.yaml: {_validation_message(exc)}") from None
    problem_id = path.resolve().name or "problem"
    statement, statement_file = _statement(path, name)
    if isinstance(meta.name, dict):
        title = meta.name.get("en") or next(iter(meta.name.values()), "")
    else:
        title = meta.name or ""
    if not title and statement_file is not None and statement_file.suffix == ".tex":
        found = re.search(r"\\problemname\{([^}]*)\}", statement)
        title = found.group(1).strip() if found else ""
    title = title or problem_id
    _problem_type(meta, name, title)
    validation = (meta.validation or "default").split()
    if validation[0] not in ("default", "custom"):
        raise UserError(f"{name}/problem.yaml: validation {meta.validation!r} is not known "
                        "(default, custom, custom interactive, custom score)")

    flags = (_flag_string(raw.get("validator_flags"), f"{name}/problem.yaml", "validator_flags").split()
             + _flag_string(raw.get("output_validator_flags"), f"{name}/problem.yaml",
                            "output_validator_flags").split())
    checker: dict[str, Any] = {}
    if validation[0] == "custom":
        checker_path, checker_name = _find_checker(path, name)
        source = read_checker(checker_path, checker_name, "the output validator")
        # Code Jam's archive says in problem.yaml that its judges take (input, output, answer)
        yaml_text = _read(yaml_path, f"{name}/problem.yaml") if yaml_path.is_file() else ""
        style = "testlib" if "does not follow problemtools specifications" in yaml_text else "kattis"
        checker = dict(checker=source, checker_style=style, checker_name=checker_name)

    def judge_for(test_flags: list[str], where: str) -> JudgeSpec:
        if checker:
            return JudgeSpec(**checker, checker_flags=test_flags)
        return judge_from_flags(test_flags, where)

    problem_judge = judge_for(flags, f"{name}/problem.yaml")
    data_dir = path / "data"
    tests: dict[str, list[TestCase]] = {}
    root_flags = _group_flags(data_dir, f"{name}/data", []) if data_dir.is_dir() else []
    for group in ("sample", "secret"):
        pairs: list[tuple[TestCase, list[str]]] = []
        if (data_dir / group).is_dir():
            _collect(data_dir / group, data_dir, f"{name}/data/{group}", root_flags, pairs)
        tests[group] = [t if not group_flags else
                        t.model_copy(update={"judge": judge_for(flags + group_flags, f"{name}/data/{t.name}")})
                        for t, group_flags in pairs]
    visible, hidden = tests["sample"], tests["secret"]
    statement_samples = _codejam_samples(path, name)
    seen = {(t.input, t.output) for t in visible}
    visible += [t for _, t in statement_samples if (t.input, t.output) not in seen]
    if not visible and statement_file is not None:
        from .loaders import find_samples
        try:
            visible = find_samples(statement, f"{name}/{statement_file.relative_to(path).as_posix()}")
        except UserError:
            visible = []
    if not visible and not hidden:
        raise UserError(f"{name}: no tests in this problem package (data/sample/NAME.in with NAME.ans, "
                        "data/secret/...)")

    memory = meta.limits.memory
    time_limit = meta.limits.time_limit or _time_limit_file(path, name)
    if statement_file is not None and statement_file.name == "problem.html" \
            and statement_file.parent.name == "problem_statement":
        overall, by_set, stated_memory = codejam_limits(statement)
        memory = memory or stated_memory
        if time_limit is None and (by_set or overall is not None):
            memory = memory or PACKAGE_MEMORY_MB
            sample_set = {t.name: n for n, t in statement_samples}

            def seconds(test: TestCase) -> float:
                match = re.match(r"secret/subtask(\d+)/", test.name)
                number = int(match.group(1)) if match else sample_set.get(test.name, 1)
                return by_set.get(number, overall if overall is not None else max(by_set.values()))

            per_test = {id(t): seconds(t) for t in visible + hidden}
            time_limit = max(per_test.values())
            if len(set(per_test.values())) > 1:  # the test sets differ: each test gets its own
                visible = [t.model_copy(update={"limits": Limits(cpu_s=per_test[id(t)], memory_mb=memory)})
                           for t in visible]
                hidden = [t.model_copy(update={"limits": Limits(cpu_s=per_test[id(t)], memory_mb=memory)})
                          for t in hidden]
    return Problem(id=problem_id, kind="stdio", title=title, statement=statement.strip() + "\n" if statement else "",
                   source=name, visible_tests=visible, hidden_tests=hidden, time_limit_s=time_limit,
                   memory_limit_mb=memory or PACKAGE_MEMORY_MB, judge=problem_judge)


__all__ = ["codejam_limits", "html_to_text", "is_package", "judge_from_flags", "load_package", "read_checker"]
