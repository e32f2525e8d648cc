"""Empirical complexity: run a candidate on inputs of growing size, fit time = a*g(n) + b for the
usual classes, and project the time at the largest size the statement allows.

Measurements are CPU time medians from the sandbox (several runs per size), never wall clock.
The fit is an estimate with an honest note attached: too few points, too flat, too noisy and
"too fast to measure" are reported, not papered over.
"""

from __future__ import annotations

import ast
import math
import re
import statistics
from collections.abc import Callable

from pydantic import BaseModel, Field

from sandbox.api import Limits, TestCase, Verdict

from ..problems.model import Problem
from .context import EngineContext
from .gentests import StdioTools, _normalise_input, clean_run, generator_job

# --------------------------------------------------------------------------- fitting

# (key, label, g) in growing order; log base 2, log2(1) = 0
_CLASSES: list[tuple[str, str, Callable[[float], float]]] = [
    ("1", "O(1)", lambda n: 1.0),
    ("log n", "O(log n)", lambda n: math.log2(max(n, 1.0))),
    ("n", "O(n)", lambda n: float(n)),
    ("n log n", "O(n log n)", lambda n: n * math.log2(max(n, 1.0))),
    ("n^2", "O(n^2)", lambda n: float(n) ** 2),
    ("n^3", "O(n^3)", lambda n: float(n) ** 3),
    ("2^n", "O(2^n)", lambda n: 2.0 ** n),
]
LABELS = [label for _, label, _ in _CLASSES]
TOO_FAST_MS = 2.0  # below this every run is start-up noise
EXP_MAX_N = 64  # 2^n is not a candidate when sizes go beyond this (nothing exponential gets there)
# a lower class wins unless the best fit's relative error is clearly smaller
PREFER_LOWER_FACTOR = 1.3
PREFER_LOWER_SLACK = 0.005
MIN_POINTS_TO_TRIM = 6


def complexity_rank(label: str | None) -> int:
    """Position of a label in the growth order (O(1) = 0 ... O(2^n) = 6); -1 when unknown."""
    return LABELS.index(label) if label in LABELS else -1


class ComplexityFit(BaseModel):
    label: str | None = Field(None, description='e.g. "O(n log n)"; None when the data cannot tell')
    model: str | None = Field(None, description="the fitted g(n): 1, log n, n, n log n, n^2, n^3, 2^n")
    r2: float | None = None
    coefficients: dict[str, float] = Field(default_factory=dict, description="time_ms = a*g(n) + b")
    errors: dict[str, float] = Field(default_factory=dict, description="RMS relative error per class")
    points: int = 0
    note: str = ""

    @property
    def rank(self) -> int:
        return complexity_rank(self.label)


def _weighted_fit(xs: list[float], ts: list[float], ws: list[float]) -> tuple[float, float]:
    """Least squares t = a*x + b with weights, a >= 0 and b >= 0."""
    sw = sum(ws)
    mx = sum(w * x for w, x in zip(ws, xs)) / sw
    mt = sum(w * t for w, t in zip(ws, ts)) / sw
    sxx = sum(w * (x - mx) ** 2 for w, x in zip(ws, xs))
    sxt = sum(w * (x - mx) * (t - mt) for w, x, t in zip(ws, xs, ts))
    a = sxt / sxx if sxx > 0 else 0.0
    b = mt - a * mx
    if a <= 0:
        return 0.0, mt
    if b < 0:  # through the origin
        sxx0 = sum(w * x * x for w, x in zip(ws, xs))
        return (sum(w * x * t for w, x, t in zip(ws, xs, ts)) / sxx0 if sxx0 > 0 else 0.0), 0.0
    return a, b


