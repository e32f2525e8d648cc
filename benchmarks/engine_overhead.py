"""Engine time per search node, with the model's and the sandbox's own time taken out.

Method: the engine runs `solve()` unchanged (events, trace file, scoring, ranking, final pick)
with a scripted model that answers at once and an instant in-process sandbox that returns a
ready-made report for each job (verdicts, CPU figures, expected/actual details, as the real one
does). What little time the two stand-ins take is still subtracted, using the run's Timeline:
engine time = wall - (model busy + sandbox busy - their overlap). Per node = engine time / nodes.
The per-node distribution (median, p90) is the gap between consecutive new nodes (with nothing
else running, that gap is the engine's work for one node; the first node of a round also carries
the round's bookkeeping).

Scenarios (each one search of 200+ candidate nodes on one function problem):
- orps-chat: tree search with critic calls (a chat model): beam 4, 4 children, 12 rounds;
- bon-completion: best-of-N on a completion-only (base) model, as the built-in model runs.
The goal is < 5 ms per node in every scenario; exits 1 when one misses it, with a cProfile
summary (top functions by cumulative and own time) of that scenario in the JSON.
Usage: python benchmarks/engine_overhead.py [--nodes 200] [--repeats 3] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import io
import json
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.engine.search import SearchConfig  # noqa: E402
from assistant.models.scripted import ScriptedModel  # noqa: E402
from assistant.modes.solve import solve  # noqa: E402
from assistant.problems.model import Problem  # noqa: E402
from sandbox import ExecutionReport, TestCase, TestResult, Verdict  # noqa: E402

GOAL_MS = 5.0

PROBLEM = Problem(
    id="bench/below-zero", kind="function", entry_point="below_zero",
    statement="Given a list of deposit and withdrawal operations on a bank account that starts at zero, "
              "return True if the balance ever falls below zero, otherwise False.",
    starter_code="from typing import List\n\n\ndef below_zero(operations: List[int]) -> bool:\n",
    visible_tests=[TestCase(name=f"visible-{i}", code=code) for i, code in enumerate([
        "assert below_zero([]) == False",
        "assert below_zero([1, 2, -3, 1, 2, -3]) == False",
        "assert below_zero([1, 2, -4, 5, 6]) == True",
        "assert below_zero([1, -1, 2, -2, 5, -5, 4, -4]) == False",
        "assert below_zero([1, -1, 2, -2, 5, -5, 4, -5]) == True",
        "assert below_zero([1, -2, 2, -2, 5, -5, 4, -4]) == True"], 1)])


class InstantSandbox:
    """Answers every job at once with a deterministic report: per test, AC or WA from a hash of
    (program, test), with CPU figures and expected/actual details like the real sandbox's."""

    name = "instant"
    image_id = None

    def __init__(self):
        self.jobs = 0

    async def arun(self, job, on_result=None) -> ExecutionReport:
        self.jobs += 1
        results = []
        for i, test in enumerate(job.tests):
            h = hashlib.blake2b(f"{job.source}\0{test.code}{test.input}".encode(), digest_size=2).digest()
            ok = h[0] % 3 != 0
            runs = [1.0 + (h[1] % 7) / 10] * job.repeat
            results.append(TestResult(
                index=i, name=test.name, verdict=Verdict.AC if ok else Verdict.WA,
                cpu_ms=runs[0], cpu_ms_runs=runs if ok else runs[:1], peak_rss_kb=9000 + h[1], wall_ms=runs[0] + 2,
                detail="" if ok else "assertion failed", error_type=None if ok else "AssertionError",
                expected=None if ok else "False", actual=None if ok else "True",
                traceback=None if ok else f'File "test", line 1, in <module>\n    {test.code}\nAssertionError'))
        return ExecutionReport(kind=job.kind, results=results, backend="instant", elapsed_ms=0.0)


def chat_handler(req):
    """Programmer replies: prose + a distinct program each time; critic replies: JSON."""
    first = req.messages[0].content
    if "strict reviewer" in first:
        return json.dumps({"analysis": "fails the case where the balance dips below zero mid-way",
                           "complexity": "O(n) time, O(1) space", "suggestion": "track the running balance",
                           "score": 3, "done": False})
    n = chat_handler.count = getattr(chat_handler, "count", 0) + 1
    return ("The balance must be tracked after every operation; return as soon as it drops below zero.\n"
            "```python\nfrom typing import List\n\n\ndef below_zero(operations: List[int]) -> bool:\n"
            f"    balance = {n % 3} - {n % 3}\n    for op in operations:\n        balance += op\n"
            f"        if balance < {-(n // 3)}:\n            return True\n    return False  # v{n}\n```\n")


def completion_handler(req):
    n = completion_handler.count = getattr(completion_handler, "count", 0) + 1
    return (f"    balance = {n % 5}\n    for op in operations:\n        balance += op\n"
            f"        if balance < {n % 5} - {n // 5}:\n            return True\n    return False\n")


