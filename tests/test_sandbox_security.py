"""Hostile candidates: forged verdicts, attacks on the runner, hidden work, leftover state,
escapes; container and local hardening. Each class of attack is a selftest case (the same
programs `orps sandbox selftest` runs), checked on every backend for what that backend promises."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from sandbox import Job, Limits, SandboxSettings, TestCase, Verdict
from sandbox import selftest

from .conftest import REPO, docker_ready

LIM = Limits(cpu_s=1.0, wall_s=2.0, memory_mb=128)


def run_fn(sb, source, test="assert f() == 42"):
    rep = sb.run(Job(kind="function", source=source, tests=[TestCase(code=test)], limits=LIM))
    return rep.results[0]


def _confinement(sb) -> str:
    """docker, or the local plan: bwrap | unshare | plain (what the machine permits)."""
    return "docker" if sb.name == "docker" else sb.backend.plan.kind


# what each confinement does NOT promise (the selftest reports these as not contained, and the
# README's Sandbox section says so); everything else is promised everywhere
NOT_PROMISED = {
    "docker": set(),
    "bwrap": set(),
    "unshare": {"reading host files", "writing outside the work dir", "leaving files and IPC objects behind"},
    "plain": {"reading host files", "writing outside the work dir", "leaving files and IPC objects behind",
              "opening a network connection", "leaving processes behind"},
}
FAST_CASES = sorted(set(selftest.CASES) - {"stopping the runner", "sleeping past the wall limit",
                                            "hiding work outside the measured process", "infinite loop",
                                            "caching answers across repeated runs"})


@pytest.mark.parametrize("name", FAST_CASES)
def test_selftest_case_is_contained(sandbox, name):
    kind = _confinement(sandbox)
    if name in NOT_PROMISED[kind]:
        pytest.skip(f"the {kind} local sandbox does not promise this (it says so)")
    ok, detail = selftest.CASES[name](sandbox)
    assert ok, detail


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(selftest.CASES) - set(FAST_CASES)))
def test_slow_selftest_case_is_contained(sandbox, name):
    ok, detail = selftest.CASES[name](sandbox)
    assert ok, detail


@pytest.mark.parametrize("name", sorted(selftest.FORGERIES))
def test_forged_results_never_pass(sandbox, name):
    result = run_fn(sandbox, selftest.FORGERIES[name])
    assert result.verdict is not Verdict.AC, result
    # the pool is healthy afterwards
    assert run_fn(sandbox, "def f():\n    return 42\n").verdict is Verdict.AC


def test_early_exit_is_reported_as_not_finished(sandbox):
    for src in ("import os\nos._exit(0)\n", "import os\ndef f():\n    os._exit(0)\n",
                "import sys\ndef f():\n    sys.exit(0)\n"):
        result = run_fn(sandbox, src)
        assert result.verdict is Verdict.RE, (src, result)
        assert "ended" in result.detail or "exit" in result.detail, result.detail


def test_tests_run_with_the_real_builtins_but_the_entry_point_is_the_solutions(sandbox):
    # MBPP/126 names its function `sum`: the test means the solution's; `abs` is the real one
    src = "def sum(a, b):\n    return 6\ndef abs(x):\n    return 0\n"
    rep = sandbox.run(Job(kind="function", source=src, entry_point="sum", limits=LIM,
                          tests=[TestCase(code="assert sum(10, 15) == 6"), TestCase(code="assert abs(-3) == 3")]))
    assert [r.verdict for r in rep.results] == [Verdict.AC, Verdict.AC]


def test_starting_a_process_is_a_clear_runtime_error(sandbox):
    for src in ("import os\nos.fork()\n", "import subprocess\nsubprocess.run(['true'])\n",
                "import multiprocessing\nmultiprocessing.Pool(2).map(abs, [1])\n", "import os\nos.system('true')\n"):
        rep = sandbox.run(Job(kind="stdio", source=src, tests=[TestCase(input="", output="")], limits=LIM))
        r = rep.results[0]
        assert r.verdict is Verdict.RE and "start a process" in r.detail, (src, r)
    assert rep.seccomp == "active"


def test_a_candidate_cannot_signal_or_relimit_anything_but_itself(sandbox):
    src = ("import os, signal, resource\nrefused = 0\n"
           "for call in (lambda: os.kill(1, signal.SIGSTOP), lambda: os.kill(os.getppid(), signal.SIGSTOP),\n"
           "             lambda: os.kill(-1, signal.SIGKILL), lambda: os.kill(0, signal.SIGKILL),\n"
           "             lambda: resource.prlimit(1, resource.RLIMIT_NOFILE, (3, 3)),\n"
           "             lambda: os.setpriority(os.PRIO_USER, 0, 19)):\n"
           "    try:\n        call()\n    except OSError:\n        refused += 1\n"
           "signal.signal(signal.SIGUSR1, lambda *a: print('own signal'))\n"
           "os.kill(os.getpid(), signal.SIGUSR1)\nprint(refused)\n")
    rep = sandbox.run(Job(kind="stdio", source=src, tests=[TestCase(input="", output="own signal\n6")], limits=LIM))
    assert rep.results[0].verdict is Verdict.AC, rep.results[0]


def test_killing_the_runner_fails_the_job_and_the_pool_recovers(sandbox):
    src = "import os, signal\nos.kill(1, signal.SIGKILL)\ndef f():\n    return 0\n"
    rep = sandbox.run(Job(kind="function", source=src,
                          tests=[TestCase(code="assert f() == 42"), TestCase(code="assert f() == 0")], limits=LIM))
    assert rep.results[0].verdict is not Verdict.AC
    assert run_fn(sandbox, "def f():\n    return 42\n").verdict is Verdict.AC


def test_the_runner_is_the_init_of_its_namespace(sandbox):
    sandbox.start()
    worker = sandbox.backend.pool.acquire()
    try:
        info = worker.info
    finally:
        sandbox.backend.pool.release(worker)
    if _confinement(sandbox) == "plain":
        assert info["ns_init"] is False
    else:
        assert info["pid"] == 1 and info["ns_init"] is True


def test_a_damaged_worker_is_replaced_and_the_job_goes_on():
    """A runner that cannot restore a clean box reports itself damaged after the test and ends;
    the host replaces it and runs the rest of the job on a fresh worker."""
    from sandbox import Sandbox
    from sandbox.worker import Pool

    started = []

    class FakeTransport:
        def alive(self):
            return True

        def close(self):
            pass

    class FakeWorker:
        def __init__(self):
            self.name, self.jobs, self.broken, self.transport = f"w{len(started)}", 0, False, FakeTransport()
            self.info = {"python": "3", "perf": False, "seccomp": "active"}
            started.append(self)

        def execute(self, payload, timeout, on_test):
            run = {"wall_s": 0.01, "cpu_s": 0.01, "max_rss_kb": 1000, "stdout": "ok\n", "stdout_bytes": 3}
            out = []
            for i in range(payload["start"], len(payload["tests"])):
                out.append({"type": "test", "index": i, "runs": [dict(run)]})
                if len(started) == 1 and i == 0:  # the first worker is damaged by test 0
                    self.broken = True
                    out.append({"type": "damaged", "index": 0, "reason": "could not empty /tmp"})
                    return out
            return out

        def close(self):
            pass

    class FakeBackend:
        name = "fake"
        pool = Pool(FakeWorker, 1)

        def close(self):
            self.pool.close()

    sb = Sandbox(FakeBackend())
    rep = sb.run(Job(kind="stdio", source="print('ok')", limits=LIM,
                     tests=[TestCase(input="", output="ok")] * 3))
    assert [r.verdict for r in rep.results] == [Verdict.AC] * 3
    assert len(started) >= 2 and started[0].broken
    sb.close()


def test_local_sandbox_describes_its_confinement_honestly(local_sandbox):
    text = local_sandbox.backend.isolation
    kind = _confinement(local_sandbox)
    assert {"bwrap": "only system directories", "unshare": "VISIBLE", "plain": "rlimits only"}[kind] in text


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["unshare", "plain"])
def test_weaker_local_confinements_report_exactly_what_they_miss(kind):
    from sandbox import Sandbox
    from sandbox.local_backend import LocalBackend, local_plan
    if local_plan((kind,)).kind != kind:
        pytest.skip(f"{kind} does not work on this machine")
    sb = Sandbox(LocalBackend(SandboxSettings(pool_size=1), confinement=(kind,)))
    try:
        names = sorted(set(selftest.CASES) - {"stopping the runner", "sleeping past the wall limit", "infinite loop"})
        report = selftest.run_selftest(sb, names)
    finally:
        sb.close()
    missed = {c["name"] for c in report["cases"] if not c["contained"]}
    assert missed <= NOT_PROMISED[kind], [c for c in report["cases"] if not c["contained"]]


def test_local_sandbox_leaves_nothing_running_after_close():
    from sandbox import Sandbox
    from sandbox.local_backend import LocalBackend
    sb = Sandbox(LocalBackend(SandboxSettings(pool_size=2)))
    sb.start()
    # a candidate that tries to outlive the run (stopping itself, sleeping)
    sb.run(Job(kind="stdio", source="import os, signal, time\nos.kill(os.getpid(), signal.SIGSTOP)\n",
               tests=[TestCase(input="", output="")], limits=Limits(cpu_s=1, wall_s=1, memory_mb=64)))
    pids = [w.transport.proc.pid for w in list(sb.backend.pool._all)]
    inner = [w.transport.inner_pid for w in list(sb.backend.pool._all) if w.transport.inner_pid]
    work = sb.backend.work_root
    assert os.stat(work).st_mode & 0o077 in (0, 0o011)  # never world-writable
    sb.close()
    time.sleep(0.3)
    for pid in pids + inner:
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z", pid
    assert not os.path.exists(work)


@pytest.mark.docker
def test_container_hardening(docker_sandbox):
    docker_sandbox.start()
    containers = docker_sandbox.backend.containers()
    assert containers
    for c in containers:
        c.reload()
        host = c.attrs["HostConfig"]
        config = c.attrs["Config"]
        assert host["ReadonlyRootfs"] is True
        assert host["CapDrop"] == ["ALL"] and not host.get("CapAdd")
        assert host["NetworkMode"] == "none"
        assert host["IpcMode"] == "private"
        assert "no-new-privileges" in host["SecurityOpt"]
        assert host["PidsLimit"] > 0 and host["Memory"] > 0 and host["NanoCpus"] > 0
        assert not host.get("Init")  # the runner itself is PID 1
        assert not host.get("Binds") and not c.attrs.get("Mounts")
        assert config["User"] == "10001:10001"
        assert set(host["Tmpfs"]) == {"/work", "/tmp"}
        assert all("size=" in opts and "nosuid" in opts for opts in host["Tmpfs"].values())
        assert "noexec" in host["Tmpfs"]["/tmp"]


@pytest.mark.docker
@pytest.mark.slow
def test_selftest_contains_every_case_in_docker(docker_sandbox):
    report = selftest.run_selftest(docker_sandbox)
    failed = [c for c in report["cases"] if not c["contained"]]
    assert not failed, failed
    assert report["total"] == len(selftest.CASES)


@pytest.mark.docker
def test_containers_removed_on_close_and_recycled(tmp_path):
    reason = docker_ready()
    if reason:
        pytest.skip(reason)
    from sandbox import Sandbox
    from sandbox.docker_backend import DockerBackend
    sb = Sandbox(DockerBackend(SandboxSettings(pool_size=1, jobs_per_worker=2)))
    job = Job(kind="stdio", source="print(input())", tests=[TestCase(input="x", output="x")], limits=LIM)
    names = set()
    for _ in range(3):
        assert sb.run(job).all_passed
        names |= {c.name for c in sb.backend.containers()}
    assert sb.backend.pool.replaced >= 1 and len(names) >= 2  # recycled after 2 jobs
    sb.close()
    time.sleep(0.5)
    assert sb.backend.containers() == []


@pytest.mark.docker
def test_containers_go_away_when_the_owner_is_killed():
    reason = docker_ready()
    if reason:
        pytest.skip(reason)
    script = textwrap.dedent("""
        import sys, time
        from sandbox import Sandbox, SandboxSettings
        from sandbox.docker_backend import DockerBackend
        sb = Sandbox(DockerBackend(SandboxSettings(pool_size=2)))
        sb.start()
        print('ready', flush=True)
        time.sleep(120)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    import docker
    client = docker.from_env()
    label = f"org.orps.owner={proc.pid}"

    def labelled():
        while True:  # listing inspects each container: one removed meanwhile is simply gone
            try:
                return client.containers.list(all=True, filters={"label": label})
            except docker.errors.NotFound:
                continue

    assert len(labelled()) == 2
    os.kill(proc.pid, signal.SIGKILL)  # a host crash: no cleanup code runs
    proc.wait()
    deadline = time.monotonic() + 20
    while labelled() and time.monotonic() < deadline:
        time.sleep(0.25)
    assert labelled() == []


