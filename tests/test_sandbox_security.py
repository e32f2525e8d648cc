"""Hostile candidates: forged results, a killed runner, leftovers, escapes; container hardening."""

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


@pytest.mark.parametrize("name", sorted(selftest.FORGERIES))
def test_forged_results_never_pass(sandbox, name):
    result = run_fn(sandbox, selftest.FORGERIES[name])
    assert result.verdict is not Verdict.AC, result
    # the pool is healthy afterwards
    assert run_fn(sandbox, "def f():\n    return 42\n").verdict is Verdict.AC


def test_early_exit_is_reported_as_not_finished(sandbox):
    result = run_fn(sandbox, "import os\nos._exit(0)\n")
    assert result.verdict is Verdict.RE
    assert "before the test finished" in result.detail


def test_result_channel_tampering_is_detected(sandbox):
    src = ("import os\nfor fd in range(3, 64):\n    try:\n        os.write(fd, b'{\"nonce\": \"0\", \"outcome\": null}\\n')\n"
           "    except OSError:\n        pass\ndef f():\n    return 42\n")
    result = run_fn(sandbox, src)
    assert result.verdict is Verdict.RE
    assert "tampered" in result.detail


def test_introspection_that_could_reach_the_nonce_is_refused(sandbox):
    for src in ("import gc\ngc.get_objects()\ndef f():\n    return 42\n",
                "import ctypes\ndef f():\n    return 42\n",
                "open('/proc/self/mem', 'rb')\ndef f():\n    return 42\n"):
        result = run_fn(sandbox, src)
        assert result.verdict is Verdict.RE, (src, result)
        assert "not allowed" in (result.message or "") or "not allowed" in result.detail, result


def test_tracing_is_allowed_and_cannot_see_the_guard(sandbox):
    src = ("import sys\nseen = []\n"
           "def tracer(frame, event, arg):\n    seen.append(frame.f_code.co_name)\n    return None\n"
           "def f():\n    sys.settrace(tracer)\n    g()\n    sys.settrace(None)\n"
           "    return 42 if 'g' in seen and 'hook' not in seen else 0\n"
           "def g():\n    open('x', 'w').close()\n")  # open() raises an audit event mid-trace
    assert run_fn(sandbox, src).verdict is Verdict.AC


def test_killing_the_runner_fails_the_job_and_the_pool_recovers(sandbox):
    src = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\ndef f():\n    return 0\n"
    rep = sandbox.run(Job(kind="function", source=src,
                          tests=[TestCase(code="assert f() == 42"), TestCase(code="assert f() == 0")], limits=LIM))
    assert all(r.verdict is not Verdict.AC for r in rep.results[:1])
    assert run_fn(sandbox, "def f():\n    return 42\n").verdict is Verdict.AC


def _confinement(sb) -> str:
    """docker, or the local plan: bwrap | unshare | plain (what the machine permits)."""
    return "docker" if sb.name == "docker" else sb.backend.plan.kind


def test_leftover_processes_are_killed_between_tests(sandbox):
    if _confinement(sandbox) == "plain":
        pytest.skip("without a PID namespace the local sandbox cannot promise this (it says so)")
    ok, detail = selftest.case_leftovers(sandbox)
    assert ok, detail


def test_network_and_host_files_are_unreachable(sandbox):
    kind = _confinement(sandbox)
    if kind == "plain":
        pytest.skip("without namespaces the local sandbox cannot promise this (it says so)")
    ok, detail = selftest.case_network(sandbox)
    assert ok, detail
    if kind == "unshare":
        pytest.skip("without bubblewrap the local sandbox leaves the host filesystem visible (it says so)")
    ok, detail = selftest.case_read_host(sandbox)
    assert ok, detail
    ok, detail = selftest.case_write_outside(sandbox)
    assert ok, detail


def test_local_sandbox_describes_its_confinement_honestly(local_sandbox):
    text = local_sandbox.backend.isolation
    kind = _confinement(local_sandbox)
    assert {"bwrap": "read-only filesystem", "unshare": "VISIBLE", "plain": "rlimits only"}[kind] in text


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
        assert "no-new-privileges" in host["SecurityOpt"]
        assert host["PidsLimit"] > 0 and host["Memory"] > 0 and host["NanoCpus"] > 0
        assert host["Init"] is True
        assert not host.get("Binds") and not c.attrs.get("Mounts")
        assert config["User"] == "10001:10001"
        assert set(host["Tmpfs"]) == {"/work", "/tmp"}
        assert all("noexec" in opts for opts in host["Tmpfs"].values())


@pytest.mark.docker
@pytest.mark.slow
def test_selftest_contains_every_case_in_docker(docker_sandbox):
    report = selftest.run_selftest(docker_sandbox)
    failed = [c for c in report["cases"] if not c["contained"]]
    assert not failed, failed
    assert report["total"] == 11


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
    assert len(client.containers.list(all=True, filters={"label": label})) == 2
    os.kill(proc.pid, signal.SIGKILL)  # a host crash: no cleanup code runs
    proc.wait()
    deadline = time.monotonic() + 20
    while client.containers.list(all=True, filters={"label": label}) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert client.containers.list(all=True, filters={"label": label}) == []


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
