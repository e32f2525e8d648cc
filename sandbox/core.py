"""The sandbox facade: pick a backend, run jobs on the warm pool, judge the results."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable

from .api import ExecutionReport, Job, JudgeSpec, Limits, SandboxError, TestCase, TestResult, Verdict
from .checker import run_checker
from .config import SandboxSettings
from .judge import classify, compile_error_results, passed_run
from .worker import RunnerFailure, WorkerGone, WorkerLost, WorkerLostDuring

log = logging.getLogger(__name__)

LOCAL_WARNING = ("{reason}; candidates run in the LOCAL sandbox, with weaker isolation ({isolation}). "
                 "For full isolation start Docker and build the image once with `orps sandbox build`.")

FILTER_WARNING = ("the system-call filter is unavailable ({reason}): candidates can start processes, whose "
                  "CPU time and memory the verdicts then miss")

# a runner gets this long beyond the tests' own wall limits before it is declared lost
_SLACK_S = 10.0


class Sandbox:
    """Runs `Job`s on a pool of warm runners. Thread-safe; `arun` for asyncio callers."""

    def __init__(self, backend, warning: str | None = None):
        self.backend = backend
        self.warning = warning
        self.jobs_run = 0
        # built programs by language, flags and source, so a program compiles once per sandbox
        self._binaries: dict[str, str] = {}

    @property
    def name(self) -> str:
        return self.backend.name

    @property
    def image_id(self) -> str | None:
        image = getattr(self.backend, "image", None)
        return image.get("id") if image else None

    def start(self) -> None:
        """Start the warm pool now (otherwise it starts with the first job)."""
        self.backend.pool.start()

    def run(self, job: Job, on_result: Callable[[TestResult], None] | None = None) -> ExecutionReport:
        started = time.monotonic()
        report = ExecutionReport(kind=job.kind, backend=self.name, image=self.image_id)
        longest = max([job.limits.wall] + [t.limits.wall for t in job.tests if t.limits is not None])
        per_test_timeout = job.repeat * (longest + 3) + _SLACK_S
        payload = self._payload(job)

        def on_test(msg: dict) -> None:
            if on_result is not None and job.judge.checker is None and msg.get("type") == "test":
                i = msg["index"]
                test = job.tests[i]
                on_result(classify(job.kind, msg, test, test.limits or job.limits, test.judge or job.judge))

        pool = self.backend.pool
        lost: str | None = None
        messages: list[dict] = []
        next_index, gone_retries = 0, 0
        # a runner found dead before the job reached it runs the job once more on a fresh one; a
        # runner that reports its box damaged ends itself and the rest of the job goes on elsewhere
        while True:
            lost = None
            worker = pool.acquire()
            damaged = False
            try:
                report.runner_python = worker.info.get("python")
                if not worker.info.get("perf"):
                    report.instructions_unavailable = worker.info.get("perf_reason") or "not supported"
                report.seccomp = worker.info.get("seccomp")
                got = worker.execute({**payload, "start": next_index}, per_test_timeout, on_test)
                messages += got
                damaged = bool(got) and got[-1].get("type") == "damaged"
            except WorkerGone as exc:
                lost = str(exc)
                if gone_retries == 0:
                    gone_retries += 1
                    continue
            except WorkerLostDuring as exc:
                messages += exc.messages
                lost = _why_lost(worker)
            except RunnerFailure as exc:
                report.sandbox_error = str(exc)
            except WorkerLost as exc:
                lost = str(exc)
            finally:
                pool.release(worker)
            if damaged:
                log.info("sandbox worker %s replaced: %s", worker.name, messages[-1].get("reason"))
                next_index = messages[-1]["index"] + 1
                if next_index < len(job.tests) and not (job.stop_on_failure and _failed(messages, job)):
                    continue
            break
        self.jobs_run += 1

        tests_by_index: dict[int, dict] = {}
        for msg in messages:
            kind = msg.get("type")
            if kind == "compiled":
                report.compile_ms = round(msg.get("seconds", 0.0) * 1000, 1)
                report.compile_cached = bool(msg.get("cached"))
                if msg.get("binary"):
                    self._binaries[msg["key"]] = msg["binary"]
                    if job.language != "python":
                        from . import buildcache
                        buildcache.store(msg["key"], self._toolchain(job), msg["binary"])
                    while len(self._binaries) > 64:
                        self._binaries.pop(next(iter(self._binaries)))
            elif kind == "compile_error":
                err = msg["error"]
                if err.get("compiler"):
                    report.compile_error = compiler_diagnostics(err["message"])
                else:
                    where = f"line {err['line']}" if err.get("line") else "?"
                    report.compile_error = f"{err['type']} at {where}: {err['message']}"
                    if err.get("text"):
                        report.compile_error += f"\n    {err['text']}"
                report.results = compile_error_results(job.tests, report.compile_error)
            elif kind == "setup_error":
                report.sandbox_error = msg["error"]["message"]
            elif kind == "test":
                tests_by_index[msg["index"]] = msg

        if report.compile_error is None:
            checker = self._run_checker(job, tests_by_index) if job.judge.checker else {}
            for i, test in enumerate(job.tests):
                msg = tests_by_index.get(i)
                if msg is not None:
                    report.results.append(classify(job.kind, msg, test, test.limits or job.limits,
                                                   test.judge or job.judge, checker.get(i)))
                elif lost is not None:
                    first_missing = all(j in tests_by_index for j in range(i))
                    detail = (f"the sandbox runner was lost during this test ({lost})") if first_missing else \
                        "not run: the sandbox runner was lost during an earlier test"
                    report.results.append(TestResult(index=i, name=test.name, verdict=Verdict.RE, detail=detail))
                elif report.sandbox_error:
                    report.results.append(TestResult(index=i, name=test.name, verdict=Verdict.RE,
                                                     detail=report.sandbox_error))
                elif job.stop_on_failure:
                    break
            if lost is not None and not tests_by_index and not job.tests:
                report.sandbox_error = lost
        report.elapsed_ms = (time.monotonic() - started) * 1000
        return report

    async def arun(self, job: Job, on_result: Callable[[TestResult], None] | None = None) -> ExecutionReport:
        return await asyncio.to_thread(self.run, job, on_result)

    def _payload(self, job: Job) -> dict:
        tests = []
        for t in job.tests:
            own = {"limits": t.limits.for_runner()} if t.limits is not None else {}
            if job.kind == "function":
                tests.append({"code": t.code or "", **own})
            else:
                tests.append({"input": t.input or "", **({"argv": t.argv} if t.argv else {}), **own})
        extra = {}
        if job.language != "python":
            from .languages import language
            lang = language(job.language)
            if job.kind not in lang.kinds:
                raise SandboxError(f"{lang.name} programs cannot be judged on {job.kind} tests")
            command = lang.compile_command(job.sanitize) if lang.compiled else None
            extra["language"] = {"id": lang.id, "source": lang.source, "binary": lang.binary,
                                 "compile": command, "run": lang.run, "warm": lang.warm}
            extra["sanitize"] = job.sanitize
            if job.collect:
                extra["collect"] = job.collect
            if command is not None:
                key = hashlib.sha256(json.dumps([command, job.source]).encode("utf-8", "surrogatepass")).hexdigest()
                if key not in self._binaries:  # built by an earlier run?
                    from . import buildcache
                    found = buildcache.load(key, self._toolchain(job))
                    if found is not None:
                        self._binaries[key] = found
                if key in self._binaries:
                    extra["binary"] = self._binaries[key]
                extra["return_binary"] = True
        if job.kind == "command":
            if not job.argv and not all(t.argv for t in job.tests):
                raise ValueError("a command job needs argv (on the job or on every test)")
            extra = {"argv": job.argv, "copy_from": job.copy_from, "collect": job.collect, "env": job.env}
        return {**extra,
            "op": "run",
            "mode": job.kind,
            "source": job.source,
            "filename": job.filename,
            "module_name": job.module_name,
            "entry_point": job.entry_point,
            "setup": job.setup,
            "files": job.files,
            "tests": tests,
            "limits": job.limits.for_runner(),
            "repeat": job.repeat,
            "stop_on_failure": job.stop_on_failure,
            # a function test only needs the start of what the program printed
            "stdout_return_bytes": {"stdio": job.limits.output_bytes, "command": 1 << 20}.get(job.kind, 4096),
        }

    def _toolchain(self, job: Job) -> str:
        from . import buildcache
        from .languages import language
        lang = language(job.language)
        return buildcache.toolchain(self.name, self.image_id, (lang.compile or [""])[0])

    def _run_checker(self, job: Job, tests_by_index: dict[int, dict]) -> dict[int, tuple[bool, str]]:
        """Run the problem's checker (itself sandboxed) on each test whose program exited cleanly."""
        return run_checker(lambda check: Sandbox.run(self, check), job, tests_by_index)

    def languages(self) -> list[dict]:
        """Which languages of the table this sandbox can run, with their toolchain versions."""
        from .languages import languages
        table = list(languages().values())
        tests = [TestCase(name=lang.id, argv=lang.version or ["true"]) for lang in table]
        rep = self.run(Job(kind="command", tests=tests, limits=Limits(cpu_s=10, wall_s=20, memory_mb=512)))
        out = []
        for lang, r in zip(table, rep.results):
            text = (r.stdout or r.stderr).strip().splitlines()
            out.append({"id": lang.id, "name": lang.name, "available": r.passed,
                        "version": text[0][:120] if r.passed and text else None,
                        "compiled": lang.compiled, "extensions": lang.extensions})
        return out

    def status(self) -> dict:
        pool = self.backend.pool
        data = {"backend": self.name, "pool_size": pool.size, "live": pool.live, "idle": pool.idle,
                "replaced": pool.replaced, "jobs_run": self.jobs_run, "seccomp": pool.worker_info().get("seccomp"),
                "landlock": pool.worker_info().get("landlock")}
        if self.name == "docker":
            data["image"] = self.backend.image
            data["containers"] = [c.name for c in self.backend.containers()]
            data["reaped_stale"] = self.backend.reaped
        else:
            data["isolation"] = self.backend.isolation
        return data

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def compiler_diagnostics(text: str, max_lines: int = 25) -> str:
    """The compiler's first diagnostics: what a user (and the critic) needs to fix the build."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    errors = [i for i, ln in enumerate(lines) if ": error" in ln or "fatal error" in ln]
    start = max(0, errors[0] - 2) if errors else 0
    shown = lines[start:start + max_lines]
    more = len(lines) - start - len(shown)
    return "\n".join(shown) + (f"\n... ({more} more lines)" if more > 0 else "")


def _failed(messages: list[dict], job: Job) -> bool:
    for msg in messages:
        if msg.get("type") == "test":
            runs = msg.get("runs") or []
            if not runs or not passed_run(job.kind, runs[-1]):
                return True
    return False


def _why_lost(worker) -> str:
    why = worker.transport.describe_exit()
    return why or "connection lost"


def open_sandbox(settings: SandboxSettings | None = None, backend: str | None = None,
                 warn: Callable[[str], None] | None = None, image: str | None = None,
                 mounts: dict[str, str] | None = None) -> Sandbox:
    """The sandbox the settings ask for; `auto` falls back to local with a loud warning.

    `image` and `mounts` (host path -> sandbox path, read-only) are for modes that run a user's
    repository; locally a mount is visible at its host path (so use identical paths)."""
    settings = settings or SandboxSettings()
    choice = backend or settings.backend
    if choice not in ("auto", "docker", "local"):
        raise SandboxError(f"unknown sandbox backend {choice!r}: use docker, local or auto")
    from .seccomp import profiles
    filters, why = profiles()
    if filters is None and warn is not None:
        warn(FILTER_WARNING.format(reason=why))
    if choice in ("auto", "docker"):
        from .docker_backend import DockerBackend
        try:
            return Sandbox(DockerBackend(settings, image=image, mounts=mounts))
        except SandboxError as exc:
            if choice == "docker":
                raise
            reason = str(exc)
    from .local_backend import LocalBackend
    local = LocalBackend(settings, ro_binds=tuple(mounts or ()))
    warning = None
    if choice == "auto":
        warning = LOCAL_WARNING.format(reason=reason.split(":")[0].split(" (")[0], isolation=local.isolation)
        if warn is not None:
            warn(warning)
    return Sandbox(local, warning)


__all__ = ["Sandbox", "open_sandbox", "JudgeSpec"]
