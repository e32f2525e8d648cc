"""Competitive Companion listener: the browser extension POSTs a problem's JSON to a local port.

Each problem received is saved under the data directory (companion/NAME.json) and parsed by the
same loader as `orps solve NAME.json`, so a pushed problem can be re-opened later like any file.
The server listens on 127.0.0.1 only, on a thread of its own; results reach the app through the
callbacks, which must be thread-safe (the app posts a message).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from assistant.config import data_dir
from assistant.engine.programmer import slug
from assistant.errors import UserError
from assistant.problems import Problem, load_problem

HOST = "127.0.0.1"
MAX_BODY = 8 << 20  # a problem with large samples is a few hundred KB

OnProblem = Callable[[Problem, Path], None]
OnError = Callable[[str], None]


def default_inbox() -> Path:
    return data_dir() / "companion"


def save_and_load(body: bytes, inbox: Path) -> tuple[Problem, Path]:
    """Store one pushed problem as inbox/NAME.json and load it; bad input is a UserError."""
    try:
        obj = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise UserError(f"Competitive Companion sent something that is not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise UserError("Competitive Companion sent JSON that is not a problem object")
    name = slug(str(obj.get("name") or "problem"))
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / f"{name}.json"
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return load_problem(str(path)), path


class CompanionListener:
    def __init__(self, on_problem: OnProblem, on_error: OnError, port: int, inbox: Path | None = None):
        self.on_problem = on_problem
        self.on_error = on_error
        self.requested_port = port
        self.inbox = inbox or default_inbox()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int | None:
        return self._server.server_address[1] if self._server is not None else None

    def start(self) -> int:
        """Bind and serve; the port in use is returned (0 asks for any free port)."""
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    length = -1
                if length <= 0 or length > MAX_BODY:
                    self._reply(400, "expected a JSON body of at most 8 MB")
                    listener.on_error("Competitive Companion: a request without a usable JSON body was ignored")
                    return
                body = self.rfile.read(length)
                try:
                    problem, path = save_and_load(body, listener.inbox)
                except UserError as exc:
                    self._reply(400, str(exc))
                    listener.on_error(str(exc))
                    return
                self._reply(200, f"received {problem.id}")
                listener.on_problem(problem, path)

            def do_GET(self) -> None:  # noqa: N802
                self._reply(200, "orps is listening for Competitive Companion")

            def _reply(self, code: int, text: str) -> None:
                data = (text + "\n").encode("utf-8")
                self.send_response(code)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args) -> None:  # the TUI owns the terminal
                pass

        try:
            self._server = ThreadingHTTPServer((HOST, self.requested_port), Handler)
        except OSError as exc:
            raise UserError(f"Competitive Companion listener: cannot listen on {HOST}:{self.requested_port} "
                            f"({exc.strerror or exc}); another tool may use the port - change it in settings") \
                from None
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="orps-companion", daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
