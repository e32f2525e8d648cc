"""Differential testing for stdin/stdout problems: find an input on which a candidate disagrees
with a brute force, then shrink it to something a person (or the critic) can read.

Every program runs in the sandbox, many inputs per job. An input only counts when the brute
force runs cleanly on it (that is the validity check for generated and shrunk inputs); the
candidate is judged on it with the problem's own judge (tokens/lines/exact via
`sandbox.judge.compare_output`, or the problem's checker).
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from sandbox.api import Job, Limits, TestCase, TestResult, Verdict

from ..problems.model import Problem
from .context import EngineContext
from .gentests import StdioTools, _normalise_input, brute_job, clean_run, generator_job

# a candidate that needs more than this on a small input is broken, whatever the problem allows
CANDIDATE_CPU_CAP_S = 5.0
BATCH = 10
MAX_VARIANTS = 60
MAX_PHASE_ROUNDS = 10


class Counterexample(BaseModel):
    input: str
    expected: str
    actual: str
    verdict: str
    detail: str
    original_size_chars: int
    shrink_steps: int
    size: int | None = None
    seed: int | None = None


class _Failure(BaseModel):
    input: str
    expected: str
    actual: str
    verdict: str
    detail: str
    size: int | None = None
    seed: int | None = None


def _candidate_limits(problem: Problem) -> Limits:
    base = problem.limits()
    cpu = min(base.cpu_s, CANDIDATE_CPU_CAP_S)
    return Limits(cpu_s=cpu, wall_s=2 * cpu + 1, memory_mb=base.memory_mb, output_bytes=base.output_bytes)


def _actual(r: TestResult) -> str:
    if r.verdict in (Verdict.WA, Verdict.AC):
        return r.stdout
    return (r.stdout + ("\n" if r.stdout and r.stderr else "") + r.stderr)[-2000:] or r.detail


class _Differ:
    """Runs the brute force and the candidate on batches of inputs."""

    def __init__(self, ctx: EngineContext, candidate: str, tools: StdioTools):
        self.ctx = ctx
        self.problem = ctx.problem
        self.candidate = candidate
        self.tools = tools
        self.brute_clean = 0
        self.brute_timeout_size: int | None = None  # the brute force timed out at this SIZE

    async def generate(self, pairs: list[tuple[int, int]]) -> list[tuple[int, int, str]]:
        report = await self.ctx.execute(generator_job(self.problem, self.tools, pairs))
        out, seen = [], set()
        for (seed, size), r in zip(pairs, report.results):
            x = _normalise_input(r.stdout) if clean_run(r) else ""
            if x.strip() and x not in seen:  # small sizes repeat themselves
                seen.add(x)
                out.append((seed, size, x))
        return out

    async def brute(self, inputs: list[str], stop_on_failure: bool = False) -> list[TestResult]:
        report = await self.ctx.execute(brute_job(self.problem, self.tools, inputs, stop_on_failure))
        return report.results

    async def judge(self, inputs: list[str], expected: list[str], stop_on_failure: bool) -> list[TestResult]:
        """The candidate on `inputs`, judged against the brute force's answers."""
        tests = [TestCase(name=f"input-{i}", input=x, output=e) for i, (x, e) in enumerate(zip(inputs, expected), 1)]
        job = Job(kind="stdio", source=self.candidate, tests=tests, limits=_candidate_limits(self.problem),
                  judge=self.problem.judge, stop_on_failure=stop_on_failure, language=self.problem.language)
        report = await self.ctx.execute(job)
        return report.results

    async def failures(self, inputs: list[str], meta: list[tuple[int | None, int | None]] | None = None,
                       first_only: bool = False) -> list[_Failure]:
        """Inputs (brute force clean) on which the candidate fails, in input order."""
        meta = meta or [(None, None)] * len(inputs)
        todo = [i for i in range(len(inputs)) if not self._too_big(meta[i][1])]
        valid: list[tuple[int, str]] = []  # (index, expected)
        # the brute force stops at its first failure: a timeout there means bigger inputs time out
        # too (they come in growing sizes), a runtime error only skips that input
        while todo:
            results = await self.brute([inputs[i] for i in todo], stop_on_failure=True)
            for r in results:
                if clean_run(r):
                    valid.append((todo[r.index], r.stdout))
            if len(results) >= len(todo) or not results:
                break
            last = results[-1]
            if last.verdict in (Verdict.TLE, Verdict.MLE):
                size = meta[todo[last.index]][1]
                if size is not None:
                    self.brute_timeout_size = min(size, self.brute_timeout_size or size)
                todo = [i for i in todo[last.index + 1:] if not self._too_big(meta[i][1])]
            else:
                todo = todo[last.index + 1:]
        self.brute_clean += len(valid)
        if not valid:
            return []
        results = await self.judge([inputs[i] for i, _ in valid], [e for _, e in valid], stop_on_failure=first_only)
        out = []
        for r in results:
            if r.passed:
                continue
            i, expected = valid[r.index]
            seed, size = meta[i]
            out.append(_Failure(input=inputs[i], expected=expected, actual=_actual(r), verdict=r.verdict.value,
                                detail=r.detail, size=size, seed=seed))
        return out

    def _too_big(self, size: int | None) -> bool:
        return size is not None and self.brute_timeout_size is not None and size >= self.brute_timeout_size