def fit_complexity(points: list[tuple[int, float]]) -> ComplexityFit:
    """Fit time = a*g(n) + b for g in 1, log n, n, n log n, n^2, n^3, 2^n and pick the class.

    Residuals are relative (timing noise is proportional), with small times floored so start-up
    noise does not decide; the lowest class within a margin of the best fit wins (a higher class
    with a free coefficient fits noise too well)."""
    pts = sorted((int(n), float(t)) for n, t in points if n >= 1 and t is not None and t >= 0)
    ns = sorted({n for n, _ in pts})
    if len(ns) < 3:
        return ComplexityFit(points=len(pts), note=f"too few points to fit ({len(ns)} distinct sizes; need 3)")
    times = [t for _, t in pts]
    if max(times) < TOO_FAST_MS:
        return ComplexityFit(points=len(pts), note=f"too fast to measure: every run under {TOO_FAST_MS:g} ms")
    if ns[-1] < 2 * ns[0] or (ns[-1] < 4 * ns[0] and max(times) < 4 * min(times)):
        return ComplexityFit(points=len(pts), note="sizes too close together to tell classes apart "
                                                   f"({ns[0]}..{ns[-1]}; need a 4x range)")
    floor = max(1.0, 0.1 * max(times))
    weights = [1.0 / max(t, floor) ** 2 for t in times]
    errors: dict[str, float] = {}
    fits: dict[str, tuple[float, float]] = {}
    top = ns[-1]
    for key, _, g in _CLASSES:
        if key == "2^n" and top > EXP_MAX_N:
            continue
        scale = g(top) or 1.0  # normalise g for numerical stability
        xs = [g(n) / scale for n, _ in pts]
        keep = list(range(len(pts)))
        # one disturbed measurement (a busy machine) must not decide the class: with enough
        # points, the worst one is left out and the fit redone
        for trim in range(2 if len(pts) >= MIN_POINTS_TO_TRIM else 1):
            kx, kt, kw = [xs[i] for i in keep], [times[i] for i in keep], [weights[i] for i in keep]
            if key == "1":
                a, b = 0.0, sum(w * t for w, t in zip(kw, kt)) / sum(kw)
            else:
                a, b = _weighted_fit(kx, kt, kw)
            sq = {i: weights[i] * (a * xs[i] + b - times[i]) ** 2 for i in keep}
            if trim == 0 and len(keep) >= MIN_POINTS_TO_TRIM:
                keep.remove(max(sq, key=lambda i: sq[i]))
        errors[key] = math.sqrt(sum(sq.values()) / len(sq))
        fits[key] = (a / scale, b)
    best = min(errors.values())
    margin = best * PREFER_LOWER_FACTOR + PREFER_LOWER_SLACK
    chosen = next(k for k, _, _ in _CLASSES if k in errors and errors[k] <= margin)
    a, b = fits[chosen]
    g = dict((k, fn) for k, _, fn in _CLASSES)[chosen]
    mean = statistics.fmean(times)
    ss_tot = sum((t - mean) ** 2 for t in times)
    ss_res = sum((a * g(n) + b - t) ** 2 for n, t in pts)
    r2 = 1 - ss_res / ss_tot if ss_tot > 0 else 1.0
    notes = []
    if max(times) - min(times) < TOO_FAST_MS:
        notes.append(f"flat: times stay within {TOO_FAST_MS:g} ms of each other")
    if errors[chosen] > 0.25:
        notes.append(f"noisy measurements (relative error {errors[chosen]:.0%})")
    if chosen == "2^n" and top > 30:
        notes.append("exponential fit")
    label = dict((k, lab) for k, lab, _ in _CLASSES)[chosen]
    return ComplexityFit(label=label, model=chosen, r2=round(r2, 4), coefficients={"a": a, "b": b},
                         errors={k: round(v, 4) for k, v in errors.items()}, points=len(pts),
                         note="; ".join(notes))


def project(fit: ComplexityFit, n: int | None) -> float | None:
    """Projected CPU ms at size n from a fit (None when the fit has no class or n is unknown)."""
    if fit.model is None or n is None or not fit.coefficients:
        return None
    g = dict((k, fn) for k, _, fn in _CLASSES)[fit.model]
    try:
        value = fit.coefficients["a"] * g(n) + fit.coefficients["b"]
    except OverflowError:
        return math.inf
    return value if math.isfinite(value) else math.inf


# --------------------------------------------------------------------------- constraints

_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
_NUM = r"(?:\d+(?:\.\d+)?\s*[*·×x]\s*)?10\s*\^\s*\d+|\d+(?:[ ,]\d{3})*(?:\.\d+)?(?:[eE]\d+)?"
# a size: one letter (n, N, M, K, Q, S, ...) or a length, |s|, len(s), "number of ..."
_VAR = (r"(?:\|\s*[A-Za-z]\w*\s*\||len\(\s*\w+\s*\)|(?:the\s+)?(?:length|size)\s+of\s+(?:the\s+)?[A-Za-z]\w*"
        r"|(?:the\s+)?number\s+of\s+[a-z]+(?:\s+[a-z]+)?|(?<![\w|])[A-Za-z](?:_max)?(?![\w(]))")
