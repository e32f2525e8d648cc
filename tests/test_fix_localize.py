"""Localization (tree-sitter), junit parsing and dependency discovery for orps fix."""

from __future__ import annotations

import configparser
from xml.sax.saxutils import escape

import pytest

from assistant.modes.fix.environment import collect_dependencies, host_pip_config
from assistant.modes.fix.localize import RepoIndex, build_context, frames, localize, syntax_error
from assistant.modes.fix.pytest_run import parse_junit
from assistant.modes.fix.workspace import materialize, snapshot

GEOM = '''"""Geometry helpers."""


def clamp(x, lo, hi):
    return max(lo, min(x, hi))


class Box:
    def __init__(self, w, h):
        self.w, self.h = w, h

    def area(self):
        return scale(self.w) * self.h


def scale(v):
    return v * 2
'''
TESTS = '''from geom import Box, clamp


def test_area():
    assert Box(2, 3).area() == 6


def test_clamp():
    assert clamp(5, 0, 3) == 3
'''
AREA_FAILURE = """tests/test_geom.py:5: in test_area
    assert Box(2, 3).area() == 6
E   assert 12 == 6
E    +  where 12 = <bound method Box.area of <geom.Box object>>()"""


@pytest.fixture()
def snap(tmp_path):
    repo = materialize({"geom.py": GEOM, "tests/test_geom.py": TESTS, "util/other.py": "def helper():\n    pass\n"},
                       tmp_path / "repo")
    s = snapshot(repo)
    yield s
    s.cleanup()


def junit_case(name, body, cls="tests.test_geom", file="tests/test_geom.py", line=3, kind="failure"):
    return (f'<testcase classname="{cls}" name="{name}" file="{file}" line="{line}" time="0.01">'
            f'<{kind} message="assert 12 == 6">{escape(body)}</{kind}></testcase>')


def test_junit_report_gives_node_ids_outcomes_and_collection_errors():
    xml = ('<?xml version="1.0"?><testsuites><testsuite name="pytest" time="1.5">'
           + junit_case("test_area", AREA_FAILURE)
           + '<testcase classname="tests.test_geom.TestK" name="test_m[a b]" file="tests/test_geom.py" line="9" time="0"/>'
           + '<testcase classname="tests.test_geom" name="test_skip" file="tests/test_geom.py" line="12" time="0">'
             '<skipped message="nah"/></testcase>'
           + junit_case("test_hang", "E   Failed: Timeout", line=20).replace(
               'message="assert 12 == 6"', 'message="Failed: Timeout (&gt;2.0s) from pytest-timeout."')
           + '<testcase classname="" name="tests.test_broken" file="tests/test_broken.py" time="0">'
             '<error message="collection failure">ImportError: no module named nosuch</error></testcase>'
           + junit_case("test_area", "teardown failed", kind="error")
           + '</testsuite></testsuites>')
    tests, total = parse_junit(xml)
    by_id = {t.id: t for t in tests}
    assert total == 1.5
    assert list(by_id) == ["tests/test_geom.py::test_area", "tests/test_geom.py::TestK::test_m[a b]",
                           "tests/test_geom.py::test_skip", "tests/test_geom.py::test_hang", "tests/test_broken.py"]
    area = by_id["tests/test_geom.py::test_area"]
    assert area.outcome == "failed" and area.line == 4 and "assert 12 == 6" in area.text
    assert by_id["tests/test_geom.py::TestK::test_m[a b]"].ok
    assert by_id["tests/test_geom.py::test_skip"].outcome == "skipped"
    assert by_id["tests/test_geom.py::test_hang"].timeout
    broken = by_id["tests/test_broken.py"]
    assert broken.outcome == "collection_error" and "nosuch" in broken.text
    with pytest.raises(ValueError):
        parse_junit("not xml <")


