"""orps as users get it: build the wheel, install it (non-editable) into a fresh venv, and run every
entry point from there, from a working directory under /tmp and one under $HOME.

Steps: copy the tracked files to a clean directory and build the wheel; check that it holds every
package file (check_wheel.py); `pip install` it into a new venv (no test extras); then in each
working directory: `orps --version` and `--help`, `orps judge` on an example (local and default
sandbox), `orps solve` with a scripted model served over the OpenAI-compatible protocol and then
with the replay of that run's trace (same ranking), `orps fix` on a tiny git repository (then
`--apply 1`), `orps hint` on a tiny buggy program, bad input (one line, exit 2), and the TUI
started headless (Textual's run_test) and, when tmux is installed, as `orps tui` in a real
terminal, each quit with exit 0.

Runs with any python3 (stdlib only). Usage: python3 .ci/smoke.py [--work DIR] [--sandbox auto|docker|local]
Exits 0 when every check passed; prints one line per check and a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_wheel import missing_from_wheel  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------- the scripted model

RUNNING_MAX = ("def running_max(nums: list[int]) -> list[int]:\n    out, best = [], None\n    for x in nums:\n"
               "        best = x if best is None or x > best else best\n        out.append(best)\n    return out\n")
RECT_BUGGY = "def area(w, h):\n    return w + h\n\n\ndef perimeter(w, h):\n    return 2 * (w + h)\n"
RECT_TESTS = ("from rect import area, perimeter\n\n\ndef test_area():\n    assert area(2, 3) == 6\n\n\n"
              "def test_perimeter():\n    assert perimeter(2, 3) == 10\n")
RECT_FIX = "Multiply.\nrect.py\n<<<<<<< SEARCH\n    return w + h\n=======\n    return w * h\n>>>>>>> REPLACE\n"
GCD_BUGGY = "def gcd(a, b):\n    if b == 0:\n        return a\n    else:\n        return gcd(a % b, b)\n"
GCD_FIX = "def gcd(a, b):\n    if b == 0:\n        return a\n    else:\n        return gcd(b, a % b)\n"
GCD_WRONG = "def gcd(a, b):\n    if b == 0:\n        return a\n    else:\n        return gcd(a // b, b)\n"
GCD_TESTS = ("from gcd import gcd\n\n\ndef test_zero():\n    assert gcd(17, 0) == 17\n\n\n"
             "def test_equal():\n    assert gcd(13, 13) == 13\n\n\ndef test_coprime():\n    assert gcd(37, 600) == 1\n")
HINTS = {1: "Look at the recursive call at the end of your function: what happens when a and b are equal?",
         2: "Think about the order of the two values you pass along in the recursive call.",
         3: "Line 5 is where it goes wrong: the two arguments of the recursive call are in the wrong order.",
         4: "Line 5 should look like this, fill in the blank: `return gcd(b, ___)`"}


def scripted_reply(model: str, messages: list[dict]) -> str:
    """What the scripted model answers: chosen from the system prompt, as the test suite's models do.
    Model "student" (hint validation) repairs the program only when it is given a hint."""
    system = messages[0].get("content", "") if messages else ""
    last = messages[-1].get("content", "") if messages else ""
    if "strict reviewer of bug fixes" in system:
        return json.dumps({"analysis": "area multiplies now", "suggestion": "", "score": 5, "done": True})
    if "strict reviewer of programs" in system:
        return json.dumps({"analysis": "passes every test in one pass", "complexity": "O(n)", "suggestion": "",
                           "score": 5, "done": True})
    if "fixing failing tests in a git repository" in system:
        return RECT_FIX
    if "patient programming tutor" in system:
        level = next((n for n in (1, 2, 3, 4) if f"Write hint {n} of 4" in last), 1)
        return HINTS[level]
    if "repairs buggy programs" in system:
        fixed = model != "student" or "# Hints from your tutor" in last
        return f"The arguments are swapped.\n```python\n{GCD_FIX if fixed else GCD_WRONG}```\n"
    return f"Keep the running maximum.\n```python\n{RUNNING_MAX}```\n"


class ScriptedServer:
    """An OpenAI-compatible server (chat completions, SSE streaming) that answers with scripted_reply."""

    def __init__(self) -> None:
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests += 1
                text = scripted_reply(body.get("model", ""), body.get("messages") or [{"content": body.get("prompt", "")}])
                chat = self.path.endswith("/chat/completions")
                choice = {"index": 0, "delta": {"content": text}} if chat else {"index": 0, "text": text}
                events = [{"choices": [choice]}, {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
                          {"choices": [], "usage": {"prompt_tokens": 20, "completion_tokens": len(text.split())}}]
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for event in events:
                    self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.spec = f"openai:http://127.0.0.1:{self.httpd.server_address[1]}/v1#scripted"
        self.student_spec = self.spec.replace("#scripted", "#student")
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --------------------------------------------------------------------------- building and installing

def log(message: str) -> None:
    print(message, flush=True)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def build_wheel(work: Path, python: str) -> Path:
    """The wheel, built with `python` from a clean copy of the tracked files (no stale build/ dir);
    checked to hold every package file. Exits with the reason when either step fails."""
    src, dist = work / "src", work / "dist"
    for d in (src, dist):
        shutil.rmtree(d, ignore_errors=True)
    files = run(["git", "-C", str(ROOT), "ls-files", "-z"], check=True).stdout.split("\0")
    for rel in filter(None, files):
        if (ROOT / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, src / rel)
    proc = run([python, "-m", "pip", "-q", "--disable-pip-version-check", "wheel", "--no-deps", "-w", str(dist),
                str(src)])
    wheels = sorted(dist.glob("orps-*.whl"))
    if proc.returncode or not wheels:
        sys.exit(f"building the wheel failed: {proc.stderr.strip()[-2000:]}")
    missing, total = missing_from_wheel(wheels[0], ROOT)
    if missing:
        sys.exit(f"{wheels[0].name} lacks {len(missing)} of {total} package files: {', '.join(missing)}")
    return wheels[0]


def build_and_install(work: Path) -> Path:
    """The wheel installed into a new venv (no extras, not editable); the venv's bin directory."""
    venv = work / "venv"
    shutil.rmtree(venv, ignore_errors=True)
    t0 = time.monotonic()
    proc = run([sys.executable, "-m", "venv", str(venv)])
    if proc.returncode:
        sys.exit(f"python -m venv failed: {proc.stderr.strip()}")
    python = str(venv / "bin" / "python")
    wheel = build_wheel(work, python)
    log(f"ok   wheel {wheel.name} holds every package file ({time.monotonic() - t0:.0f}s)")
    t0 = time.monotonic()
    proc = run([python, "-m", "pip", "-q", "--disable-pip-version-check", "install", str(wheel)])
    if proc.returncode:
        sys.exit(f"pip install {wheel.name} failed: {proc.stderr.strip()[-2000:]}")
    where = run([python, "-c", "import assistant, tui; print(assistant.__file__)"], cwd=work).stdout.strip()
    if not where.startswith(str(venv)):
        sys.exit(f"the venv imports orps from {where or '(nowhere)'}, not from its own site-packages")
    log(f"ok   installed into a fresh venv, non-editable ({time.monotonic() - t0:.0f}s)")
    return venv / "bin"