def _schedule(tries: int, max_size: int, seed: int) -> list[tuple[int, int]]:
    """(seed, size) pairs with growing sizes, most of them small (small inputs find most bugs)."""
    pairs = []
    for i in range(tries):
        frac = i / (tries - 1) if tries > 1 else 0.0
        pairs.append((seed + i, max(1, round(1 + (max_size - 1) * frac * frac))))
    return pairs


async def find_counterexample(ctx: EngineContext, candidate: str, tools: StdioTools, tries: int = 40,
                              max_size: int = 50, shrink: bool = True, *, seed: int = 0,
                              max_shrink_rounds: int = 25) -> Counterexample | None:
    """An input on which `candidate` disagrees with the brute force (wrong answer, or a runtime
    error / timeout where the brute force is fine), shrunk; None when none was found."""
    problem = ctx.problem
    if problem.kind != "stdio":
        raise ValueError("differential testing needs a stdin/stdout problem")
    differ = _Differ(ctx, candidate, tools)
    generated = await differ.generate(_schedule(tries, max_size, seed))
    if not generated:
        ctx.notice("differential testing: the generator produced no input", "warning")
        return None
    found: _Failure | None = None
    for start in range(0, len(generated), BATCH):
        batch = generated[start:start + BATCH]
        fails = await differ.failures([x for _, _, x in batch], [(s, n) for s, n, _ in batch], first_only=True)
        if fails:
            found = fails[0]
            break
    if found is None:
        if differ.brute_clean == 0:
            ctx.notice("differential testing: the brute force did not run cleanly on any generated input", "warning")
        return None
    original = len(found.input)
    steps = 0
    if shrink:
        found, steps = await _shrink(differ, found, max_shrink_rounds, seed + tries)
    return Counterexample(input=found.input, expected=found.expected, actual=found.actual, verdict=found.verdict,
                          detail=found.detail, original_size_chars=original, shrink_steps=steps,
                          size=found.size, seed=found.seed)


# --------------------------------------------------------------------------- shrinking

async def _shrink(differ: _Differ, failure: _Failure, max_rounds: int, seed: int) -> tuple[_Failure, int]:
    steps = 0
    smaller = await _smallest_size(differ, failure, seed)
    if smaller is not None:
        failure, steps = smaller, 1
    if failure.verdict in ("TLE", "MLE", "CE"):
        # a timeout costs the whole time limit per try, and a compile error has nothing to shrink
        return failure, steps
    rounds = 0
    # a variant must keep the input's counts consistent (N before N items...): a lenient brute
    # force would accept a broken input, and the counterexample would mislead
    counts = len(_count_like(_lines(failure.input)))
    for make in (_line_variants, _token_variants, _value_variants):
        phase_rounds = 0
        while rounds < max_rounds and phase_rounds < MAX_PHASE_ROUNDS:
            phase_rounds += 1
            variants = [v for v in dict.fromkeys(make(failure.input))
                        if v.strip() and _order(v) < _order(failure.input) and len(_count_like(_lines(v))) >= counts]
            variants.sort(key=_order)
            variants = variants[:MAX_VARIANTS]
            if not variants:
                break
            rounds += 1
            # the same failure, not another one the reduction ran into
            fails = [f for f in await differ.failures(variants) if f.verdict == failure.verdict]
            if not fails:
                break
            best = min(fails, key=lambda f: _order(f.input))
            best.size, best.seed = failure.size, failure.seed
            failure = best
            steps += 1
    return failure, steps


def _order(text: str) -> tuple[int, int, int, str]:
    """Smaller is simpler: shorter, then rounder numbers (fewer significant digits), then smaller."""
    numbers = [abs(int(t)) for t in text.split() if _INT.match(t)]
    digits = sum(len(str(v).rstrip("0")) for v in numbers)
    return len(text), digits, sum(numbers), text


async def _smallest_size(differ: _Differ, failure: _Failure, seed: int, seeds: int = 4) -> _Failure | None:
    """A failing input made with the smallest SIZE that still fails, over a few seeds each."""
    if not failure.size or failure.size <= 1:
        return None
    if failure.size <= 12:
        sizes = list(range(1, failure.size))
    else:
        sizes = sorted({1, 2, 3, 4, 5, 6, 8, 10, 12} | {round(failure.size * f) for f in (0.25, 0.5, 0.75)})
        sizes = [s for s in sizes if 1 <= s < failure.size]
    pairs = [(seed + j, s) for s in sizes for j in range(seeds)]
    generated = await differ.generate(pairs)
    if not generated:
        return None
    # smallest sizes first: a crash or a timeout stops the job there, and that is the answer
    fails = await differ.failures([x for _, _, x in generated], [(s, n) for s, n, _ in generated], first_only=True)
    if not fails:
        return None
    return min(fails, key=lambda f: (f.size or 0, len(f.input), f.input))