@pytest.mark.docker
def test_stale_containers_are_reaped_at_start():
    reason = docker_ready()
    if reason:
        pytest.skip(reason)
    import socket

    import docker

    from sandbox.config import LABEL
    from sandbox.docker_backend import HOST_LABEL, OWNER_LABEL, DockerBackend
    client = docker.from_env()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that no longer runs
    stale = client.containers.create("orps-sandbox", command=["sleep", "300"],
                                     labels={LABEL: "1", OWNER_LABEL: str(dead.pid), HOST_LABEL: socket.gethostname()})
    try:
        backend = DockerBackend(SandboxSettings(pool_size=1))
        assert backend.reaped >= 1
        assert client.containers.list(all=True, filters={"id": stale.id}) == []
        backend.close()
    finally:
        try:
            stale.remove(force=True)
        except docker.errors.NotFound:
            pass


@pytest.mark.docker
def test_closing_one_sandbox_leaves_another_in_the_same_process_alone(docker_sandbox):
    from sandbox import Sandbox
    from sandbox.docker_backend import DockerBackend
    docker_sandbox.start()
    other = Sandbox(DockerBackend(SandboxSettings(pool_size=1)))
    other.start()
    other.close()
    assert docker_sandbox.backend.containers()  # still there
    assert run_fn(docker_sandbox, "def f():\n    return 42\n").verdict is Verdict.AC


def test_a_runner_that_died_while_idle_is_replaced_before_the_next_job(sandbox):
    sandbox.start()
    pool = sandbox.backend.pool
    worker = pool.acquire()
    if sandbox.name == "docker":
        worker.transport.container.kill()
        time.sleep(1.0)  # the engine closes the attach stream
    else:
        worker.transport.proc.kill()
        worker.transport.proc.wait()
    pool.release(worker)  # back in the pool, dead
    for _ in range(pool.size + 1):  # whichever worker each job gets, every job runs
        assert run_fn(sandbox, "def f():\n    return 42\n").verdict is Verdict.AC