# --------------------------------------------------------------------------- the checks

class Smoke:
    def __init__(self, bin_dir: Path, sandbox: str, model: str, student: str) -> None:
        self.bin = bin_dir
        self.sandbox = sandbox
        self.model = model
        self.student = student
        self.results: list[dict] = []
        self.last = time.monotonic()

    def orps(self, cwd: Path, *args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
        return run([str(self.bin / "orps"), *args], cwd=cwd, env=env or self.env, timeout=timeout, stdin=subprocess.DEVNULL)

    def check(self, where: str, name: str, ok: bool, proc: subprocess.CompletedProcess | None = None,
              detail: str = "") -> None:
        if not ok and proc is not None:
            detail = (detail + f" (exit {proc.returncode}) " + (proc.stderr or proc.stdout).strip()[-1500:]).strip()
        now = time.monotonic()
        seconds, self.last = now - self.last, now
        self.results.append({"where": where, "check": name, "ok": ok, "s": round(seconds, 1),
                             **({"detail": detail} if not ok else {})})
        log(f"{'ok  ' if ok else 'FAIL'} [{where}] {name} ({seconds:.1f}s)" + ("" if ok else f": {detail}"))

    def in_dir(self, where: str, cwd: Path) -> None:
        self.env = {**os.environ, "XDG_DATA_HOME": str(cwd / "data"), "XDG_CONFIG_HOME": str(cwd / "config"),
                    "NO_COLOR": "1", "COLUMNS": "160"}
        self.env.pop("ORPS_CONFIG", None)
        shutil.copytree(ROOT / "examples", cwd / "examples")
        sb = ["--sandbox", self.sandbox]

        p = self.orps(cwd, "--version")
        self.check(where, "orps --version", p.returncode == 0 and p.stdout.startswith("orps, version"), p)
        p = self.orps(cwd, "--help")
        self.check(where, "orps --help", p.returncode == 0 and "solve" in p.stdout and "judge" in p.stdout, p)

        for backend in dict.fromkeys(["local", self.sandbox]):
            p = self.orps(cwd, "judge", "examples/two-sum/solution.py", "-p", "examples/two-sum", "--json",
                          "--sandbox", backend)
            doc = _json(p)
            self.check(where, f"judge on an example ({backend} sandbox)",
                       p.returncode == 0 and doc.get("passed") == doc.get("total") == 3, p)

        problem = "examples/problems.jsonl#running-max"
        # a budget that does not bind: which calls fit in a binding one depends on timing
        search = ["--budget", "10", "--initial", "2", "--rounds", "0", "--no-generated-tests"]
        p = self.orps(cwd, "solve", problem, "--model", self.model, *search, "--json", "--out", "best.py",
                      "--trace", "run.jsonl", *sb)
        first = _json(p)
        self.check(where, "solve with a scripted model", p.returncode == 0 and (cwd / "best.py").is_file()
                   and bool(first.get("candidates")) and first["best"]["visible_passed"] == 2, p)
        p = self.orps(cwd, "solve", problem, "--model", "replay:run.jsonl", *search, "--json", "--out", "again.py",
                      *sb)
        again = _json(p)

        def summary(doc: dict) -> list:
            return [[(c["id"], c["critic_score"]) for c in doc.get("candidates", [])],
                    doc.get("budget", {}).get("calls"), doc.get("stop_reason")]
        self.check(where, "solve replaying the trace (same ranking, calls and stop)",
                   p.returncode == 0 and summary(again) == summary(first) and not again.get("notices"),
                   detail=f"recorded {summary(first)}, replayed {summary(again)}, notices {again.get('notices')}")

        repo = cwd / "rect-repo"
        repo.mkdir()
        (repo / "rect.py").write_text(RECT_BUGGY)
        (repo / "test_rect.py").write_text(RECT_TESTS)
        git = ["git", "-C", str(repo), "-c", "user.name=orps smoke", "-c", "user.email=smoke@localhost"]
        for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "rectangle helpers"]):
            run([*git, *cmd], check=True)
        p = self.orps(cwd, "fix", "rect-repo", "--model", self.model, "--budget", "3", "--initial", "1", "--rounds",
                      "0", "--json", *sb, timeout=900)
        doc = _json(p)
        self.check(where, "fix on a tiny repository", p.returncode == 0 and doc.get("status") == "fixed"
                   and (repo / "rect.py").read_text() == RECT_BUGGY, p)
        p = self.orps(cwd, "fix", "rect-repo", "--apply", "1")
        self.check(where, "fix --apply 1", p.returncode == 0 and "w * h" in (repo / "rect.py").read_text(), p)

        (cwd / "gcd.py").write_text(GCD_BUGGY)
        (cwd / "test_gcd.py").write_text(GCD_TESTS)
        (cwd / "gcd.md").write_text("# GCD\nReturn the greatest common divisor of a and b.\n")
        p = self.orps(cwd, "hint", "gcd.py", "--problem", "gcd.md", "--tests", "test_gcd.py", "--model", self.model,
                      "--student-model", self.student, "--k", "1", "--json", *sb)
        doc = _json(p)
        ladder = doc.get("ladder") or [{}]
        self.check(where, "hint on a tiny buggy program (validated by a student model)", p.returncode == 0
                   and doc.get("status") == "hinted" and ladder[0].get("text") == HINTS[1]
                   and ladder[0].get("kept") is True, p)

        p = self.orps(cwd, "solve", problem, "--out", "best.py", "--model", "replay:run.jsonl", *sb)
        self.check(where, "an existing --out file is kept (exit 2, one line)", p.returncode == 2
                   and p.stderr.strip().count("\n") == 0 and "--force" in p.stderr
                   and (cwd / "best.py").read_text() == first["best"]["code"], p)
        p = self.orps(cwd, "tui", "--model", "foo:bar")
        self.check(where, "orps tui --model foo:bar (exit 2, one line)",
                   p.returncode == 2 and p.stderr.strip().count("\n") == 0, p)

        self.tui_headless(where, cwd)
        if shutil.which("tmux"):
            self.tui_tmux(where, cwd)

    def tui_headless(self, where: str, cwd: Path) -> None:
        script = ("import asyncio\nfrom tui.app import OrpsApp\n\n"
                  "async def main():\n"
                  "    app = OrpsApp(companion_port=None)\n"
                  "    async with app.run_test(size=(100, 30)) as pilot:\n"
                  "        await pilot.pause()\n"
                  "        name = type(app.screen).__name__\n"
                  "        await pilot.press('ctrl+q')\n"
                  "    print(name, app.return_code)\n\n"
                  "asyncio.run(main())\n")
        p = run([str(self.bin / "python"), "-c", script], cwd=cwd, env=self.env, timeout=120)
        self.check(where, "TUI headless: start screen, then quit", p.returncode == 0
                   and p.stdout.split() == ["StartScreen", "0"], p)

    def tui_tmux(self, where: str, cwd: Path) -> None:
        session = f"orps-smoke-{os.getpid()}"
        exit_file = cwd / "tui-exit"
        env_prefix = f"XDG_DATA_HOME='{cwd}/data' XDG_CONFIG_HOME='{cwd}/config' TERM=xterm-256color"
        cmd = f"cd '{cwd}' && {env_prefix} '{self.bin}/orps' tui --no-companion; echo $? > '{exit_file}'"
        run(["tmux", "new-session", "-d", "-s", session, "-x", "100", "-y", "30", cmd], check=True)
        try:
            screen, shown = "", False
            for _ in range(60):
                time.sleep(0.5)
                screen = run(["tmux", "capture-pane", "-p", "-t", session]).stdout
                if exit_file.exists() or "Solve" in screen:
                    shown = "Solve" in screen
                    break
            run(["tmux", "send-keys", "-t", session, "C-q"])
            for _ in range(20):
                if exit_file.exists():
                    break
                time.sleep(0.5)
            code = exit_file.read_text().strip() if exit_file.exists() else "(still running)"
            self.check(where, "orps tui in a real terminal (tmux): start screen, ctrl+q, exit 0",
                       shown and code == "0", detail=f"exit {code}; screen: {' '.join(screen.split())[:600]}")
        finally:
            run(["tmux", "kill-session", "-t", session])