def test_traceback_frames_map_to_enclosing_definitions(snap):
    text = AREA_FAILURE + '\n/repo/geom.py:13: in area\n    return scale(self.w) * self.h\n' \
        '/work/j3/t0_0/geom.py:17: in scale\n    return v * 2\n/usr/lib/python3/x.py:1: in other'
    fr = frames(text, set(snap.files))
    assert [(f.file, f.line) for f in fr] == [("tests/test_geom.py", 5), ("geom.py", 13), ("geom.py", 17)]
    from assistant.modes.fix.pytest_run import TestRun
    run = TestRun(id="tests/test_geom.py::test_area", outcome="failed", text=text)
    loc = localize(snap, [run])
    names = [d.qualname for d in loc.suspects]
    # the method the test calls and the function the error is in; never the test itself, no whole class
    assert set(names[:2]) == {"scale", "Box.area"}
    assert "test_area" not in names and "Box" not in names
    assert [t.qualname for t in loc.tests] == ["test_area"]
    assert loc.files[0] == "geom.py"


def test_context_has_failures_numbered_code_call_sites_and_a_map_within_budget(snap):
    from assistant.modes.fix.pytest_run import TestRun
    run = TestRun(id="tests/test_geom.py::test_area", outcome="failed",
                  text=AREA_FAILURE + "\ngeom.py:13: in area\n    return scale(self.w) * self.h")
    index = RepoIndex(snap)
    loc = localize(snap, [run], index)
    ctx = build_context(snap, [run], loc, index, budget_tokens=600)
    assert "tests/test_geom.py::test_area: FAILED" in ctx and "E   assert 12 == 6" in ctx
    assert "13 |         return scale(self.w) * self.h" in ctx          # the file's own line numbers
    assert "geom.py:13: return scale(self.w) * self.h" in ctx            # a call site of scale
    assert "util/other.py" in ctx and "def helper()" in ctx              # the repo map
    assert len(ctx) <= 600 * 4 + 200
    small = build_context(snap, [run], loc, index, budget_tokens=200)
    assert len(small) < len(ctx) and "E   assert 12 == 6" in small       # failures are always kept


def test_syntax_errors_are_located():
    assert syntax_error("def f(x):\n    return x\n") is None
    assert syntax_error("def f(x):\n    return (x\n").startswith("line 2")


def test_dependencies_come_from_requirements_pyproject_and_setup_cfg(tmp_path):
    files = {
        "requirements.txt": "requests>=2  # http\n-r requirements-extra.txt\n-e .\n./local_pkg\n\n# comment\n",
        "requirements-extra.txt": "attrs==23.1\n",
        "pyproject.toml": '[project]\nname = "demo"\ndependencies = ["click>=8"]\n'
                          '[project.optional-dependencies]\ntest = ["hypothesis", "demo[extra]"]\ndocs = ["sphinx"]\n',
        "setup.cfg": "[options]\ninstall_requires =\n    numpy\n[options.extras_require]\ntesting = tomli\n",
        "test_x.py": "def test_x():\n    pass\n",
    }
    repo = materialize(files, tmp_path / "repo")
    snap = snapshot(repo)
    try:
        deps = collect_dependencies(snap)
        assert deps.requirements == ["pytest", "pytest-timeout", "requests>=2", "attrs==23.1", "click>=8",
                                     "hypothesis", "numpy", "tomli"]
        assert deps.sources == ["requirements.txt", "requirements-extra.txt", "pyproject.toml", "setup.cfg"]
        # the cache key follows the files' content and the base image
        key = deps.digest("sha256:base1")
        assert key == collect_dependencies(snap).digest("sha256:base1") != deps.digest("sha256:base2")
    finally:
        snap.cleanup()