_BOUND = re.compile(rf"(?P<lower>(?:-\s*)?(?:{_NUM})\s*(?:≤|<)\s*)?(?P<vars>{_VAR}(?:\s*,\s*{_VAR})*)"
                    rf"\s*(?P<op>≤|<)\s*(?P<num>{_NUM})")
_WORDS = re.compile(rf"(?P<vars>(?:length|size|number of \w+)[^.\n;]{{0,40}}?)\s*(?:is at most|at most|does not exceed"
                    rf"|doesn't exceed|not exceeding|up to)\s+(?P<num>{_NUM})", re.I)
MAX_SIZE_BOUND = 10 ** 7  # larger bounds are values (10^9, 10^18), not sizes a program reads


def _normalise_math(text: str) -> str:
    text = re.sub(r"(\d)([⁰¹²³⁴⁵⁶⁷⁸⁹]+)", lambda m: m.group(1) + "^" + m.group(2).translate(_SUPERSCRIPT), text)
    text = re.sub(r"\\(?:le|leq|leqslant)\b", "≤", text)
    text = re.sub(r"\\(?:lt)\b", "<", text)
    text = re.sub(r"\\(?:cdot|times)\b", "·", text)
    text = text.replace("<=", "≤").replace("⩽", "≤").replace("$", "").replace("−", "-")
    text = re.sub(r"\\(?:left|right|mathrm|text|mathit)\b", "", text)
    text = re.sub(r"\^\s*\{\s*(\d+)\s*\}", r"^\1", text)
    text = re.sub(r"\{\s*(\w+)\s*\}", r"\1", text)
    text = re.sub(r"(\d)\s*\*\*\s*(\d+)", r"\1^\2", text)  # 10**5
    return text


def _value(num: str) -> float:
    num = num.replace(" ", "").replace(",", "")
    m = re.fullmatch(r"(?:(\d+(?:\.\d+)?)[*·×x])?10\^(\d+)", num)
    if m:
        return float(m.group(1) or 1) * 10 ** int(m.group(2))
    return float(num)


def _size_kind(var: str, statement: str) -> int:
    """2: named like a size (n, m, q, k, |s|, the length of S, the number of ...); 1: another
    letter (maybe a size, maybe a value); 0: not a size (T, the number of test cases)."""
    var = var.strip().removesuffix("_max")
    if len(var) == 1:
        # T is the number of test cases in most judges' statements
        if var == "T" and re.search(r"test cases?", statement, re.I):
            return 0
        return 2 if var in "nmqkNMQK" else 1
    return 2


def parse_constraints(statement: str) -> int | None:
    """The largest input size the statement allows (n, |s|, the length of S, the number of ...),
    e.g. 200000 for "1 ≤ n ≤ 2·10^5"; None when no size bound is stated.

    Value bounds are left out: subscripted names (a_i), bounds with a negative lower end, the
    number of test cases T, and anything above 10^7. Bounds on size-like names (n, m, q, k, |s|,
    the length of S) win over bounds on other letters, which are often values."""
    text = _normalise_math(statement)
    best: dict[int, int] = {}  # size kind -> largest bound
    for m in _BOUND.finditer(text):
        lower = m.group("lower") or ""
        if lower.strip().startswith("-"):
            continue
        try:
            bound = _value(m.group("num"))
        except ValueError:
            continue
        if m.group("op") == "<":
            bound -= 1
        variables = [v for v in re.split(r"\s*,\s*", m.group("vars")) if v]
        kind = max(_size_kind(v, statement) for v in variables)
        start = m.start("vars")
        if kind == 0 or (start > 0 and text[start - 1] in "_^"):  # a_i ≤ ... is a value bound
            continue
        if 1 <= bound <= MAX_SIZE_BOUND:
            best[kind] = max(best.get(kind, 0), int(bound))
    for m in _WORDS.finditer(text):
        try:
            bound = _value(m.group("num"))
        except ValueError:
            continue
        if 1 <= bound <= MAX_SIZE_BOUND:
            best[2] = max(best.get(2, 0), int(bound))
    # prefer bounds on names that usually mean a size over other letters (often values)
    return best.get(2) or best.get(1)


