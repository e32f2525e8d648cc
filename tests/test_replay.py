"""Traces, replay and the scripted test model."""

from __future__ import annotations

import json

import pytest

from assistant import __version__
from assistant.models import (Completion, GenerationOptions, Message, ModelError, ModelRequest,
                              RecordingModel, ReplayModel, ScriptedModel, TraceWriter, open_model)

CHAT = [Message(role="system", content="You write Python."),
        Message(role="user", content="Write a function that adds two numbers.")]


def answer_by_request(req: ModelRequest) -> str:
    """Answers that depend on the request, so a wrong replay match would show."""
    return f"{req.kind}:{req.text[:12]}:seed={req.options.seed}"


async def record(path, model, calls, options=None):
    """Run `calls` (kind, payload, options) through a RecordingModel; return the answers."""
    writer = TraceWriter(path, options=options or {"mode": "solve", "budget_calls": 10})
    recording = RecordingModel(model, writer)
    answers = []
    for kind, payload, opts in calls:
        if kind == "chat":
            answers.append(await recording.chat(payload, opts))
        else:
            answers.append(await recording.complete(payload, opts))
    writer.close()
    return answers


CALLS = [
    ("chat", CHAT, GenerationOptions(seed=1)),
    ("complete", "def add(a, b):\n", GenerationOptions(seed=1, temperature=0.2)),
    ("chat", CHAT, GenerationOptions(seed=2)),
    ("complete", "def add(a, b):\n", GenerationOptions(seed=1, temperature=0.2,
                                                       json_schema={"type": "object"})),
]


async def test_trace_file_layout(tmp_path):
    path = tmp_path / "runs" / "trace.jsonl"
    await record(path, ScriptedModel(handler=answer_by_request, name="fake"), CALLS)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    header, entries = lines[0], lines[1:]
    assert header["type"] == "header"
    assert header["spec"] == "fake"
    assert header["describe"]["backend"] == "scripted"
    assert header["capabilities"] == {"can_chat": True, "can_complete": True,
                                      "supports_json_schema": False, "context_tokens": 8192}
    assert header["options"] == {"mode": "solve", "budget_calls": 10}
    assert header["orps_version"] == __version__
    assert header["timestamp"].endswith("+00:00")
    assert [e["kind"] for e in entries] == ["chat", "complete", "chat", "complete"]
    assert [e["seq"] for e in entries] == [1, 2, 3, 4]
    assert entries[0]["request"]["messages"][1]["content"] == CHAT[1].content
    assert entries[0]["request"]["options"]["seed"] == 1
    assert entries[1]["request"]["prompt"] == "def add(a, b):\n"
    assert entries[1]["response"]["text"] == "complete:def add(a, b:seed=1"
    assert entries[1]["response"]["completion_tokens"] == 3  # scripted: whitespace words
    assert all(e["error"] is None and e["elapsed_s"] >= 0 for e in entries)
    assert entries[1]["key"] == ModelRequest(kind="complete", prompt="def add(a, b):\n",
                                             options=CALLS[1][2]).key()


async def test_replay_gives_identical_answers(tmp_path):
    path = tmp_path / "trace.jsonl"
    recorded = await record(path, ScriptedModel(handler=answer_by_request), CALLS)
    replay = open_model(f"replay:{path}")
    assert isinstance(replay, ReplayModel)
    seen: list[str] = []
    # a different order than recorded: matching is by request, not by position
    replayed = [await replay.complete(CALLS[3][1], CALLS[3][2]),
                await replay.chat(CALLS[2][1], CALLS[2][2], on_text=seen.append),
                await replay.chat(CALLS[0][1], CALLS[0][2]),
                await replay.complete(CALLS[1][1], CALLS[1][2])]
    assert [r.model_dump() for r in replayed] == [recorded[i].model_dump() for i in (3, 2, 0, 1)]
    assert seen == [recorded[2].text]
    assert replay.describe()["remaining"] == 0


async def test_identical_requests_are_answered_in_recorded_order(tmp_path):
    path = tmp_path / "trace.jsonl"
    same = ("complete", "def f():", GenerationOptions(temperature=1.0))  # no seed: varied answers
    model = ScriptedModel(responses=["first", "second", "third"])
    await record(path, model, [same, same, same])
    replay = ReplayModel(path)
    texts = [(await replay.complete("def f():", GenerationOptions(temperature=1.0))).text
             for _ in range(3)]
    assert texts == ["first", "second", "third"]
    with pytest.raises(ModelError, match=r"recorded 3 time\(s\) and all answers are used up"):
        await replay.complete("def f():", GenerationOptions(temperature=1.0))


