"""The sandbox facade: pick a backend, run jobs on the warm pool, judge the results."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from .api import ExecutionReport, Job, JudgeSpec, SandboxError, TestResult, Verdict
from .checker import run_checker
from .config import SandboxSettings
from .judge import classify, compile_error_results
from .worker import RunnerFailure, WorkerGone, WorkerLost, WorkerLostDuring

log = logging.getLogger(__name__)

LOCAL_WARNING = ("{reason}; candidates run in the LOCAL sandbox, with weaker isolation ({isolation}). "
                 "For full isolation start Docker and build the image once with `orps sandbox build`.")

# a runner gets this long beyond the tests' own wall limits before it is declared lost
_SLACK_S = 10.0


class Sandbox:
    """Runs `Job`s on a pool of warm runners. Thread-safe; `arun` for asyncio callers."""

    def __init__(self, backend, warning: str | None = None):
        self.backend = backend
        self.warning = warning
        self.jobs_run = 0

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
            if on_result is not None and job.judge.checker is None:
                i = msg["index"]
                test = job.tests[i]
                on_result(classify(job.kind, msg, test, test.limits or job.limits, test.judge or job.judge))

        pool = self.backend.pool
        lost: str | None = None
        for attempt in range(2):  # a runner found dead before the job reached it: once more, fresh
            lost = None
            worker = pool.acquire()
            try:
                report.runner_python = worker.info.get("python")
                if not worker.info.get("perf"):
                    report.instructions_unavailable = worker.info.get("perf_reason") or "not supported"
                messages = worker.execute(payload, per_test_timeout, on_test)
            except WorkerGone as exc:
                messages, lost = [], str(exc)
                if attempt == 0:
                    continue
            except WorkerLostDuring as exc:
                messages, lost = exc.messages, _why_lost(worker)
            except RunnerFailure as exc:
                messages, report.sandbox_error = [], str(exc)
            except WorkerLost as exc:
                messages, lost = [], str(exc)
            finally:
                pool.release(worker)
            break
        self.jobs_run += 1

        tests_by_index: dict[int, dict] = {}
        for msg in messages:
            kind = msg.get("type")
            if kind == "compile_error":
                err = msg["error"]
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
                    detail = (f"the sandbox runner was lost during this test ({lost}); "
                              "the program may have killed or stopped it") if first_missing else \
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
            if job.kind == "function":
                tests.append({"code": t.code or ""})
            else:
                tests.append({"input": t.input or "", **({"argv": t.argv} if t.argv else {})})
            if t.limits is not None:
                tests[-1]["limits"] = t.limits.for_runner()
        extra = {}
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
            "setup": job.setup,
            "files": job.files,
            "tests": tests,
            "limits": job.limits.for_runner(),
            "repeat": job.repeat,
            "stop_on_failure": job.stop_on_failure,
            # a function test only needs the start of what the program printed
            "stdout_return_bytes": {"stdio": job.limits.output_bytes, "command": 1 << 20}.get(job.kind, 4096),
        }

    def _run_checker(self, job: Job, tests_by_index: dict[int, dict]) -> dict[int, tuple[bool, str]]:
        """Run the problem's checker (itself sandboxed) on each test whose program exited cleanly."""
        return run_checker(lambda check: Sandbox.run(self, check), job, tests_by_index)

    def status(self) -> dict:
        pool = self.backend.pool
        data = {"backend": self.name, "pool_size": pool.size, "live": pool.live, "idle": pool.idle,
                "replaced": pool.replaced, "jobs_run": self.jobs_run}
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