# --------------------------------------------------------------------------- input builders

_SIZE_NAMES = {"n", "size", "length", "num", "count", "limit", "upto", "up_to", "max_n", "number", "total"}
_IMMUTABLE = (int, float, complex, str, bytes, bool, type(None))


def _immutable(value) -> bool:
    if isinstance(value, _IMMUTABLE):
        return True
    if isinstance(value, (tuple, frozenset)):
        return all(_immutable(v) for v in value)
    return False


def _param_names(problem: Problem) -> list[str]:
    try:
        tree = ast.parse((problem.starter_code or "").rstrip() + "\n    ...\n")
    except SyntaxError:
        try:
            tree = ast.parse(problem.starter_code or "")
        except SyntaxError:
            return []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == problem.entry_point:
            return [a.arg for a in node.args.posonlyargs + node.args.args]
    return []


def _literal_call(problem: Problem) -> tuple[list, dict] | None:
    """The visible-test call of the entry point with the most data in its literal arguments."""
    best = None
    for t in problem.visible_tests:
        try:
            tree = ast.parse(t.code or "")
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == problem.entry_point):
                continue
            try:
                args = [ast.literal_eval(a) for a in node.args]
                kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
            except (ValueError, SyntaxError, TypeError, RecursionError):
                continue
            if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
                continue
            mass = sum(len(v) for v in [*args, *kwargs.values()] if isinstance(v, (list, tuple, str)))
            if best is None or mass > best[0]:
                best = (mass, args, kwargs)
    return (best[1], best[2]) if best else None


_SCALE_HELPER = '''def _orps_scale(v, n):
    import copy
    if not v:
        return v
    k = -(-n // len(v))
    if isinstance(v, str):
        return (v * k)[:n]
    items = (list(v) * k)[:n] if _orps_flat else [copy.deepcopy(x) for _ in range(k) for x in v][:n]
    return tuple(items) if isinstance(v, tuple) else items
'''


def scaled_function_tests(problem: Problem, sizes: list[int] | None = None) -> Callable[[int], TestCase] | None:
    """Tests of growing size for a function problem, from a visible test's literal arguments.

    Lists, tuples and strings are repeated to length n (those at least half as long as the
    longest; shorter ones, like a separator, stay as given); an int that looks like a size (it equals
    a sequence argument's length, or its parameter is named like n/size/count, or it is the
    largest int of a call with no sequence) becomes n. The test only calls the function (any
    result passes). None when no visible call has literal arguments or nothing scales."""
    if problem.kind != "function" or not problem.entry_point:
        return None
    call = _literal_call(problem)
    if call is None:
        return None
    args, kwargs = call
    names = _param_names(problem)
    slots: list[tuple[str, object]] = [(f"a{i}", v) for i, v in enumerate(args)] + list(kwargs.items())
    lengths = {len(v) for _, v in slots if isinstance(v, (list, tuple, str)) and len(v) > 0}
    has_seq = bool(lengths)
    ints = [v for _, v in slots if isinstance(v, int) and not isinstance(v, bool) and v > 0]
    largest_int = max(ints) if ints else None

    longest = max(lengths, default=0)

    def role(i: int, key: str, value) -> str:
        if isinstance(value, (list, tuple, str)) and len(value) > 0:
            # the data grows; a short companion (a separator, a pattern) stays as it is
            return "seq" if 2 * len(value) >= longest else "keep"
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            name = names[i] if key.startswith("a") and i < len(names) else key
            if name.lower() in _SIZE_NAMES or value in lengths:
                return "n"
            if not has_seq and value == largest_int:
                return "n"
        return "keep"

    roles = [role(i, k, v) for i, (k, v) in enumerate(slots)]
    if all(r == "keep" for r in roles):
        return None
    flat = all(_immutable(x) for (_, v), r in zip(slots, roles) if r == "seq" and not isinstance(v, str) for x in v)

    def expr(value, r: str, n: int) -> str:
        if r == "seq":
            return f"_orps_scale({value!r}, {n})"
        if r == "n":
            return str(n)
        return repr(value)

    def make(n: int) -> TestCase:
        n = max(1, int(n))
        parts = [expr(v, r, n) for (k, v), r in zip(slots[:len(args)], roles)]
        parts += [expr(v, r, n) for (k, v), r in zip(slots[len(args):], roles[len(args):])]
        code = (_SCALE_HELPER + f"_orps_flat = {flat!r}\n"
                + f"_orps_args = ({', '.join(parts)}{',' if len(parts) == 1 else ''})\n"
                + f"{problem.entry_point}(*_orps_args[:{len(args)}]"
                + (", " + ", ".join(f"{k}=_orps_args[{len(args) + j}]" for j, k in enumerate(kwargs))
                   if kwargs else "") + ")\n")
        return TestCase(name=f"n={n}", code=code)

    if sizes:  # the arguments must really grow with n
        small, large = make(min(sizes)).code, make(max(sizes)).code
        if min(sizes) != max(sizes) and small == large:
            return None
    return make


