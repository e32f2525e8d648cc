"""The user's git repository: a snapshot to work on, and applying a chosen patch back.

`snapshot()` records HEAD, the branch and the dirty state, then copies every file git would show
(tracked files as they are in the working tree, so uncommitted changes included, plus untracked
files that are not ignored) into a private directory. Candidates are tried on copies of that
snapshot inside the sandbox; the user's working tree is not touched.

`apply_patch()` writes a patch into the working tree only when every file it touches still holds
the content the patch was made from; otherwise it refuses and names the file. With `commit`, the
patch is committed on a new branch (`git commit --only`, so nothing else the user has staged or
changed goes into that commit, and nothing uncommitted is lost).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import UserError


def _git():
    import git  # gitpython
    return git


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def open_repo(path: str | Path):
    """The gitpython Repo holding `path`; a one-line UserError when there is none."""
    git = _git()
    path = Path(path).expanduser()
    if not path.exists():
        raise UserError(f"{path}: no such directory")
    try:
        repo = git.Repo(path, search_parent_directories=True)
    except git.InvalidGitRepositoryError:
        raise UserError(f"{path}: not a git repository (orps fix works on a git checkout; "
                        "run `git init` and commit your code first)") from None
    except git.NoSuchPathError:
        raise UserError(f"{path}: no such directory") from None
    if repo.bare or repo.working_tree_dir is None:
        raise UserError(f"{path}: a bare git repository has no working tree to fix")
    return repo


@dataclass
class Snapshot:
    """A private copy of the repository's working tree (the base every patch is made from)."""

    root: Path                  # the repository's top level (the user's working tree)
    scope: str                  # REPO given as a subdirectory: tests are looked for there ("" = all)
    copy_dir: Path              # the private copy (read-only to the sandbox)
    head: str | None            # HEAD commit, None in a repository without commits
    branch: str | None          # None when HEAD is detached
    modified: list[str] = field(default_factory=list)   # tracked files with uncommitted changes
    untracked: list[str] = field(default_factory=list)  # untracked, not ignored
    files: list[str] = field(default_factory=list)      # every copied file (repo-relative, posix)
    skipped: list[str] = field(default_factory=list)    # not copied (submodules, unreadable)

    @property
    def dirty(self) -> bool:
        return bool(self.modified or self.untracked)

    def read(self, rel: str) -> str | None:
        """A file of the snapshot as text (None when absent or not UTF-8)."""
        if rel not in self._file_set:
            return None
        try:
            return (self.copy_dir / rel).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    @property
    def _file_set(self) -> set[str]:
        cached = self.__dict__.get("_files_cache")
        if cached is None or len(cached) != len(self.files):
            cached = set(self.files)
            self.__dict__["_files_cache"] = cached
        return cached

    def has_file(self, rel: str) -> bool:
        return rel in self._file_set

    def python_files(self) -> list[str]:
        return [f for f in self.files if f.endswith(".py")]

    def describe(self) -> dict:
        return {"root": str(self.root), "head": self.head, "branch": self.branch, "dirty": self.dirty,
                "modified": self.modified, "untracked": self.untracked, "files": len(self.files)}

    def cleanup(self) -> None:
        shutil.rmtree(self.copy_dir, ignore_errors=True)


def snapshot(path: str | Path, into: Path | None = None) -> Snapshot:
    """Copy the working tree (tracked + untracked-not-ignored files, as on disk) to a private dir."""
    repo = open_repo(path)
    root = Path(repo.working_tree_dir).resolve()
    given = Path(path).expanduser().resolve()
    scope = "" if given == root else given.relative_to(root).as_posix()
    head = repo.head.commit.hexsha if repo.head.is_valid() else None
    branch = None if repo.head.is_detached else repo.active_branch.name
    listed = repo.git.ls_files("--cached", "--others", "--exclude-standard", "-z").split("\0")
    status = repo.git.status("--porcelain=v1", "-z", "--untracked-files=all").split("\0")
    modified, untracked = [], []
    for entry in status:
        if len(entry) < 4:
            continue
        code, rel = entry[:2], entry[3:]
        if code == "??":
            untracked.append(rel)
        elif code.strip():
            modified.append(rel)
    copy_dir = Path(into) if into is not None else Path(tempfile.mkdtemp(prefix="orps-fix-"))
    copy_dir.mkdir(parents=True, exist_ok=True)
    files, skipped = [], []
    for rel in sorted(set(x for x in listed if x)):
        src = root / rel
        dst = copy_dir / rel
        try:
            st = src.lstat()
        except OSError:
            continue  # deleted in the working tree: the copy reflects that
        if stat.S_ISDIR(st.st_mode):
            skipped.append(rel)  # a submodule
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            if stat.S_ISLNK(st.st_mode):
                os.symlink(os.readlink(src), dst)
            elif stat.S_ISREG(st.st_mode):
                shutil.copyfile(src, dst)
                os.chmod(dst, 0o755 if st.st_mode & 0o111 else 0o644)
            else:
                skipped.append(rel)
                continue
        except OSError:
            skipped.append(rel)
            continue
        files.append(rel)
    # the sandbox user (not us) reads the copy
    for dirpath, dirnames, _ in os.walk(copy_dir):
        os.chmod(dirpath, 0o755)
    return Snapshot(root=root, scope=scope, copy_dir=copy_dir, head=head, branch=branch,
                    modified=sorted(modified), untracked=sorted(untracked), files=files, skipped=skipped)


