"""Shared fixtures: sandboxes (local always; Docker when an engine and the image are there)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from sandbox import Sandbox, SandboxSettings

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"
FIX_REPOS = Path(__file__).resolve().parent / "fixtures" / "fix_repos"

# small repositories `orps fix` is tested on: their tests are data here, not part of this suite
collect_ignore_glob = ["fixtures/*"]


def fix_repo_files(name: str, changes: dict[str, str] | None = None) -> dict[str, str]:
    """The files of a fixture repository ({relative path: content}), with some replaced."""
    root = FIX_REPOS / name
    files = {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
             for p in sorted(root.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}
    files.update(changes or {})
    return files


def docker_ready(image: str = "orps-sandbox") -> str | None:
    """None when Docker and the sandbox image are usable, else the reason to skip."""
    if not shutil.which("docker"):
        return "no docker client"
    try:
        from sandbox.docker_backend import connect, image_info
        client = connect(timeout=5)
    except Exception as exc:  # engine down
        return f"no Docker engine: {exc}"
    if image_info(client, image) is None:
        return f"image {image} missing (orps sandbox build)"
    return None


@pytest.fixture(scope="session", autouse=True)
def _build_cache(tmp_path_factory):
    """Builds of compiled programs go to a cache of this session's own (first builds are real)."""
    import os
    old = os.environ.get("ORPS_BUILD_CACHE")
    os.environ["ORPS_BUILD_CACHE"] = str(tmp_path_factory.mktemp("builds"))
    yield
    if old is None:
        os.environ.pop("ORPS_BUILD_CACHE", None)
    else:
        os.environ["ORPS_BUILD_CACHE"] = old


@pytest.fixture(scope="session")
def local_sandbox():
    from sandbox.local_backend import LocalBackend
    sb = Sandbox(LocalBackend(SandboxSettings(pool_size=2)))
    yield sb
    sb.close()


@pytest.fixture(scope="session")
def docker_sandbox():
    reason = docker_ready()
    if reason:
        pytest.skip(reason)
    from sandbox.docker_backend import DockerBackend
    sb = Sandbox(DockerBackend(SandboxSettings(pool_size=2)))
    yield sb
    sb.close()


@pytest.fixture(params=["local", "docker"])
def sandbox(request):
    """Each test using this runs on both backends (Docker skipped when unavailable)."""
    if request.param == "docker":
        return request.getfixturevalue("docker_sandbox")
    return request.getfixturevalue("local_sandbox")


@pytest.fixture(scope="session")
def datasets() -> Path:
    if not DATASETS.is_dir():
        pytest.skip("../shared/datasets is not beside the checkout")
    return DATASETS


def docker_cli_ok() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False
