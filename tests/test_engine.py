"""The search engine driven by scripted models on the real (local) sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.engine.search import SearchConfig
from assistant.models.base import Completion, ModelError
from assistant.models.replay import ReplayModel
from assistant.models.scripted import ScriptedModel
from assistant.modes.solve import result_json, solve
from assistant.problems.model import Problem
from sandbox import TestCase

ADD = Problem(id="add", kind="function", statement="Return the sum of a and b.", entry_point="add",
              visible_tests=[TestCase(name="t1", code="assert add(1, 2) == 3"),
                             TestCase(name="t2", code="assert add(-1, 1) == 0"),
                             TestCase(name="t3", code="assert add(10, 5) == 15")])

CORRECT = "def add(a, b):\n    return a + b\n"
SLOW = "def add(a, b):\n    total = a\n    for _ in range(200000):\n        pass\n    return total + b\n"
WRONG = "def add(a, b):\n    return a - b\n"


def block(code: str, prose: str = "Here is my approach.") -> str:
    return f"{prose}\n```python\n{code}```\n"


def is_critic(req) -> bool:
    return req.kind == "chat" and "strict reviewer" in req.messages[0].content


def critic_reply(req, score_pass=5, score_fail=2) -> str:
    report = req.messages[-1].content
    passed = "Summary: 3/3 tests passed" in report or "Summary: 2/2 tests passed" in report
    return json.dumps({"analysis": "all good" if passed else "wrong operator", "complexity": "O(1)",
                       "suggestion": "none" if passed else "use +", "score": score_pass if passed else score_fail,
                       "done": passed})


class Recorder:
    def __init__(self):
        self.events = []

    def __call__(self, event):
        self.events.append(event)

    def types(self):
        return [e.type for e in self.events]


def cfg(**kw) -> SearchConfig:
    base = dict(generated_tests=False, complexity=False, repeat_final=1, max_calls=20)
    base.update(kw)
    return SearchConfig(**base)


async def test_orps_refines_a_wrong_candidate_and_picks_the_correct_one(local_sandbox):
    def handler(req):
        if is_critic(req):
            return critic_reply(req)
        last = req.messages[-1].content
        if "execution report" in last:  # refinement of a wrong parent
            return block(CORRECT, "The report shows the sign is wrong; fixed.")
        return block(WRONG)

    model = ScriptedModel(handler=handler)
    rec = Recorder()
    result = await solve(ADD, model, local_sandbox, cfg(initial=2, beam=1, branching=1, rounds=2), on_event=rec)
    best = result.best
    assert best.code == CORRECT
    assert best.parent_id is not None  # it came from refinement
    assert best.execution.passed == 3
    # the refinement prompt carried the real report: expected vs actual of the parent
    refine_req = next(r for r in model.requests if not is_critic(r) and "execution report" in r.messages[-1].content)
    assert "expected: 3" in refine_req.messages[-1].content and "actual:   -1" in refine_req.messages[-1].content
    assert "wrong operator" in refine_req.messages[-1].content  # and the critique
    types = rec.types()
    assert types.index("node_created") < types.index("node_executed") < types.index("node_critiqued")
    assert types[-1] == "finished" and "round_done" in types
    assert result.budget["calls"] == len(model.requests)


async def test_duplicates_are_not_executed_or_critiqued_twice(local_sandbox):
    def handler(req):
        if is_critic(req):
            return critic_reply(req, score_pass=4)
        return block(CORRECT, "Same idea, different words.")  # every sample is the same program

    model = ScriptedModel(handler=handler)
    rec = Recorder()
    result = await solve(ADD, model, local_sandbox, cfg(initial=3, rounds=0), on_event=rec)
    dup = [n for n in result.nodes if n.status == "duplicate"]
    assert len(dup) == 2 and all(n.duplicate_of == "n0" for n in dup)
    assert sum(1 for e in rec.events if e.type == "node_executed") == 1
    assert sum(1 for r in model.requests if is_critic(r)) == 1
    assert result.ranking == ["n0"]


async def test_the_first_of_identical_programs_is_the_original_whichever_answer_comes_first(local_sandbox,
                                                                                          tmp_path):
    import asyncio

    async def handler(req):
        if is_critic(req):
            return critic_reply(req, score_pass=4)
        if req.options.seed == 0:  # n0's request (run seed 0): its answer arrives after n1's
            await asyncio.sleep(0.5)
        return block(CORRECT)

    model = ScriptedModel(handler=handler)
    trace = tmp_path / "run.jsonl"
    result = await solve(ADD, model, local_sandbox, cfg(initial=2, rounds=0, parallel=2), trace=trace)
    assert [(n.id, n.status, n.duplicate_of) for n in result.nodes] == [("n0", "critiqued", None),
                                                                         ("n1", "duplicate", "n0")]
    again = await solve(ADD, ReplayModel(trace), local_sandbox, cfg(initial=2, rounds=0, parallel=2))
    assert again.ranking == result.ranking == ["n0"] and again.budget["calls"] == result.budget["calls"] == 3


async def test_final_pick_prefers_passing_then_cheaper(local_sandbox):
    replies = {"n0": WRONG, "n1": SLOW, "n2": CORRECT}

    def handler(req):
        if is_critic(req):
            return critic_reply(req, score_pass=5)
        i = sum(1 for r in model.requests if not is_critic(r)) - 1
        return block(list(replies.values())[i])

    model = ScriptedModel(handler=handler)
    result = await solve(ADD, model, local_sandbox, cfg(initial=3, rounds=0, repeat_final=3, parallel=1))
    by_code = {result.node(i).code: i for i in result.ranking}
    assert result.ranking.index(by_code[CORRECT]) < result.ranking.index(by_code[SLOW]) \
        < result.ranking.index(by_code[WRONG])
    fast, slow = result.node(by_code[CORRECT]), result.node(by_code[SLOW])
    assert fast.final_cpu_ms is not None and slow.final_cpu_ms is not None and fast.final_cpu_ms < slow.final_cpu_ms


async def test_budget_cap_stops_the_search(local_sandbox):
    model = ScriptedModel(handler=lambda req: critic_reply(req) if is_critic(req) else block(WRONG + "\n# v%d\n" % len(req.messages)))
    result = await solve(ADD, model, local_sandbox, cfg(max_calls=3, initial=4))
    assert result.budget["calls"] <= 3 and len(model.requests) <= 3
    assert "budget" in result.stop_reason


async def test_garbage_replies_become_invalid_nodes_and_the_run_goes_on(local_sandbox):
    garbage = ["I would solve this with a loop.",  # no code at all
               "```python\ndef add(a, b):\n    return (a +\n",  # cut off
               "```cpp\nint add(int a, int b) { return a + b; }\n```",  # wrong language
               "x" * 300_000,  # a huge reply
               block("def plus(a, b):\n    return a + b\n"),  # wrong name
               block(CORRECT)]
    model = ScriptedModel(handler=lambda req: critic_reply(req) if is_critic(req) else garbage.pop(0))
    result = await solve(ADD, model, local_sandbox, cfg(initial=6, rounds=0, parallel=1, critic=False))
    reasons = [n.invalid_reason for n in result.nodes if n.status == "invalid"]
    assert len(reasons) == 5
    assert any("no Python code block" in r for r in reasons)
    assert any("cut off" in r for r in reasons)
    assert any("cpp" in r for r in reasons)
    assert any("does not define `add`" in r for r in reasons)
    assert result.best.code == CORRECT


async def test_critic_reply_without_a_score_is_reported(local_sandbox):
    model = ScriptedModel(handler=lambda req: "Looks fine to me." if is_critic(req) else block(CORRECT))
    rec = Recorder()
    result = await solve(ADD, model, local_sandbox, cfg(initial=1, rounds=0), on_event=rec)
    assert result.best.critique.score is None
    assert any("has no score" in n for n in result.notices)


async def test_completion_only_model_falls_back_to_sampling(local_sandbox):
    problem = ADD.model_copy(update={"starter_code": 'def add(a, b):\n    """Return a + b."""\n'})
    bodies = ["    return a - b\n", "    return a + b\n\n\nprint(add(1, 2))\n", "    return b + a\n"]
    model = ScriptedModel(responses=bodies, can_chat=False)
    rec = Recorder()
    result = await solve(problem, model, local_sandbox, cfg(max_calls=3), on_event=rec)
    assert all(r.kind == "complete" for r in model.requests)
    assert any("completion-only" in n for n in result.notices)
    assert result.best.execution.passed == 3
    assert "print(" not in result.best.code  # the rambling after the function was cut
    assert not any(e.type == "node_critiqued" for e in rec.events)


async def test_suspect_visible_test_is_flagged_not_chased(local_sandbox):
    problem = ADD.model_copy(update={"visible_tests": ADD.visible_tests + [
        TestCase(name="wrong", code="assert add(2, 2) == 5")]})  # a wrong visible test
    codes = [CORRECT, "def add(a, b):\n    return sum((a, b))\n", WRONG]
    model = ScriptedModel(handler=lambda req: critic_reply(req, score_pass=4) if is_critic(req) else block(codes.pop(0)))
    result = await solve(problem, model, local_sandbox, cfg(initial=3, rounds=0, parallel=1))
    assert result.suspect_tests == ["wrong"]
    assert result.node(result.ranking[0]).code != WRONG
    assert any("looks wrong" in n for n in result.notices)


async def test_replay_reproduces_the_ranking_exactly(local_sandbox, tmp_path):
    codes = [WRONG, SLOW, CORRECT, "def add(a, b):\n    return (a * 2 + b * 2) // 2\n"]

    def handler(req):
        if is_critic(req):
            return critic_reply(req, score_pass=4)
        n = sum(1 for r in model.requests if not is_critic(r)) - 1
        return block(codes[n % len(codes)])

    model = ScriptedModel(handler=handler)
    trace = tmp_path / "run.jsonl"
    config = cfg(initial=4, rounds=1, beam=2, branching=1, repeat_final=2)
    first = await solve(ADD, model, local_sandbox, config, trace=trace)
    lines = [json.loads(line) for line in trace.read_text().splitlines()]
    assert lines[0]["type"] == "header" and lines[0]["options"]["problem"] == "add"
    assert any(rec["type"] == "measurement" for rec in lines)
    second = await solve(ADD, ReplayModel(trace), local_sandbox, config, trace=tmp_path / "again.jsonl")
    assert second.ranking == first.ranking
    assert [second.node(i).code for i in second.ranking] == [first.node(i).code for i in first.ranking]
    # a different problem asks different questions: the trace cannot answer them
    other = ADD.model_copy(update={"statement": "Return a plus b, but differently."})
    with pytest.raises(ModelError, match="not in the trace|no recorded"):
        await solve(other, ReplayModel(trace), local_sandbox, config)



async def test_replaying_an_unfinished_run_stops_where_it_ended(local_sandbox, tmp_path):
    """A run that never finished (cancelled, crashed) leaves a trace without a result: its replay
    answers what was recorded, then ends like a spent budget, with honest counts and no error
    per missing answer."""
    codes = [WRONG, CORRECT, SLOW, WRONG + "# again\n", CORRECT + "# again\n", SLOW + "# again\n"]
    calls = {"n": 0}

    def handler(req):
        calls["n"] += 1
        return block(codes[(calls["n"] - 1) % len(codes)])

    config = cfg(method="bon", max_calls=6, parallel=1)
    trace = tmp_path / "run.jsonl"
    await solve(ADD, ScriptedModel(handler=handler), local_sandbox, config, trace=trace)
    lines = trace.read_text().splitlines()
    requests = [i for i, line in enumerate(lines) if json.loads(line)["type"] == "request"]
    kept = lines[: requests[2] + 1]                     # the run "died" after its third answer
    trace.write_text("\n".join(kept) + "\n")
    events = Recorder()
    replayed = await solve(ADD, ReplayModel(trace), local_sandbox, config, on_event=events)
    assert "the replayed run ended here" in replayed.stop_reason
    assert len(replayed.ranking) == 3 and replayed.budget["calls"] == 3
    assert not [e for e in events.events if e.type == "notice" and "no recorded answer" in e.message]
    # a finished run's trace is no budget: a request it lacks is still the clear error it was
    with pytest.raises(ModelError, match="no recorded"):
        full = tmp_path / "full.jsonl"
        await solve(ADD, ScriptedModel(handler=handler), local_sandbox, config, trace=full)
        await solve(ADD.model_copy(update={"statement": "Add them."}), ReplayModel(full), local_sandbox, config)


async def test_sampling_says_how_many_samples_were_really_drawn(local_sandbox):
    replies = [block(CORRECT), ModelError("the server closed the connection"), block(WRONG),
               ModelError("the server closed the connection")]
    result = await solve(ADD, ScriptedModel(responses=replies), local_sandbox, cfg(method="bon", max_calls=4,
                                                                                    parallel=1))
    assert result.stop_reason == "2 of 4 samples drawn (2 calls gave no answer)"

async def test_baselines_share_the_accounting(local_sandbox):
    model = ScriptedModel(handler=lambda req: block(WRONG if len(req.messages) < 3 else CORRECT))
    bon = await solve(ADD, model, local_sandbox, cfg(method="bon", max_calls=5))
    assert bon.budget["calls"] == 5 and len(bon.nodes) == 5
    assert not any(is_critic(r) for r in model.requests)

    model = ScriptedModel(handler=lambda req: block(CORRECT, "Step 1: restate. Step 2: examples."))
    cot = await solve(ADD, model, local_sandbox, cfg(method="cot", max_calls=5))
    assert cot.budget["calls"] == 1 and "step by step" in model.requests[0].messages[-1].content

    replies = [block(WRONG), "I subtracted instead of adding.", block(CORRECT)]
    model = ScriptedModel(responses=replies)
    refl = await solve(ADD, model, local_sandbox, cfg(method="reflexion", max_calls=10))
    assert refl.best.code == CORRECT and refl.budget["calls"] == 3
    assert "expected: 3" in model.requests[1].messages[-1].content  # the reflection saw the real report


async def test_unreachable_model_is_one_clear_error(local_sandbox):
    model = ScriptedModel(handler=lambda req: ModelError("cannot reach Ollama at http://127.0.0.1:1: start it with `ollama serve`"))
    with pytest.raises(ModelError, match="ollama serve"):
        await solve(ADD, model, local_sandbox, cfg())


async def test_problem_without_tests_is_unverified(local_sandbox):
    problem = Problem(id="hello", kind="stdio", statement="Print hello.")
    model = ScriptedModel(handler=lambda req: critic_reply(req) if is_critic(req) else block("print('hello')\n"))
    result = await solve(problem, model, local_sandbox, cfg(initial=1, rounds=0))
    assert result.unverified and result.best is not None
    assert any("unverified" in n for n in result.notices)


async def test_stdio_problem_and_json_document(local_sandbox, tmp_path):
    problem = Problem(id="sum", kind="stdio", statement="Print the sum of two integers.",
                      visible_tests=[TestCase(name="s1", input="1 2\n", output="3"),
                                     TestCase(name="s2", input="5 5\n", output="10")])
    code = "a, b = map(int, input().split())\nprint(a + b)\n"
    model = ScriptedModel(handler=lambda req: critic_reply(req) if is_critic(req) else block(code))
    result = await solve(problem, model, local_sandbox, cfg(initial=1, rounds=0))
    doc = result_json(result, tmp_path / "out.py", None)
    assert doc["schema"] == 1 and doc["best"]["visible_passed"] == 2
    assert set(doc["best"]) >= {"rank", "id", "visible_passed", "visible_total", "generated_passed", "cpu_ms",
                                "peak_memory_mb", "complexity", "critic_score", "critique", "code"}
    json.dumps(doc)  # serialisable


def test_token_counts_come_from_the_backend(local_sandbox):
    import asyncio
    reply = Completion(text=block(CORRECT), prompt_tokens=111, completion_tokens=22)
    model = ScriptedModel(handler=lambda req: reply)
    result = asyncio.run(solve(ADD, model, local_sandbox, cfg(initial=1, rounds=0, critic=False)))
    assert result.budget["prompt_tokens"] == 111 and result.budget["completion_tokens"] == 22


def test_trace_path_default_is_under_runs_dir(tmp_path):
    from assistant.modes.solve import default_trace_path
    path = default_trace_path(tmp_path, ADD, "orps")
    assert path.parent == tmp_path and path.name.endswith("-add-orps.jsonl")
    assert isinstance(path, Path)


async def test_generated_tests_are_run_and_trusted_by_agreement(local_sandbox):
    # visible tests cannot tell these apart; the generated tests can (one of them is wrong)
    problem = Problem(id="absval", kind="function", statement="Return the absolute value of x.", entry_point="absval",
                      visible_tests=[TestCase(name="v1", code="assert absval(3) == 3")])
    good = "def absval(x):\n    return x if x >= 0 else -x\n"
    good2 = "def absval(x):\n    return abs(x)\n"
    bad = "def absval(x):\n    return x\n"
    codes = [bad, good, good2]

    def handler(req):
        if is_critic(req):
            return json.dumps({"analysis": "ok", "suggestion": "", "score": 3, "done": False})
        if "meticulous software tester" in req.messages[0].content:
            return "```python\nassert absval(-2) == 2\nassert absval(0) == 0\nassert absval(-5) == 4\n```"
        return block(codes.pop(0))

    model = ScriptedModel(handler=handler)
    result = await solve(problem, model, local_sandbox, cfg(initial=3, rounds=0, parallel=1, generated_tests=True))
    assert [t.code for t in result.generated_tests] == ["assert absval(-2) == 2", "assert absval(0) == 0",
                                                         "assert absval(-5) == 4"]
    # the wrong test (-5 -> 4) is passed by nobody: it earns no trust; the right ones do
    trust = result.test_trust
    assert trust["gen-3"] < trust["gen-1"] and trust["gen-3"] < trust["gen-2"]
    best = result.best
    assert best.code in (good, good2)
    assert best.execution.generated_passed == 2
    assert result.node(result.ranking[-1]).code == bad


class NoisySandbox:
    """The real sandbox, with CPU times scaled by a fixed factor: what another run would measure."""

    def __init__(self, inner, factor):
        self.inner, self.factor = inner, factor
        self.name, self.image_id = inner.name, inner.image_id

    async def arun(self, job, on_result=None):
        report = await self.inner.arun(job)
        for r in report.results:
            if r.cpu_ms is not None:
                r.cpu_ms *= self.factor
                r.cpu_ms_runs = [x * self.factor for x in r.cpu_ms_runs]
            if r.peak_rss_kb:
                r.peak_rss_kb += int(1024 * self.factor)
        return report


async def test_replay_is_exact_even_when_timings_differ(local_sandbox, tmp_path):
    # reports in prompts carry CPU ms and MB; a replay must ask exactly what the run asked
    def handler(req):
        if is_critic(req):
            return critic_reply(req, score_pass=4)
        if "execution report" in req.messages[-1].content:
            return block(CORRECT)
        return block(WRONG)

    model = ScriptedModel(handler=handler)
    trace = tmp_path / "run.jsonl"
    config = cfg(initial=2, rounds=2, beam=1, branching=1, adaptive=False)
    first = await solve(ADD, model, NoisySandbox(local_sandbox, 3.0), config, trace=trace)
    assert any("execution report" in r.messages[-1].content and "ms CPU" in r.messages[-1].content
               for r in model.requests if not is_critic(r))
    again = await solve(ADD, ReplayModel(trace), NoisySandbox(local_sandbox, 0.1), config)
    assert again.ranking == first.ranking
    assert again.budget["calls"] == first.budget["calls"]


async def test_stop_control_ends_the_search_and_keeps_results(local_sandbox):
    from assistant.engine.search import SearchControl
    control = SearchControl()

    def handler(req):
        if sum(1 for r in model.requests if not is_critic(r)) >= 2:
            control.stop.set()  # the user presses stop while the second candidate is written
        return critic_reply(req) if is_critic(req) else block(WRONG + f"# {len(model.requests)}\n")

    model = ScriptedModel(handler=handler)
    result = await solve(ADD, model, local_sandbox, cfg(initial=2, rounds=3, parallel=1), control=control)
    assert result.stop_reason == "stopped by the user"
    assert len(result.ranking) >= 1 and result.budget["calls"] < 8


async def test_refine_continues_from_a_chosen_node(local_sandbox):
    from assistant.modes.solve import refine

    def handler(req):
        if is_critic(req):
            return critic_reply(req)
        if "execution report" in req.messages[-1].content:
            return block(CORRECT)
        return block(WRONG)

    model = ScriptedModel(handler=handler)
    first = await solve(ADD, model, local_sandbox, cfg(initial=1, rounds=0))
    assert first.best.code == WRONG
    more = await refine(ADD, model, local_sandbox, cfg(rounds=1, branching=1), first, "n0")
    ids = {n.id for n in more.nodes}
    assert "n0" in ids and "n1" in ids
    child = more.node("n1")
    assert child.parent_id == "n0" and child.round == 1 and child.code == CORRECT
    assert more.best_node_id == "n1"


async def test_pinned_and_pruned_nodes_steer_the_beam(local_sandbox):
    from assistant.engine.search import SearchControl
    codes = {0: CORRECT, 1: WRONG}

    def handler(req):
        if is_critic(req):
            return critic_reply(req)
        last = req.messages[-1].content
        if "execution report" in last:
            parent_wrong = "actual:   -1" in last
            return block(WRONG.replace("a - b", "a - b + 0" if parent_wrong else "a + b + 0"))
        return block(codes[sum(1 for r in model.requests if not is_critic(r)) - 1])

    model = ScriptedModel(handler=handler)
    control = SearchControl(pinned={"n1"}, pruned={"n0"})
    result = await solve(ADD, model, local_sandbox, cfg(initial=2, rounds=1, beam=1, branching=1, parallel=1,
                                                         adaptive=False), control=control)
    children = [n for n in result.nodes if n.parent_id is not None]
    assert children and all(n.parent_id == "n1" for n in children)  # the pinned node was refined, not n0


async def test_round_zero_runs_do_not_wait_for_generated_tests(local_sandbox):
    import asyncio
    problem = Problem(id="absval", kind="function", statement="Return the absolute value of x.", entry_point="absval",
                      visible_tests=[TestCase(name="v1", code="assert absval(3) == 3")])
    order = []

    async def handler(req):
        if is_critic(req):
            assert "Extra tests written by a model" not in req.messages[-1].content  # never timing-dependent
            return json.dumps({"analysis": "ok", "suggestion": "", "score": 3, "done": False})
        if "meticulous software tester" in req.messages[0].content:
            await asyncio.sleep(0.5)  # a slow test writer
            order.append("tests")
            return "```python\nassert absval(-2) == 2\n```"
        return block("def absval(x):\n    return abs(x)\n")

    model = ScriptedModel(handler=handler)

    def on_event(e):
        if e.type == "node_executed":
            order.append(f"ran {e.node_id} gen={e.generated_total}")

    result = await solve(problem, model, local_sandbox, cfg(initial=1, rounds=1, generated_tests=True), on_event=on_event)
    assert order.index("ran n0 gen=0") < order.index("tests")  # the candidate ran before the tests existed
    assert "ran n0 gen=1" in order                             # and was caught up on them afterwards
    assert result.node("n0").execution.generated_passed == 1


async def test_a_cancelled_search_leaves_no_task_behind(local_sandbox, caplog):
    """Cancelling a run (the TUI's second escape, or quitting) also cancels the test generation
    running beside it, and nothing is later reported as a never-retrieved task exception."""
    import asyncio
    import gc
    import logging

    writing_tests = asyncio.Event()

    async def handler(req):
        if "meticulous software tester" in req.messages[0].content:
            writing_tests.set()
            await asyncio.sleep(60)                      # still writing tests when the run is cancelled
        if is_critic(req):
            return critic_reply(req)
        return block(WRONG)

    model = ScriptedModel(handler=handler)
    before = asyncio.all_tasks()
    run = asyncio.create_task(solve(ADD, model, local_sandbox, cfg(initial=1, rounds=3, generated_tests=True)))
    await asyncio.wait_for(writing_tests.wait(), 30)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    await asyncio.sleep(0.05)
    assert asyncio.all_tasks() - before - {asyncio.current_task()} == set()
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        gc.collect()
        await asyncio.sleep(0)
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]