async def test_unmatched_request_names_the_trace_and_previews_the_prompt(tmp_path):
    path = tmp_path / "trace.jsonl"
    await record(path, ScriptedModel(handler=answer_by_request), CALLS)
    replay = ReplayModel(path)
    long_prompt = "def solve():\n    # read the input and print the answer" + " x" * 100
    with pytest.raises(ModelError) as err:
        await replay.complete(long_prompt, GenerationOptions())
    message = str(err.value)
    assert message.startswith(f"{path}: no recorded answer for complete request "
                              "'def solve(): # read the input and print the answer x x")
    assert "\n" not in message and len(message) < len(str(path)) + 150
    # same prompt, other options: the message says which options differ
    with pytest.raises(ModelError, match=r"recorded with other options: seed 1 vs 99"):
        await replay.chat(CHAT, GenerationOptions(seed=99))


async def test_recorded_errors_replay_as_errors(tmp_path):
    path = tmp_path / "trace.jsonl"
    model = ScriptedModel(responses=[ModelError("cannot reach Ollama at http://h:1"), "ok"])
    writer = TraceWriter(path)
    recording = RecordingModel(model, writer)
    with pytest.raises(ModelError):
        await recording.complete("p", GenerationOptions(seed=3))
    assert (await recording.complete("p", GenerationOptions(seed=3))).text == "ok"
    writer.close()
    replay = ReplayModel(path)
    with pytest.raises(ModelError, match="cannot reach Ollama at http://h:1"):
        await replay.complete("p", GenerationOptions(seed=3))
    assert (await replay.complete("p", GenerationOptions(seed=3))).text == "ok"


async def test_capabilities_come_from_the_header(tmp_path):
    path = tmp_path / "trace.jsonl"
    base = ScriptedModel(responses=["x"], can_chat=False, context_tokens=4096)
    await record(path, base, [("complete", "p", GenerationOptions())])
    replay = ReplayModel(path)
    assert (replay.can_chat, replay.can_complete, replay.context_tokens) == (False, True, 4096)
    assert replay.describe()["recorded_spec"] == "scripted"
    with pytest.raises(ModelError, match="cannot chat"):
        await replay.chat(CHAT, GenerationOptions())


def test_broken_traces_are_one_line_errors(tmp_path):
    with pytest.raises(ModelError, match="no such trace file"):
        ReplayModel(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "header", "spec": "x"}\n{not json\n')
    with pytest.raises(ModelError, match=r"bad.jsonl:2: not a JSON line"):
        ReplayModel(bad)
    headless = tmp_path / "headless.jsonl"
    headless.write_text("")
    with pytest.raises(ModelError, match="not an orps trace"):
        ReplayModel(headless)


def test_request_key_is_canonical():
    a = ModelRequest(kind="complete", prompt="x", options=GenerationOptions(seed=1, stop=["\n"]))
    b = ModelRequest.model_validate_json(a.model_dump_json())
    assert a.key() == b.key()
    assert a.key() != ModelRequest(kind="complete", prompt="x",
                                   options=GenerationOptions(seed=2, stop=["\n"])).key()
    assert a.key() != ModelRequest(kind="complete", prompt="x ",
                                   options=GenerationOptions(seed=1, stop=["\n"])).key()


# -- ScriptedModel -----------------------------------------------------------------------------

async def test_scripted_model_answers_in_order_and_records_requests():
    model = ScriptedModel(responses=["one two", Completion(text="exact", completion_tokens=42)])
    pieces: list[str] = []
    first = await model.chat(CHAT, GenerationOptions(seed=5), on_text=pieces.append)
    second = await model.complete("prompt", GenerationOptions())
    assert (first.text, first.completion_tokens, first.backend) == ("one two", 2, "scripted")
    assert first.prompt_tokens == len(" ".join(m.content for m in CHAT).split())
    assert pieces == ["one", " two"]
    assert (second.text, second.completion_tokens) == ("exact", 42)
    assert [r.kind for r in model.requests] == ["chat", "complete"]
    assert model.requests[0].options.seed == 5
    assert model.last_request.prompt == "prompt"
    assert model.remaining == 0
    with pytest.raises(ModelError, match=r"no scripted response left for request #3"):
        await model.complete("more", GenerationOptions())


async def test_scripted_model_handler_can_be_async_and_raise():
    async def handler(req: ModelRequest):
        if "boom" in req.text:
            raise ModelError("scripted failure")
        return req.text.upper()

    model = ScriptedModel(handler=handler, can_chat=False)
    assert (await model.complete("hello", GenerationOptions())).text == "HELLO"
    with pytest.raises(ModelError, match="scripted failure"):
        await model.complete("boom", GenerationOptions())
    with pytest.raises(NotImplementedError):
        await model.chat(CHAT, GenerationOptions())
    assert len(model.requests) == 2
    with pytest.raises(ValueError, match="exactly one of"):
        ScriptedModel()