def _json(proc: subprocess.CompletedProcess) -> dict:
    try:
        doc = json.loads(proc.stdout)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "orps-smoke",
                    help="where the wheel and the venv go (default: $TMPDIR/orps-smoke)")
    ap.add_argument("--sandbox", choices=["auto", "docker", "local"], default="auto",
                    help="sandbox for solve, fix and hint (judge also always runs on the local one)")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    bin_dir = build_and_install(args.work)
    server = ScriptedServer()
    smoke = Smoke(bin_dir, args.sandbox, server.spec, server.student_spec)
    dirs = {"/tmp": Path(tempfile.mkdtemp(prefix="orps-smoke-", dir="/tmp")),
            "$HOME": Path(tempfile.mkdtemp(prefix=".orps-smoke-", dir=Path.home()))}
    try:
        for where, cwd in dirs.items():
            smoke.in_dir(where, cwd)
    finally:
        server.close()
        for cwd in dirs.values():
            shutil.rmtree(cwd, ignore_errors=True)
    failed = [r for r in smoke.results if not r["ok"]]
    print(json.dumps({"checks": len(smoke.results), "failed": len(failed), "sandbox": args.sandbox,
                      "model_requests": server.requests, "wall_s": round(time.monotonic() - started, 1),
                      "failures": failed}, indent=2))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
