"""Compiled languages in the sandbox: built once per program, run with the same limits, verdicts
and figures as Python, runtime errors named by signal."""

from __future__ import annotations

import pytest

from sandbox import Job, Limits, TestCase, Verdict
from sandbox.languages import for_filename, language, languages

LIM = Limits(cpu_s=1.0, wall_s=3.0, memory_mb=128)
SUM = "#include <bits/stdc++.h>\nint main(){ long long a, b; std::cin >> a >> b; std::cout << a + b << '\\n'; }\n"


def available(sb, lang: str) -> bool:
    key = (id(sb), lang)
    if key not in _AVAILABLE:
        _AVAILABLE[key] = {x["id"]: x["available"] for x in sb.languages()}.get(lang, False)
    return _AVAILABLE[key]


_AVAILABLE: dict = {}


def need(sb, lang: str) -> None:
    if not available(sb, lang):
        pytest.skip(f"{language(lang).name} is not installed in the {sb.name} sandbox")


def run(sb, source, *pairs, lang="cpp", limits=LIM, **kw):
    return sb.run(Job(kind="stdio", language=lang, source=source, limits=limits,
                      tests=[TestCase(input=i, output=o) for i, o in pairs], **kw))


def test_the_table_is_data_with_the_expected_languages():
    table = languages()
    assert {"python", "cpp", "c", "pypy"} <= set(table)
    assert language("c++").id == "cpp" and language("py").id == "python"
    assert for_filename("sol.cpp").id == "cpp" and for_filename("a.cc").id == "cpp"
    assert for_filename("x.c").id == "c" and for_filename("x.py").id == "python"
    assert "-std=gnu++17" in table["cpp"].compile and "-O2" in table["cpp"].compile


def test_cpp_verdicts_and_figures(sandbox):
    need(sandbox, "cpp")
    rep = run(sandbox, SUM, ("1 2", "3"), ("5 5", "11"))
    assert [r.verdict for r in rep.results] == [Verdict.AC, Verdict.WA]
    assert rep.compile_ms is not None and rep.compile_cached is False
    first = rep.results[0]
    # the build is not part of a test's time, and the launcher's memory is not the program's
    assert first.cpu_ms < 50 and first.peak_rss_kb < 20 * 1024
    again = run(sandbox, SUM, ("1 2", "3"))
    assert again.compile_cached is True and again.all_passed


def test_a_compile_error_carries_the_first_diagnostics(sandbox):
    need(sandbox, "cpp")
    rep = run(sandbox, "int main() { undefined_name(); }\n", ("", ""))
    assert rep.results[0].verdict is Verdict.CE
    assert "solution.cpp:1" in rep.compile_error and "undefined_name" in rep.compile_error
    assert "/box-" not in rep.compile_error


@pytest.mark.parametrize("source,words", [
    ("#include <cassert>\nint main(){ assert(1 == 2); }\n", "SIGABRT"),
    ("#include <csignal>\nint main(){ raise(SIGSEGV); }\n", "segmentation fault"),
    ("#include <csignal>\nint main(){ raise(SIGFPE); }\n", "floating-point"),
    ("#include <unistd.h>\n#include <cstdio>\nint main(){ fork(); puts(\"x\"); }\n", "start a process"),
])
def test_runtime_errors_are_named(sandbox, source, words):
    need(sandbox, "cpp")
    r = run(sandbox, source, ("", "x")).results[0]
    assert r.verdict is Verdict.RE and words in r.detail, r


def test_limits_apply_to_compiled_programs(sandbox):
    need(sandbox, "cpp")
    assert run(sandbox, "int main(){ while (1); }\n", ("", "")).results[0].verdict is Verdict.TLE
    hog = ("#include <vector>\n#include <cstdio>\nint main(){ std::vector<char> v(300 << 20, 1);"
           " printf(\"%d\\n\", v[12345]); }\n")
    assert run(sandbox, hog, ("", "1")).results[0].verdict is Verdict.MLE
    flood = "#include <cstdio>\nint main(){ for(;;) puts(\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"); }\n"
    assert run(sandbox, flood, ("", ""), limits=Limits(cpu_s=1, wall_s=3, memory_mb=128,
                                                         output_bytes=1 << 16)).results[0].verdict is Verdict.OLE


def test_a_sanitizer_build_explains_the_crash(sandbox):
    need(sandbox, "cpp")
    src = "#include <cstdio>\nint main(){ int a[3]; int i; scanf(\"%d\", &i); a[i] = 5; printf(\"%d\\n\", a[i]); }\n"
    r = run(sandbox, src, ("7", "5"), sanitize=True, limits=Limits(cpu_s=3, wall_s=8, memory_mb=512)).results[0]
    assert r.verdict is Verdict.RE and "sanitizer" in r.detail and "out of bounds" in r.detail, r


def test_c_and_pypy(sandbox):
    need(sandbox, "c")
    rep = run(sandbox, "#include <stdio.h>\nint main(){int a,b; scanf(\"%d %d\",&a,&b); printf(\"%d\\n\",a*b);}\n",
              ("3 4", "12"), lang="c")
    assert rep.all_passed
    need(sandbox, "pypy")
    rep = run(sandbox, "print(sum(map(int, input().split())))\n", ("1 2", "3"), lang="pypy",
              limits=Limits(cpu_s=3, wall_s=8, memory_mb=256))
    assert rep.all_passed, rep.results[0]


def test_function_problems_stay_python(sandbox):
    from sandbox.api import SandboxError
    with pytest.raises(SandboxError, match="cannot be judged on function tests"):
        sandbox.run(Job(kind="function", language="cpp", source=SUM, tests=[TestCase(code="assert True")]))
