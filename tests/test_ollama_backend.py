"""OllamaModel against a local stdlib HTTP server that speaks Ollama's native API."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from assistant.errors import UserError
from assistant.models import GenerationOptions, Message, ModelError, OllamaModel, open_model

LOCAL_MODELS = ["qwen2.5-coder:7b", "llama3.2:1b"]
PIECES = ["Hel", "lo", " world"]
SCHEMA = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}


class FakeOllama(BaseHTTPRequestHandler):
    """/api/chat and /api/generate stream NDJSON; /api/tags lists LOCAL_MODELS.

    Model names steer failures: unknown names get Ollama's 404, "broken" a 500, "midfail" an
    error object after the first chunk, "long" a final chunk with done_reason "length".
    """

    requests: list[tuple[str, dict]] = []

    def log_message(self, *args):  # keep test output clean
        pass

    def _json(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/api/tags":
            self._json(200, {"models": [{"name": m, "model": m, "size": 1000, "digest": "abc"}
                                        for m in LOCAL_MODELS]})
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append((self.path, body))
        model = body.get("model")
        if self.path not in ("/api/chat", "/api/generate"):
            return self._json(404, {"error": "not found"})
        if model == "broken":
            return self._json(500, {"error": "llama runner process has terminated: exit status 2"})
        if model not in LOCAL_MODELS + ["midfail", "long"]:
            return self._json(404, {"error": f"model '{model}' not found"})
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()

        def chunk(piece: str, **extra) -> None:
            data = {"model": model, "created_at": "2025-01-01T00:00:00Z", "done": False, **extra}
            if self.path == "/api/chat":
                data["message"] = {"role": "assistant", "content": piece}
            else:
                data["response"] = piece
            self.wfile.write(json.dumps(data).encode() + b"\n")
            self.wfile.flush()

        for i, piece in enumerate(PIECES):
            if model == "midfail" and i == 1:
                self.wfile.write(json.dumps({"error": "out of memory"}).encode() + b"\n")
                return
            chunk(piece)
        chunk("", done=True, done_reason="length" if model == "long" else "stop",
              total_duration=2_000_000_000, load_duration=100_000, prompt_eval_count=12,
              prompt_eval_duration=300_000_000, eval_count=3, eval_duration=1_500_000_000)


@pytest.fixture
def server():
    FakeOllama.requests = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeOllama)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_chat_streams_text_and_sends_every_option(server):
    model = OllamaModel("qwen2.5-coder:7b", host=server, keep_alive="30m")
    seen: list[str] = []
    opts = GenerationOptions(temperature=0.2, top_p=0.9, max_tokens=64, seed=7, stop=["```"],
                             json_schema=SCHEMA)
    result = await model.chat([Message(role="system", content="be brief"),
                               Message(role="user", content="2+2?")], opts, on_text=seen.append)
    await model.aclose()

    assert seen == PIECES
    assert result.text == "Hello world"
    assert (result.prompt_tokens, result.completion_tokens) == (12, 3)
    assert result.tokens_per_s == pytest.approx(2.0)  # eval_count / eval_duration * 1e9
    assert result.finish_reason == "stop"
    assert result.model == "qwen2.5-coder:7b"
    assert result.backend == "ollama:qwen2.5-coder:7b"

    [(path, body)] = FakeOllama.requests
    assert path == "/api/chat"
    assert body["stream"] is True
    assert body["messages"] == [{"role": "system", "content": "be brief"},
                                {"role": "user", "content": "2+2?"}]
    assert body["options"] == {"num_ctx": 8192, "temperature": 0.2, "top_p": 0.9, "seed": 7,
                               "num_predict": 64, "stop": ["```"]}
    assert body["format"] == SCHEMA
    assert body["keep_alive"] == "30m"


async def test_complete_uses_raw_generate_and_configured_context(server):
    model = open_model(f"ollama:llama3.2:1b?num_ctx=16384&host={server}")
    assert model.spec == "ollama:llama3.2:1b?num_ctx=16384"
    assert model.context_tokens == 16384
    result = await model.complete("def add(a, b):\n", GenerationOptions(temperature=0.0))
    await model.aclose()

    assert result.text == "Hello world"
    assert result.completion_tokens == 3
    [(path, body)] = FakeOllama.requests
    assert path == "/api/generate"
    assert body["raw"] is True
    assert body["prompt"] == "def add(a, b):\n"
    assert body["options"]["num_ctx"] == 16384
    assert body["options"]["temperature"] == 0.0
    # nothing is sent that was not asked for: no seed, no schema, server-default keep_alive
    assert "seed" not in body["options"] and "stop" not in body["options"]
    assert "format" not in body and "keep_alive" not in body


async def test_length_limit_is_reported(server):
    model = OllamaModel("long", host=server)
    result = await model.complete("x", GenerationOptions(max_tokens=3))
    await model.aclose()
    assert result.finish_reason == "length"


async def test_missing_model_says_how_to_pull_and_lists_local_models(server):
    model = OllamaModel("qwen3:8b", host=server)
    with pytest.raises(ModelError) as err:
        await model.chat([Message(role="user", content="hi")], GenerationOptions())
    await model.aclose()
    assert str(err.value) == (f"Ollama at {server} has no model 'qwen3:8b': run `ollama pull "
                              "qwen3:8b` (available here: llama3.2:1b, qwen2.5-coder:7b)")
    assert isinstance(err.value, UserError)  # the CLI prints it as one line
    assert "\n" not in str(err.value)


async def test_server_error_shows_ollamas_message(server):
    model = OllamaModel("broken", host=server)
    with pytest.raises(ModelError, match=r"\(HTTP 500\): llama runner process has terminated"):
        await model.complete("x", GenerationOptions())
    await model.aclose()


async def test_error_in_the_middle_of_the_stream(server):
    model = OllamaModel("midfail", host=server)
    seen: list[str] = []
    with pytest.raises(ModelError, match="out of memory"):
        await model.chat([Message(role="user", content="hi")], GenerationOptions(),
                         on_text=seen.append)
    await model.aclose()
    assert seen == ["Hel"]


async def test_connection_refused_says_start_ollama_serve():
    host = f"http://127.0.0.1:{free_port()}"
    model = OllamaModel("qwen2.5-coder:7b", host=host)
    for call in (model.chat([Message(role="user", content="hi")], GenerationOptions()),
                 model.complete("x", GenerationOptions())):
        with pytest.raises(ModelError) as err:
            await call
        assert str(err.value) == (f"cannot reach Ollama at {host}: start it with `ollama serve` "
                                  "(or set OLLAMA_HOST to where it runs)")
    await model.aclose()


async def test_host_comes_from_OLLAMA_HOST(server, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", server)
    model = open_model("ollama:qwen2.5-coder:7b")
    assert model.describe()["host"] == server
    result = await model.complete("x", GenerationOptions())
    await model.aclose()
    assert result.text == "Hello world"


def test_bad_options_are_one_line_errors():
    with pytest.raises(ModelError, match="unknown model option 'ctx'.*num_ctx"):
        open_model("ollama:x?ctx=4")
    with pytest.raises(ModelError, match="bad value for option 'num_ctx'"):
        open_model("ollama:x?num_ctx=big")
    with pytest.raises(ModelError, match="needs a model name"):
        open_model("ollama:")