class ScaledInputs:
    """`make_test` for stdin/stdout problems: inputs the generator made for each size."""

    def __init__(self, inputs: dict[int, str]):
        self.inputs = inputs

    @property
    def sizes(self) -> list[int]:
        return sorted(self.inputs)

    def __call__(self, n: int) -> TestCase:
        return TestCase(name=f"n={n}", input=self.inputs[n])


async def stdio_size_tests(ctx: EngineContext, tools: StdioTools, sizes: list[int] | None = None,
                          seed: int = 0) -> ScaledInputs | None:
    """Inputs of growing size for a stdin/stdout problem: the generator runs once per size (one
    sandbox job, `SEED SIZE` each; default sizes double up to the statement's bound). None when
    the generator made nothing."""
    if sizes is None:
        sizes = default_sizes(parse_constraints(ctx.problem.statement))
    report = await ctx.execute(generator_job(ctx.problem, tools, [(seed, n) for n in sizes]))
    inputs = {n: _normalise_input(r.stdout) for n, r in zip(sizes, report.results) if clean_run(r) and r.stdout.strip()}
    return ScaledInputs(inputs) if inputs else None


# --------------------------------------------------------------------------- measuring

MEASURE_CPU_CAP_S = 2.0


def _measure_limits(problem: Problem) -> Limits:
    base = problem.limits()
    cpu = min(base.cpu_s, MEASURE_CPU_CAP_S)
    return Limits(cpu_s=cpu, wall_s=2 * cpu + 1, memory_mb=base.memory_mb, output_bytes=base.output_bytes)


class _Measured(BaseModel):
    points: list[tuple[int, float]] = Field(default_factory=list)
    stopped_at: int | None = None
    stop_verdict: str | None = None
    stop_detail: str = ""


async def _measure(ctx: EngineContext, candidate: str, make_test: Callable[[int], TestCase], sizes: list[int],
                   repeat: int) -> _Measured:
    tests, used = [], []
    for n in sizes:
        try:
            test = make_test(n)
        except (KeyError, ValueError):
            continue  # no input of that size (the generator failed on it)
        tests.append(test.model_copy(update={"name": f"n={n}", "output": None}))
        used.append(n)
    out = _Measured()
    if not tests:
        return out
    job = ctx.problem.job(candidate, tests=tests, limits=_measure_limits(ctx.problem), repeat=repeat,
                          stop_on_failure=True)
    report = await ctx.execute(job)
    for n, r in zip(used, report.results):
        if r.verdict is Verdict.AC and r.cpu_ms is not None:
            runs = r.cpu_ms_runs or [r.cpu_ms]
            out.points.append((n, float(statistics.median(runs))))
        else:
            out.stopped_at, out.stop_verdict, out.stop_detail = n, r.verdict.value, r.detail
            break
    return out


async def measure_scaling(ctx: EngineContext, candidate: str, make_test: Callable[[int], TestCase],
                          sizes: list[int], repeat: int = 3) -> list[tuple[int, float]]:
    """(size, median CPU ms) for the candidate on tests of growing size: one sandbox job, `repeat`
    runs per size, stopping at the first size that fails (a timeout ends the ladder)."""
    measured = await _measure(ctx, candidate, make_test, sorted(sizes), repeat)
    return measured.points