def scenario_config(name: str, nodes: int) -> tuple[SearchConfig, ScriptedModel]:
    common = dict(generated_tests=False, complexity=False, parallel=2, seed=0)
    if name == "orps-chat":
        beam, branching, initial = 4, 4, 8
        rounds = max(1, -(-(nodes - initial) // (beam * branching)))
        cfg = SearchConfig(method="orps", initial=initial, beam=beam, branching=branching, rounds=rounds,
                           max_calls=10 * nodes, adaptive=False, **common)
        chat_handler.count = 0
        return cfg, ScriptedModel(handler=chat_handler)
    completion_handler.count = 0
    return SearchConfig(method="bon", max_calls=nodes, **common), ScriptedModel(handler=completion_handler,
                                                                                  can_chat=False)


async def one_run(name: str, nodes: int, trace_dir: Path) -> dict:
    cfg, model = scenario_config(name, nodes)
    sandbox = InstantSandbox()
    created: list[float] = []

    def on_event(event):
        if event.type == "node_created":
            created.append(time.perf_counter())

    t0 = time.perf_counter()
    result = await solve(PROBLEM, model, sandbox, cfg, on_event=on_event, trace=trace_dir / f"{name}.jsonl")
    wall = time.perf_counter() - t0
    tl = result.timeline
    model_s, sandbox_s = tl.get("model_busy_s", 0.0), tl.get("sandbox_busy_s", 0.0)
    overlap = (tl.get("sandbox_hidden_share") or 0.0) * sandbox_s
    engine_s = wall - (model_s + sandbox_s - overlap)
    n = len(result.nodes)
    gaps = [(b - a) * 1000 for a, b in zip([t0] + created[:-1], created)]
    return {"nodes": n, "model_calls": result.budget["calls"], "sandbox_jobs": sandbox.jobs,
            "wall_s": round(wall, 4), "model_busy_s": round(model_s, 4), "sandbox_busy_s": round(sandbox_s, 4),
            "engine_s": round(engine_s, 4), "per_node_ms_mean": round(engine_s * 1000 / max(n, 1), 3),
            "per_node_ms_median": round(statistics.median(gaps), 3) if gaps else None,
            "per_node_ms_p90": round(statistics.quantiles(gaps, n=10)[-1], 3) if len(gaps) >= 10 else None,
            "stop_reason": result.stop_reason}


def profile(name: str, nodes: int, trace_dir: Path, top: int = 15) -> dict:
    prof = cProfile.Profile()
    prof.enable()
    asyncio.run(one_run(name, nodes, trace_dir))
    prof.disable()
    out = {}
    for key in ("cumulative", "tottime"):
        buf = io.StringIO()
        stats = pstats.Stats(prof, stream=buf)
        stats.sort_stats(key)
        rows = []
        for func, (cc, nc, tt, ct, _callers) in sorted(stats.stats.items(),
                                                       key=lambda kv: kv[1][3 if key == "cumulative" else 2],
                                                       reverse=True)[:top]:
            filename, line, fname = func
            rows.append({"function": f"{Path(filename).name}:{line}({fname})", "calls": nc,
                         "own_s": round(tt, 4), "cumulative_s": round(ct, 4)})
        out[key] = rows
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=200, help="candidate nodes per search (at least)")
    ap.add_argument("--repeats", type=int, default=3, help="searches per scenario; the median run is reported")
    ap.add_argument("--profile", action="store_true", help="add a cProfile summary even when the goal is met")
    args = ap.parse_args()

    report: dict = {"method": "scripted model + instant in-process sandbox; engine time = wall - (model busy "
                              "+ sandbox busy - overlap) from the run's Timeline; trace file written as the CLI does",
                    "problem": PROBLEM.id, "goal_ms_per_node": GOAL_MS, "scenarios": {}}
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        trace_dir = Path(tmp)
        for name in ("orps-chat", "bon-completion"):
            asyncio.run(one_run(name, 20, trace_dir))  # warm-up: imports, template loading, caches
            runs = [asyncio.run(one_run(name, args.nodes, trace_dir)) for _ in range(args.repeats)]
            runs.sort(key=lambda r: r["per_node_ms_mean"])
            median_run = runs[len(runs) // 2]
            met = median_run["per_node_ms_mean"] < GOAL_MS
            ok &= met
            entry = {**median_run, "goal_met": met,
                     "per_node_ms_mean_all_runs": [r["per_node_ms_mean"] for r in runs]}
            if not met or args.profile:
                entry["profile"] = profile(name, args.nodes, trace_dir)
            report["scenarios"][name] = entry
    report["per_node_ms_worst"] = max(s["per_node_ms_mean"] for s in report["scenarios"].values())
    report["goal_met"] = ok
    print(json.dumps(report, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
