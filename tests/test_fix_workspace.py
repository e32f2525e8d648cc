"""The user's repository: snapshots that include uncommitted work, applying and committing patches."""

from __future__ import annotations

import git
import pytest

from assistant.errors import UserError
from assistant.modes.fix.workspace import apply_patch, materialize, snapshot

CALC = "def add(a, b):\n    return a - b\n"
FIXED = "def add(a, b):\n    return a + b\n"


@pytest.fixture()
def repo(tmp_path):
    path = materialize({"calc.py": CALC, "notes.txt": "v1\n", ".gitignore": "build/\n",
                        "test_calc.py": "from calc import add\n\ndef test_add():\n    assert add(1, 2) == 3\n"},
                       tmp_path / "repo")
    return path


def test_snapshot_copies_uncommitted_and_untracked_work_but_not_ignored_files(repo):
    (repo / "notes.txt").write_text("v2, not committed\n")
    (repo / "extra.py").write_text("X = 1\n")
    (repo / "build").mkdir()
    (repo / "build" / "out.bin").write_text("ignored\n")
    head = git.Repo(repo).head.commit.hexsha
    snap = snapshot(repo)
    try:
        assert snap.head == head and snap.branch in ("master", "main")
        assert snap.dirty and snap.modified == ["notes.txt"] and snap.untracked == ["extra.py"]
        assert (snap.copy_dir / "notes.txt").read_text() == "v2, not committed\n"
        assert (snap.copy_dir / "extra.py").read_text() == "X = 1\n"
        assert not (snap.copy_dir / "build").exists() and not (snap.copy_dir / ".git").exists()
        assert snap.copy_dir != repo
    finally:
        snap.cleanup()
    # the user's work is where it was
    assert (repo / "notes.txt").read_text() == "v2, not committed\n" and (repo / "build" / "out.bin").exists()
    assert git.Repo(repo).head.commit.hexsha == head


def test_not_a_git_repository_is_one_clear_error(tmp_path):
    (tmp_path / "plain").mkdir()
    with pytest.raises(UserError, match="not a git repository"):
        snapshot(tmp_path / "plain")
    with pytest.raises(UserError, match="no such directory"):
        snapshot(tmp_path / "missing")


def test_apply_writes_the_patch_and_keeps_other_uncommitted_work(repo):
    (repo / "notes.txt").write_text("my local edit\n")
    result = apply_patch(repo, {"calc.py": (CALC, FIXED)})
    assert result.files == ["calc.py"] and result.commit is None
    assert (repo / "calc.py").read_text() == FIXED
    assert (repo / "notes.txt").read_text() == "my local edit\n"


def test_apply_refuses_over_conflicting_local_changes(repo):
    (repo / "calc.py").write_text(CALC + "# edited after the run\n")
    with pytest.raises(UserError, match=r"calc.py: changed since the patch was made"):
        apply_patch(repo, {"calc.py": (CALC, FIXED)})
    assert (repo / "calc.py").read_text() == CALC + "# edited after the run\n"  # nothing written


def test_apply_and_commit_on_a_new_branch_commits_only_the_patch(repo):
    r = git.Repo(repo)
    start = r.active_branch.name
    (repo / "notes.txt").write_text("uncommitted notes\n")
    (repo / "staged.py").write_text("S = 1\n")
    r.git.add("staged.py")
    result = apply_patch(repo, {"calc.py": (CALC, FIXED)}, commit=True,
                         message="Fix 1 failing test: test_add\n\nThe sign was wrong.\n", branch_hint="test_add")
    assert result.branch == "orps/fix-test_add" and r.active_branch.name == result.branch
    commit = r.head.commit
    assert commit.hexsha == result.commit and commit.message.startswith("Fix 1 failing test: test_add")
    assert sorted(commit.stats.files) == ["calc.py"]            # nothing else went into the commit
    assert commit.parents[0].hexsha == r.heads[start].commit.hexsha
    assert (repo / "notes.txt").read_text() == "uncommitted notes\n"  # still there, still uncommitted
    assert "staged.py" in [d.a_path for d in r.index.diff("HEAD")]  # still staged
    again = apply_patch(repo, {"calc.py": (FIXED, CALC)}, commit=True, branch_hint="test_add")
    assert again.branch == "orps/fix-test_add-2"


def test_commit_refuses_when_the_patched_file_has_its_own_uncommitted_changes(repo):
    dirty = CALC + "# my uncommitted comment\n"
    (repo / "calc.py").write_text(dirty)
    with pytest.raises(UserError, match="uncommitted changes that a commit would include"):
        apply_patch(repo, {"calc.py": (dirty, dirty.replace("a - b", "a + b"))}, commit=True)
    assert (repo / "calc.py").read_text() == dirty
    assert git.Repo(repo).active_branch.name in ("master", "main")


def test_the_local_sandbox_runs_the_repositorys_own_environment(tmp_path):
    """A project's .venv (wherever the checkout lives) is what the local sandbox tests with:
    it sees that interpreter read-only, beside the repository copy, and nothing else of the host."""
    import os
    import site
    import subprocess
    import sys

    from assistant.modes.fix.run import prepared
    from sandbox import Job, Limits, SandboxSettings, TestCase

    dest = materialize({"calc.py": "def add(a, b):\n    return a + b\n",
                        "test_calc.py": "from calc import add\n\ndef test_add():\n    assert add(1, 2) == 3\n",
                        ".gitignore": ".venv/\n"}, tmp_path / "proj")
    venv = dest / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # the project's environment has pytest: here, by pointing at the test run's own packages
    lib = next((venv / "lib").iterdir()) / "site-packages"
    lib.joinpath("host.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    for d in [tmp_path, *tmp_path.parents]:  # as root the sandbox reads as the owner; others need o+x
        if d != d.parent and os.stat(d).st_uid == os.getuid():
            os.chmod(d, os.stat(d).st_mode | 0o055)
    with prepared(dest, SandboxSettings(pool_size=1), "local") as p:
        assert p.env.python == str(venv / "bin" / "python"), p.env.description
        rep = p.sandbox.run(Job(kind="command", tests=[TestCase(name="t", argv=[p.env.python, "-m", "pytest", "-q"])],
                                copy_from=str(p.snap.copy_dir), env=p.env.env,
                                limits=Limits(cpu_s=30, wall_s=60, memory_mb=1024)))
        assert rep.results[0].passed, rep.results[0].stdout + rep.results[0].stderr