class ComplexityEstimate(BaseModel):
    label: str | None
    points: list[tuple[int, float]]
    projected_ms_at_limit: float | None
    limit_n: int | None
    within_time_limit: bool | None
    note: str = ""
    fit: ComplexityFit | None = None
    stopped_at: int | None = Field(None, description="first size that failed (usually a timeout)")


def _next_batch(points: list[tuple[int, float]], todo: list[int], chunk: int, target_ms: float) -> list[int]:
    """The next sizes to measure: up to `chunk`, but only those the local growth rate predicts
    under `target_ms` (at least one), so a slow candidate is not run far past the target."""
    if len(points) < 2:
        return todo[:chunk]
    (n0, t0), (n1, t1) = points[-2], points[-1]
    exponent = math.log(max(t1, 1e-3) / max(t0, 1e-3)) / math.log(n1 / n0) if n1 > n0 else 1.0
    exponent = min(max(exponent, 0.0), 6.0)
    batch = [todo[0]]
    for n in todo[1:chunk]:
        if t1 * (n / n1) ** exponent > target_ms:
            break
        batch.append(n)
    return batch


def default_sizes(limit_n: int | None, start: int = 8, top: int = 1 << 16) -> list[int]:
    """Doubling sizes from `start` up to the stated limit (or `top` when none is stated)."""
    cap = min(limit_n, top) if limit_n else top
    sizes = []
    n = start
    while n <= cap:
        sizes.append(n)
        n *= 2
    if cap not in sizes and cap >= start:
        sizes.append(cap)
    return sizes


async def estimate_complexity(ctx: EngineContext, candidate: str, make_test: Callable[[int], TestCase],
                              sizes: list[int] | None = None, *, repeat: int = 3, target_ms: float = 300.0,
                              chunk: int = 4) -> ComplexityEstimate:
    """Measure, fit, and compare the projection at the statement's size bound with the time limit.

    Sizes are measured in chunks of growing size and the ladder stops once a run takes
    `target_ms` (enough signal) or fails, so a slow candidate costs little sandbox time."""
    problem = ctx.problem
    limit_n = parse_constraints(problem.statement)
    if sizes is None:
        # function tests build their lists inside the sandbox: big sizes cost nothing to send
        sizes = getattr(make_test, "sizes", None) or default_sizes(limit_n, top=1 << 20)
    todo = sorted(set(sizes))
    points: list[tuple[int, float]] = []
    stopped: _Measured | None = None
    while todo:
        batch = _next_batch(points, todo, chunk, target_ms)
        todo = todo[len(batch):]
        measured = await _measure(ctx, candidate, make_test, batch, repeat)
        points.extend(measured.points)
        if measured.stopped_at is not None:
            stopped = measured
            break
        if points and max(t for _, t in points) >= target_ms:
            break
    fit = fit_complexity(points)
    notes = [fit.note] if fit.note else []
    if stopped is not None:
        notes.append(f"stopped at n={stopped.stopped_at}: {stopped.stop_verdict} {stopped.stop_detail}".rstrip())
    limit_ms = problem.limits().cpu_s * 1000
    projected = project(fit, limit_n)
    within: bool | None = None
    top_n = max((n for n, _ in points), default=0)
    if limit_n is not None and points and top_n >= limit_n:
        # measured at the bound itself: no projection needed
        at_limit = [t for n, t in points if n >= limit_n]
        projected = min(at_limit)
        within = projected <= limit_ms
    elif projected is not None:
        within = projected <= limit_ms
    if stopped is not None and stopped.stop_verdict == "TLE" and limit_n is not None \
            and stopped.stopped_at <= limit_n and _measure_limits(problem).cpu_s >= problem.limits().cpu_s:
        within = False  # timed out below the bound at the real limit
    if limit_n is None:
        notes.append("no size bound found in the statement")
    return ComplexityEstimate(label=fit.label, points=points, projected_ms_at_limit=projected, limit_n=limit_n,
                              within_time_limit=within, note="; ".join(notes), fit=fit,
                              stopped_at=stopped.stopped_at if stopped else None)


__all__ = ["ComplexityFit", "ComplexityEstimate", "ScaledInputs", "fit_complexity", "project", "parse_constraints",
           "measure_scaling", "estimate_complexity", "scaled_function_tests", "stdio_size_tests",
           "default_sizes", "complexity_rank", "LABELS"]