# --------------------------------------------------------------------------- applying a patch

@dataclass
class ApplyResult:
    files: list[str]
    branch: str | None = None
    commit: str | None = None
    message: str | None = None
    warnings: list[str] = field(default_factory=list)


def _current_text(root: Path, rel: str) -> str | None:
    try:
        return (root / rel).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def conflicts(root: Path, changes: dict[str, tuple[str, str]]) -> list[str]:
    """Files whose working-tree content differs from the content the patch was made from."""
    bad = []
    for rel, (old, _new) in sorted(changes.items()):
        now = _current_text(root, rel)
        if now is None or digest(now) != digest(old):
            bad.append(rel)
    return bad


def branch_name(repo, hint: str) -> str:
    base = "orps/fix-" + (re.sub(r"[^A-Za-z0-9._-]+", "-", hint).strip("-.").lower()[:40] or "patch")
    existing = {h.name for h in repo.heads}
    name, n = base, 2
    while name in existing:
        name = f"{base}-{n}"
        n += 1
    return name


def apply_patch(path: str | Path, changes: dict[str, tuple[str, str]], *, commit: bool = False,
                message: str = "", branch_hint: str = "patch") -> ApplyResult:
    """Write a patch ({path: (content it was made from, new content)}) into the working tree.

    Refuses (UserError, nothing written) when a touched file changed since the patch was made.
    With `commit`, the touched files must have no uncommitted changes of their own (they would go
    into the commit); the patch is committed on a new branch created at HEAD, and that branch is
    checked out (the rest of the working tree and the index stay as they are)."""
    git = _git()
    repo = open_repo(path)
    root = Path(repo.working_tree_dir).resolve()
    for rel in changes:
        target = (root / rel).resolve()
        if root not in target.parents:
            raise UserError(f"{rel}: outside the repository; refusing to write it")
    bad = conflicts(root, changes)
    if bad:
        raise UserError(f"{', '.join(bad)}: changed since the patch was made (conflicting local changes); "
                        "nothing was applied - run `orps fix` again on the current code")
    branch = None
    if commit:
        if not repo.head.is_valid():
            raise UserError(f"{root}: the repository has no commit yet; apply without --commit")
        dirty = set(repo.git.diff("HEAD", "--name-only", "-z", "--", *changes).split("\0")) - {""}
        in_head = set(repo.git.ls_tree("-r", "--name-only", "-z", "HEAD", "--", *changes).split("\0"))
        dirty |= {rel for rel in changes if rel not in in_head}  # untracked: all of it is uncommitted
        if dirty:
            raise UserError(f"{', '.join(sorted(dirty))}: has uncommitted changes that a commit would include; "
                            "commit or stash them first, or apply without --commit")
        branch = branch_name(repo, branch_hint)
        try:
            repo.git.checkout("-b", branch)
        except git.GitCommandError as exc:
            raise UserError(f"cannot create branch {branch}: {_git_error(exc)}") from None
    for rel, (_old, new) in changes.items():
        target = root / rel
        with open(target, "w", encoding="utf-8", newline="") as fh:
            fh.write(new)
    result = ApplyResult(files=sorted(changes), branch=branch)
    if commit:
        try:
            repo.git.add("--", *changes)
            repo.git.commit("--only", "-m", message or "Fix failing tests (orps fix)", "--", *changes)
        except git.GitCommandError as exc:
            raise UserError(f"the patch was written to {', '.join(sorted(changes))} on branch {branch}, "
                            f"but the commit failed: {_git_error(exc)}") from None
        result.commit = repo.head.commit.hexsha
        result.message = message
    return result


def _git_error(exc) -> str:
    text = (getattr(exc, "stderr", "") or str(exc)).strip()
    text = re.sub(r"^\s*stderr:\s*", "", text)
    lines = [ln.strip().strip("'") for ln in text.splitlines() if ln.strip().strip("'")]
    return lines[-1] if lines else "git failed"


def materialize(files: dict[str, str], dest: Path, message: str = "initial commit") -> Path:
    """A new git repository at `dest` holding `files` ({relative path: content}), committed once.

    Used to turn repair records (QuixBugs, HumanEvalFix) into the small repositories `orps fix`
    works on, in tests and benchmarks."""
    git = _git()
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = (dest / rel).resolve()
        if dest.resolve() not in path.parents:
            raise ValueError(f"{rel}: outside the repository")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    repo = git.Repo.init(dest)
    with repo.config_writer() as cw:
        cw.set_value("user", "name", "orps")
        cw.set_value("user", "email", "orps@localhost")
        cw.set_value("commit", "gpgsign", "false")
    repo.git.add("--all")
    repo.git.commit("-q", "-m", message)
    return dest