_INT = re.compile(r"^[+-]?\d+$")


def _lines(text: str) -> list[str]:
    return text.rstrip("\n").split("\n")


def _join(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def _count_slots(lines: list[str], before_line: int, before_token: int | None, amount: int) -> list[tuple[int, int]]:
    """Integer tokens before a removed piece that may count it (e.g. N before N items, T before T
    cases): the two nearest with a value of at least `amount`, and the input's first token."""
    slots: list[tuple[int, int]] = []
    for li in range(min(before_line, len(lines) - 1), -1, -1):
        tokens = lines[li].split()
        last = len(tokens) if li < before_line or before_token is None else before_token
        for ti in range(last - 1, -1, -1):
            if _INT.match(tokens[ti]) and int(tokens[ti]) >= amount and len(slots) < 2:
                slots.append((li, ti))
    first = lines[0].split()[:1]
    if first and _INT.match(first[0]) and int(first[0]) >= amount and (0, 0) not in slots \
            and (before_line > 0 or (before_token or 0) > 0):
        slots.append((0, 0))
    return slots


def _decrement(lines: list[str], slot: tuple[int, int], amount: int) -> list[str]:
    li, ti = slot
    tokens = lines[li].split()
    tokens[ti] = str(int(tokens[ti]) - amount)
    return lines[:li] + [" ".join(tokens)] + lines[li + 1:]


def _line_variants(text: str) -> list[str]:
    """Delta debugging on lines: drop chunks of lines (halves, quarters, ... single lines), each
    also with a count before it lowered to match."""
    lines = _lines(text)
    out = []
    n = len(lines)
    k = 2
    while k <= 2 * n:
        size = max(1, -(-n // k))
        for start in range(0, n, size):
            rest = lines[:start] + lines[start + size:]
            if not rest:
                continue
            out.append(_join(rest))
            removed = min(size, n - start)
            for slot in _count_slots(lines, start, None, removed):
                out.append(_join(_decrement(lines, slot, removed)[:start] + lines[start + size:]))
        if size == 1:
            break
        k *= 2
    return out


def _token_variants(text: str) -> list[str]:
    """Delta debugging on the tokens of each line, with the matching count lowered."""
    lines = _lines(text)
    out = []
    for li, line in enumerate(lines):
        tokens = line.split()
        n = len(tokens)
        if n < 2:
            continue
        k = 2
        while k <= 2 * n:
            size = max(1, -(-n // k))
            for start in range(0, n, size):
                rest = tokens[:start] + tokens[start + size:]
                if not rest:
                    continue
                removed = min(size, n - start)
                out.append(_join(lines[:li] + [" ".join(rest)] + lines[li + 1:]))
                for slot in _count_slots(lines, li, start, removed):
                    changed = _decrement(lines, slot, removed)
                    ctoks = changed[li].split()
                    changed[li] = " ".join(ctoks[:start] + ctoks[start + size:])
                    out.append(_join(changed))
            if size == 1:
                break
            k *= 2
    return out


def _value_variants(text: str) -> list[str]:
    """Smaller, rounder numbers: each integer token (counts excepted) tried at 0, 1, half, with
    digits dropped, rounded down to fewer significant digits, and closer to itself in halving
    steps (v - v/4, ... v - 1)."""
    lines = _lines(text)
    counts = _count_like(lines)
    out = []
    for li, line in enumerate(lines):
        tokens = line.split()
        for ti, tok in enumerate(tokens):
            if not _INT.match(tok) or (li, ti) in counts:
                continue
            v = int(tok)
            sign, mag = (-1 if v < 0 else 1), abs(v)
            smaller = {0, 1, mag // 2}
            for k in range(1, len(str(mag))):
                unit = 10 ** (len(str(mag)) - k)
                # fewer digits, and the same digits rounded down
                smaller |= {mag // unit, unit, mag // unit * unit, (mag // unit - 1) * unit}
            step = mag // 4
            while step >= 1:
                smaller.add(mag - step)
                step //= 2
            smaller.add(mag - 1)
            for new in sorted(m for m in smaller if 0 <= m < mag):
                changed = tokens[:ti] + [str(sign * new)] + tokens[ti + 1:]
                out.append(_join(lines[:li] + [" ".join(changed)] + lines[li + 1:]))
    return out


def _count_like(lines: list[str]) -> set[tuple[int, int]]:
    """Integer tokens of short (header) lines that look like counts of what follows: the number
    of following lines, of tokens on the next line, or (first token) at most the lines left.
    Lowering those breaks the format."""
    found = set()
    for li, line in enumerate(lines):
        tokens = line.split()
        if len(tokens) > 3:
            continue  # a data line
        following = len(lines) - li - 1
        next_tokens = len(lines[li + 1].split()) if li + 1 < len(lines) else -1
        for ti, tok in enumerate(tokens):
            if not _INT.match(tok) or int(tok) < 1:
                continue
            v = int(tok)
            if v in (following, next_tokens) or (li == 0 and ti == 0 and v <= following):
                found.add((li, ti))
    return found


__all__ = ["Counterexample", "find_counterexample"]