def test_host_pip_configuration_is_carried_into_the_build(tmp_path, monkeypatch):
    cert = tmp_path / "corp-ca.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    conf = tmp_path / "pip.conf"
    conf.write_text(f"[global]\nindex-url = https://mirror.example/simple\ncert = {cert}\n"
                    "find-links = /opt/wheels file:///opt/more\n")
    for var in list(__import__("os").environ):
        if var.startswith("PIP_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    monkeypatch.setenv("PIP_DEFAULT_TIMEOUT", "60")
    text, files = host_pip_config()
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    assert parser.get("global", "index-url") == "https://mirror.example/simple"
    assert parser.get("global", "timeout") if parser.has_option("global", "timeout") else True
    assert parser.get("global", "default-timeout") == "60"
    cert_copy = parser.get("global", "cert")
    assert cert_copy.startswith("/tmp/orps-build/") and files[cert_copy.rsplit("/", 1)[1]] == cert.read_bytes()
    assert not parser.has_option("global", "find-links")  # host directories the build cannot see


def test_setup_py_is_asked_through_the_build_backend_and_unread_sources_are_named(tmp_path):
    files = {
        "setup.py": "from setuptools import setup\nsetup(name='tool', install_requires=['psutil'])\n",
        "setup.cfg": "[bdist_wheel]\nuniversal = 1\n",          # holds no dependencies: setup.py still counts
        "requirements/test.txt": "pytest-mock==3.14\n",
        "tests/requirements.txt": "pexpect\n",
        "docs/requirements.txt": "sphinx\n",
        "tox.ini": "[testenv]\ndeps =\n    pytest<8\ncommands = pytest\n",
        "pytest.ini": "[pytest]\nminversion = 7.0\n",
        "Pipfile": "[packages]\nrequests = '*'\n",
        "test_x.py": "def test_x():\n    pass\n",
    }
    snap = snapshot(materialize(files, tmp_path / "repo"))
    try:
        deps = collect_dependencies(snap)
    finally:
        snap.cleanup()
    assert deps.query == "setup.py" and "setup.py" in deps.sources
    assert deps.requirements == ["pytest", "pytest-timeout", "pytest-mock==3.14", "pytest>=7.0"]
    assert deps.sources == ["requirements/test.txt", "setup.cfg", "setup.py"]
    assert len(deps.notes) == 3
    assert deps.notes[0].startswith("tox.ini: its [testenv] deps are not read")
    assert deps.notes[1].startswith("Pipfile: ")
    assert deps.notes[2].startswith("tests/requirements.txt: not read")
    assert "setup.py" in {name for name, _ in deps.digest_input}


@pytest.mark.parametrize("pyproject, query", [
    ('[build-system]\nrequires = ["hatchling"]\n[project]\nname = "a"\ndynamic = ["dependencies"]\n',
     "pyproject.toml (dynamic dependencies)"),
    ('[build-system]\nrequires = ["poetry-core"]\n[tool.poetry.dependencies]\npython = "^3.9"\n',
     "pyproject.toml [build-system] (no [project] table)"),
    ('[build-system]\nrequires = ["hatchling"]\n[project]\nname = "a"\ndependencies = ["attrs"]\n', None),
])
def test_the_build_backend_is_asked_when_dependencies_are_not_static(tmp_path, pyproject, query):
    snap = snapshot(materialize({"pyproject.toml": pyproject, "test_x.py": "def test_x():\n    pass\n"},
                                tmp_path / "repo"))
    try:
        assert collect_dependencies(snap).query == query
    finally:
        snap.cleanup()


def test_the_build_backends_metadata_gives_requirements_with_test_extras(tmp_path):
    import json

    from assistant.modes.fix import image_helper

    report = {"install": [{"metadata": {
        "name": "Tool_Kit", "version": "1.0", "provides_extra": ["test", "docs", "all"],
        "requires_dist": ["psutil>=5", 'colorama; sys_platform == "win32"', 'backports.zoneinfo; python_version < "3.0"',
                          'pytest==7.4.4; extra == "test"', 'tool-kit[all]; extra == "test"',
                          'sphinx; extra == "docs"', 'rich[jupyter]>=13; extra == "all"']}}]}
    (tmp_path / "report.json").write_text(json.dumps(report))
    out = tmp_path / "requirements.txt"
    out.write_text("pytest\n")
    assert image_helper.requirements(str(tmp_path / "report.json"), str(out), ["test", "tests", "dev"]) == 0
    # markers evaluated for this interpreter; the test extra, and the extra it pulls in by self-reference
    assert out.read_text().splitlines() == ["pytest", "psutil>=5", "pytest==7.4.4", "rich[jupyter]>=13"]


def test_called_names_resolve_through_the_tests_imports_not_by_bare_name(tmp_path):
    from assistant.modes.fix.pytest_run import TestRun

    from .conftest import fix_repo_files

    # shellfix has a get_new_command in every rule module; the test imports git_push's
    snap = snapshot(materialize(fix_repo_files("shellfix"), tmp_path / "shellfix"))
    try:
        tid = "tests/rules/test_git_push.py::test_get_new_command[git push-git push --set-upstream origin feature]"
        run = TestRun(id=tid, outcome="failed", text="tests/rules/test_git_push.py:29: in test_get_new_command\n"
                      "    assert get_new_command(Command(script, OUTPUT)) == new\nE   AssertionError")
        loc = localize(snap, [run])
    finally:
        snap.cleanup()
    keys = [d.key for d in loc.suspects]
    assert keys[0] == "shellfix/rules/git_push.py::get_new_command"
    # what get_new_command calls: the decorated helper in its module and the shared utility
    assert {"shellfix/rules/git_push.py::upstream_args", "shellfix/utils.py::replace_argument"} <= set(keys[:4])
    assert not [k for k in keys if k.startswith(("shellfix/rules/git_checkout", "shellfix/rules/cd_mkdir",
                                                 "shellfix/rules/sudo"))]
    assert "tests/conftest.py::make_command" not in keys


PKG = {
    "pkg/__init__.py": "from .core import area\n",
    "pkg/core.py": "def area(w, h):\n    return w + h\n\n\ndef perimeter(w, h):\n    return 2 * (w + h)\n\n\n"
                   "class Shape:\n    def scale(self, k):\n        return self._grow(k)\n\n"
                   "    def _grow(self, k):\n        return k\n",
    "pkg/other.py": "def area(r):\n    return 3 * r * r\n\n\ndef perimeter(r):\n    return 6 * r\n",
    "tests/test_pkg.py": "import pkg.core as core\nfrom pkg import area\nfrom pkg.core import Shape\n\n\n"
                         "def test_all():\n    assert area(2, 3) == 6\n    assert core.perimeter(1, 1) == 4\n"
                         "    assert Shape().scale(2) == 4\n",
}


def test_aliases_re_exports_and_methods_resolve_to_their_own_module(tmp_path):
    from assistant.modes.fix.pytest_run import TestRun

    snap = snapshot(materialize(PKG, tmp_path / "pkg"))
    try:
        run = TestRun(id="tests/test_pkg.py::test_all", outcome="failed", text="E   assert 5 == 6")
        keys = [d.key for d in localize(snap, [run]).suspects]
    finally:
        snap.cleanup()
    assert set(keys[:3]) == {"pkg/core.py::area", "pkg/core.py::perimeter", "pkg/core.py::Shape.scale"}
    assert "pkg/core.py::Shape._grow" in keys                  # self._grow() from a suspect method
    assert not [k for k in keys if k.startswith("pkg/other.py")]


PLUGIN = {
    "mylib/__init__.py": "",
    "mylib/app.py": "def create_app(settings):\n    return {'name': settings['name'], 'debug': settings['debug']}\n",
    "mylib/pytest_plugin.py": "import pytest\n\nfrom mylib.app import create_app\n\n\n@pytest.fixture\ndef app():\n"
                              "    return create_app({'name': 'demo'})\n\n\n@pytest.fixture\ndef settings():\n"
                              "    raise RuntimeError('no settings file')\n",
    "test_app.py": "def test_app(app):\n    assert app['name'] == 'demo'\n",
}


def test_fixtures_are_suspects_only_when_the_traceback_ends_in_them(tmp_path):
    from assistant.modes.fix.pytest_run import TestRun

    snap = snapshot(materialize(PLUGIN, tmp_path / "plugin"))
    try:
        through = TestRun(id="test_app.py::test_app", outcome="error", text=(
            "mylib/pytest_plugin.py:8: in app\n    return create_app({'name': 'demo'})\n"
            "mylib/app.py:2: in create_app\n    return {'name': settings['name'], 'debug': settings['debug']}\n"
            "E   KeyError: 'debug'"))
        keys = [d.key for d in localize(snap, [through]).suspects]
        assert keys == ["mylib/app.py::create_app"]             # the fixture it passed through is not a suspect
        ends = TestRun(id="test_app.py::test_app", outcome="error", text=(
            "mylib/pytest_plugin.py:13: in settings\n    raise RuntimeError('no settings file')\n"
            "E   RuntimeError: no settings file"))
        assert [d.key for d in localize(snap, [ends]).suspects] == ["mylib/pytest_plugin.py::settings"]
    finally:
        snap.cleanup()
