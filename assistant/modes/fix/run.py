"""`orps fix` end to end: snapshot -> environment -> baseline run -> localization -> patch search.

`prepare()` makes the snapshot and opens the sandbox with the right environment (this may build a
Docker image); `run_fix()` runs the baseline and the search; `result_json()` is the stable `--json`
document; `save_run()`/`load_run()` keep the last run's patches so `orps fix --apply N` can apply
one later; `apply_candidate()` writes one into the working tree (refusing over conflicting local
changes) and, with `commit`, commits it on a new branch.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sandbox.api import SandboxError
from sandbox.config import SandboxSettings
from sandbox.core import Sandbox, open_sandbox

from ...engine.budget import Budget
from ...engine.context import EngineContext, EventSink
from ...engine.events import Notice
from ...errors import UserError
from ...models.base import ModelBackend
from ...problems.model import Problem
from .edits import Patch
from .environment import TestEnvironment, docker_environment, local_binds, local_environment
from .localize import RepoIndex, build_context, error_line, localize
from .pytest_run import SuiteRun, TestRun, in_selection, pytest_job, read_report
from .search import CandidateReport, FixConfig, FixEngine, FixResult
from .workspace import ApplyResult, Snapshot, apply_patch, snapshot

SCHEMA = 1


@dataclass
class Prepared:
    snap: Snapshot
    sandbox: Sandbox
    env: TestEnvironment

    def close(self) -> None:
        try:
            self.sandbox.close()
        finally:
            self.snap.cleanup()


def open_environment(snap: Snapshot, settings: SandboxSettings, choice: str | None,
                     warn: Callable[[str], None] = lambda s: None,
                     progress: Callable[[str], None] = lambda s: None, rebuild: bool = False
                     ) -> tuple[Sandbox, TestEnvironment]:
    """The sandbox and test environment for a snapshot: Docker with a derived image when an engine
    answers (auto/docker), else the local sandbox running the host's pytest (with a warning)."""
    choice = choice or settings.backend
    if choice in ("auto", "docker"):
        from sandbox.docker_backend import connect, image_info
        try:
            client = connect(timeout=5)
            if choice == "auto" and image_info(client, settings.image) is None:
                raise SandboxError(f"the sandbox image '{settings.image}' is missing (`orps sandbox build`)")
        except SandboxError as exc:
            if choice == "docker":
                raise
            warn(f"{str(exc).split(':')[0]}: running the tests with the LOCAL sandbox (weaker isolation) "
                 "and the host's pytest")
            choice = "local"
    if choice != "local":
        env = docker_environment(snap, settings.image, progress, rebuild=rebuild)
        sb = open_sandbox(settings, "docker", image=env.image, mounts=env.mounts)
        return sb, env
    sb = open_sandbox(settings, "local", mounts={path: path for path in local_binds(snap)})
    try:
        env = local_environment(snap, sb)
    except BaseException:
        sb.close()
        raise
    return sb, env


def prepare(repo: str | Path, settings: SandboxSettings, choice: str | None = None,
            warn: Callable[[str], None] = lambda s: None, progress: Callable[[str], None] = lambda s: None,
            rebuild: bool = False) -> Prepared:
    snap = snapshot(repo)
    try:
        sb, env = open_environment(snap, settings, choice, warn, progress, rebuild)
    except BaseException:
        snap.cleanup()
        raise
    return Prepared(snap, sb, env)


@contextmanager
def prepared(repo: str | Path, settings: SandboxSettings, choice: str | None = None,
             warn: Callable[[str], None] = lambda s: None, progress: Callable[[str], None] = lambda s: None,
             rebuild: bool = False):
    p = prepare(repo, settings, choice, warn, progress, rebuild)
    try:
        yield p
    finally:
        p.close()


# --------------------------------------------------------------------------- the run

def _scope_selection(snap: Snapshot) -> list[str]:
    return [snap.scope] if snap.scope else []


@dataclass
class Baseline:
    """Before any patch: the whole suite, the tests to fix, and the failures that are not targets."""

    suite: SuiteRun
    targets: list[TestRun]
    suite_errors: list[TestRun]   # collection errors that are not targets (reported once, never scored)


def split_targets(failing: list[TestRun], tests: list[str], keyword: str | None) -> tuple[list[TestRun], list[TestRun]]:
    """(targets, suite-level errors): the failing tests pytest selected, plus the collection errors of
    the selected files. A directory that fails to collect (its conftest.py, its package) stops tests
    the user may not have asked about: it is a target only when the selection names it (or a path
    inside it), or when it is all that fails; otherwise it is reported, not scored."""
    targets, outside, broken_dirs = [], [], []
    for t in failing:
        if t.outcome != "collection_error":
            targets.append(t)
        elif not in_selection(t.id, tests, keyword):
            outside.append(t)
        elif t.directory_level and not tests:
            broken_dirs.append(t)
        else:
            targets.append(t)
    if not targets and broken_dirs:
        return broken_dirs, outside  # nothing else fails: the broken directories are the thing to fix
    return targets, broken_dirs + outside


async def baseline_runs(snap: Snapshot, env: TestEnvironment, sandbox: Sandbox, config: FixConfig,
                        tests: list[str], keyword: str | None) -> Baseline:
    """The whole suite (what passes before any patch) and the failing tests to fix (the targets)."""
    suite_sel = _scope_selection(snap)
    suite = read_report(await sandbox.arun(pytest_job(env, suite_sel, {}, config.pytest)), suite_sel)
    _check_ran(snap, suite, suite_sel, None)
    if tests or keyword:
        sel = read_report(await sandbox.arun(pytest_job(env, tests or suite_sel, {}, config.pytest, keyword=keyword)),
                          tests or suite_sel)
        _check_ran(snap, sel, tests, keyword)
        failing = sel.failing()
    else:
        failing = suite.failing()
    targets, outside = split_targets(failing, tests, keyword)
    # a collection error of the suite that the selection run did not show is suite-level too
    seen = {t.id for t in targets} | {t.id for t in outside}
    outside += [t for t in suite.failing() if t.outcome == "collection_error" and t.id not in seen]
    return Baseline(suite, targets, outside)


def suite_error_notice(t: TestRun, selected: bool) -> str:
    """One line about a collection error that is not a target."""
    what = "directory" if t.directory_level else "test module"
    why = error_line(t) or "collection failed"
    where = "outside the selected tests" if selected else "suite-level"
    return (f"{t.id}: pytest cannot collect this {what} ({why}); {where}, so not a target and not counted "
            "against any patch")


def _check_ran(snap: Snapshot, run: SuiteRun, selection: list[str], keyword: str | None) -> None:
    where = snap.root / snap.scope if snap.scope else snap.root
    what = (" matching " + " ".join(selection) if selection and selection != [snap.scope] else "") + \
        (f" for -k {keyword!r}" if keyword else "")
    if run.exit_code == 4 or (run.exit_code not in (0, 1, 5) and not run.tests):
        tail = [ln for ln in run.output.splitlines() if ln.strip()]
        msg = next((ln for ln in tail if ln.startswith("ERROR")), tail[-1] if tail else run.error or "?")
        raise UserError(f"{where}: pytest could not run{what}: {msg.strip()}")
    if not run.tests and (run.exit_code == 5 or run.error is None or "no report" in (run.error or "")):
        raise UserError(f"{where}: no tests found{what} (pytest collected nothing); orps fix repairs failing "
                        "pytest tests")
    if run.error and not run.tests:
        raise UserError(f"{where}: {run.error}")


async def run_fix(prep: Prepared, model: ModelBackend, config: FixConfig, tests: list[str] | None = None,
                  keyword: str | None = None, on_event: EventSink | None = None, trace: Path | None = None,
                  stream: bool = False) -> FixResult:
    """Baseline, localization and the patch search; the caller owns model and sandbox."""
    from ...models import RecordingModel, TraceWriter

    snap, env, sb = prep.snap, prep.env, prep.sandbox
    result = FixResult(repo=str(snap.root), scope=snap.scope, head=snap.head, branch=snap.branch,
                       dirty=snap.dirty, modified=snap.modified, untracked=snap.untracked,
                       environment={"backend": env.backend, "image": env.image, "python": env.python,
                                    "pytest": env.pytest_version, "description": env.description, "notes": env.notes},
                       model=model.spec, can_chat=bool(model.can_chat), config=config)
    early: list[tuple[str, str]] = [(note, "warning") for note in env.notes]
    base = await baseline_runs(snap, env, sb, config, list(tests or []), keyword)
    baseline, targets = base.suite, base.targets
    result.baseline = baseline
    result.targets = targets
    result.suite_errors = base.suite_errors
    early += [(suite_error_notice(t, bool(tests or keyword)), "warning") for t in base.suite_errors]
    if not targets:
        result.status = "all_pass"
        which = "the selected tests" if (tests or keyword) else f"all {len(baseline.tests)} tests"
        result.stop_reason = f"{which} pass already: nothing to fix"
        result.notices = [m for m, _ in early]
        if on_event is not None:
            for message, level in early:
                on_event(Notice(level=level, message=message))
        return result
    index = RepoIndex(snap)
    loc = localize(snap, targets, index)
    result.localization = [f"{d.file}:{d.start}-{d.end} {d.qualname}" for d in loc.suspects[:10]]
    context = build_context(snap, targets, loc, index, config.context_tokens)
    writer = None
    if trace is not None:
        writer = TraceWriter(trace, options={"mode": "fix", "repo": str(snap.root), "head": snap.head,
                                             "targets": [t.id for t in targets],
                                             "config": config.model_dump(mode="json"), "sandbox": sb.name,
                                             "environment": env.image or env.python})
        model = RecordingModel(model, writer)
    budget = Budget(max_calls=config.max_calls, max_tokens=config.max_tokens, max_wall_s=config.max_wall_s)
    problem = Problem(id=f"fix:{snap.root.name}", kind="function", statement=context, source=str(snap.root))
    ctx = EngineContext(model, sb, problem, budget, on_event=on_event, parallel=config.parallel, stream=stream)
    for message, level in early:
        ctx.notice(message, level)
    engine = FixEngine(ctx, config, snap, env, baseline, targets, _scope_selection(snap), index, loc, context)
    started = time.monotonic()
    try:
        await engine.run()
    finally:
        if writer is not None:
            writer.write_record({"type": "result", "ranking": engine.ranking(), "stop_reason": engine.stop_reason,
                                 "wall_s": round(time.monotonic() - started, 3)})
            writer.close()
    from ...engine.events import Finished

    ranking = engine.ranking()
    result.nodes = list(engine.nodes.values())
    result.patches = dict(engine.patches)
    result.reports = dict(engine.reports)
    result.ranking = ranking
    result.best_node_id = ranking[0] if ranking else None
    result.stop_reason = engine.stop_reason
    result.notices = list(ctx.notices)
    b = ctx.budget
    result.budget = {"calls": b.calls, "max_calls": b.max_calls, "prompt_tokens": b.prompt_tokens,
                     "completion_tokens": b.completion_tokens, "tokens": b.tokens, "wall_s": round(b.wall_s, 3)}
    best = result.reports.get(result.best_node_id) if result.best_node_id else None
    if best and not best.targets_failing and best.suite_ran and not best.regressions:
        result.status = "fixed"
    elif best and best.targets_fixed:
        result.status = "partial"
    else:
        result.status = "not_fixed"
    ctx.emit(Finished(best_node_id=result.best_node_id, ranking=ranking, stop_reason=result.stop_reason,
                      summary={"calls": b.calls, "tokens": b.tokens, "nodes": len(result.nodes),
                               "status": result.status}))
    return result


# --------------------------------------------------------------------------- presentation

def critique_text(node, report: CandidateReport, n_targets: int) -> str:
    """The critic's words when there are some; else what execution showed (labelled as such)."""
    if node.critique and (node.critique.analysis or node.critique.suggestion):
        return node.critique.summary(300)
    parts = [f"{len(report.targets_fixed)}/{n_targets} target tests pass"]
    if report.suite_ran:
        parts.append(f"{len(report.regressions)} regressions" if report.regressions else "no regressions")
    if report.targets_failing:
        first = report.failures.get(report.targets_failing[0], "").splitlines()
        detail = next((ln.strip() for ln in first if ln.strip().startswith("E ")), "")
        if detail:
            parts.append(f"still failing: {detail[1:].strip()[:120]}")
    return "execution: " + ", ".join(parts)


def candidate_rows(result: FixResult) -> list[dict[str, Any]]:
    rows = []
    n_targets = len(result.targets)
    for rank, node_id in enumerate(result.ranking, 1):
        node = result.node(node_id)
        rep = result.reports[node_id]
        patch = result.patches[node_id]
        rows.append({
            "rank": rank,
            "id": node_id,
            "parent": node.parent_id,
            "round": node.round,
            "strategy": node.strategy,
            "edit_format": patch.edit_format,
            "files": patch.files,
            "diff": patch.diff,
            "diff_lines": patch.size,
            "targets_fixed": len(rep.targets_fixed),
            "targets_total": n_targets,
            "fixed": rep.targets_fixed,
            "still_failing": rep.targets_failing,
            "regressions": rep.regressions if rep.suite_ran else None,
            "new_failures": rep.new_failures,
            "suite_passed": rep.suite_passed,
            "suite_total": rep.suite_total,
            "suite_time_s": round(rep.suite_time_s, 3) if rep.suite_time_s is not None else None,
            "critic_score": node.critique.score if node.critique else None,
            "critique": critique_text(node, rep, n_targets),
            "error": rep.error,
        })
    return rows


def result_json(result: FixResult, trace: Path | None = None, saved: Path | None = None) -> dict[str, Any]:
    """The stable `orps fix --json` document (schema in assistant/modes/fix/README.md)."""
    rows = candidate_rows(result)
    base = result.baseline
    return {
        "schema": SCHEMA,
        "mode": "fix",
        "repo": result.repo,
        "scope": result.scope or None,
        "head": result.head,
        "branch": result.branch,
        "dirty": result.dirty,
        "uncommitted": {"modified": result.modified, "untracked": result.untracked},
        "environment": result.environment,
        "status": result.status,
        "baseline": {"total": len(base.tests), "counts": base.counts,
                     "pytest_time_s": base.pytest_time_s} if base else None,
        "targets": [{"id": t.id, "outcome": t.outcome, "message": t.message[:500], "timeout": t.timeout}
                    for t in result.targets],
        "suite_errors": [{"id": t.id, "message": (error_line(t) or t.message)[:500]} for t in result.suite_errors],
        "localization": result.localization,
        "model": result.model,
        "model_can_chat": result.can_chat,
        "best": rows[0] if rows else None,
        "candidates": rows,
        "invalid_edits": [{"id": n.id, "reason": n.invalid_reason} for n in result.nodes if n.status == "invalid"],
        "duplicates": [{"id": n.id, "of": n.duplicate_of} for n in result.nodes if n.status == "duplicate"],
        "stop_reason": result.stop_reason,
        "budget": result.budget,
        "notices": result.notices,
        "trace": str(trace) if trace else None,
        "saved_run": str(saved) if saved else None,
    }


# --------------------------------------------------------------------------- saved runs and apply

def runs_key(root: Path) -> str:
    return hashlib.sha256(str(Path(root).resolve()).encode()).hexdigest()[:16]


def saved_run_path(runs_dir: Path, root: Path) -> Path:
    return Path(runs_dir) / "fix" / f"{runs_key(root)}-last.json"


def default_trace_path(runs_dir: Path, root: Path) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(runs_dir) / f"{stamp}-fix-{Path(root).name[:40]}.jsonl"


def save_run(result: FixResult, runs_dir: Path) -> Path:
    """Keep the ranked patches (and the content they were made from) for `orps fix --apply N`."""
    path = saved_run_path(runs_dir, Path(result.repo))
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"schema": SCHEMA, "repo": result.repo, "head": result.head,
           "saved": datetime.now().isoformat(timespec="seconds"),
           "targets": [t.id for t in result.targets],
           "candidates": [{"rank": row["rank"], "id": row["id"], "files": row["files"], "diff": row["diff"],
                           "fixed": row["fixed"], "still_failing": row["still_failing"],
                           "regressions": row["regressions"], "suite_passed": row["suite_passed"],
                           "suite_total": row["suite_total"], "critique": row["critique"],
                           "changes": {p: list(v) for p, v in result.patches[row["id"]].changes.items()}}
                          for row in candidate_rows(result)]}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc), encoding="utf-8")
    tmp.replace(path)
    return path


def load_run(runs_dir: Path, repo: str | Path) -> dict[str, Any]:
    from .workspace import open_repo

    root = Path(open_repo(repo).working_tree_dir).resolve()
    path = saved_run_path(runs_dir, root)
    if not path.is_file():
        raise UserError(f"{root}: no earlier `orps fix` run to apply a patch from; run `orps fix` first")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: the saved run cannot be read: {exc}") from None


def commit_message(cand: dict[str, Any], targets: list[str]) -> str:
    fixed = cand.get("fixed") or []
    names = [t.split("::")[-1] if "::" in t else t for t in fixed]
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    subject = f"Fix {len(fixed)} failing test{'s' if len(fixed) != 1 else ''}: {shown}" if fixed else \
        "Apply patch from orps fix"
    body = [f"Changed: {', '.join(cand.get('files') or [])}."]
    if cand.get("critique"):
        body.append(cand["critique"])
    regress = cand.get("regressions")
    if regress is None or cand.get("suite_total") is None:
        suite = "the full suite was not run on it (no target test passed)"
    else:
        suite = (f"{len(regress) if regress else 'no'} regression{'s' if len(regress or []) != 1 else ''}; "
                 f"full suite {cand['suite_passed']}/{cand['suite_total']} passing")
    body.append(f"Found by orps fix (candidate {cand['id']}, rank {cand['rank']}): {len(fixed)}/{len(targets)} "
                f"target tests pass, {suite}.")
    if fixed:
        body.append("Fixed tests:\n" + "\n".join(f"- {t}" for t in fixed[:20]))
    return subject[:72] + "\n\n" + "\n\n".join(body) + "\n"


def apply_warnings(cand: dict[str, Any], targets: list[str]) -> list[str]:
    """What the user should know before relying on an applied patch: it fixes nothing, only part, or
    breaks tests that passed."""
    fixed, n = len(cand.get("fixed") or []), len(targets)
    out = []
    if fixed == 0:
        out.append(f"patch #{cand['rank']} fixes 0 of the {n} target test{'s' if n != 1 else ''}; the full suite "
                   "was not run on it")
    elif fixed < n:
        out.append(f"patch #{cand['rank']} fixes only {fixed} of the {n} target tests")
    regress = cand.get("regressions") or []
    if regress:
        out.append(f"patch #{cand['rank']} breaks {len(regress)} test{'s' if len(regress) != 1 else ''} that passed "
                   f"before: {', '.join(regress[:3])}{' ...' if len(regress) > 3 else ''}")
    return out


def apply_candidate(runs_dir: Path, repo: str | Path, rank: int, commit: bool = False) -> tuple[dict, ApplyResult]:
    """Apply the patch ranked `rank` (1-based) in the last saved run of `repo`."""
    doc = load_run(runs_dir, repo)
    cands = doc.get("candidates") or []
    if not cands:
        raise UserError(f"{doc.get('repo')}: the last `orps fix` run found no runnable patch to apply")
    if not 1 <= rank <= len(cands):
        raise UserError(f"--apply {rank}: the last run ranked {len(cands)} patch{'es' if len(cands) != 1 else ''} "
                        f"(choose 1..{len(cands)})")
    cand = cands[rank - 1]
    changes = {p: (v[0], v[1]) for p, v in cand["changes"].items()}
    hint = (cand.get("fixed") or ["patch"])[0].split("::")[-1]
    result = apply_patch(repo, changes, commit=commit, message=commit_message(cand, doc.get("targets") or []),
                         branch_hint=hint)
    result.warnings = apply_warnings(cand, doc.get("targets") or [])
    return cand, result


__all__ = ["FixConfig", "FixResult", "Prepared", "apply_candidate", "candidate_rows", "prepare", "prepared",
           "result_json", "run_fix", "save_run", "load_run", "Patch"]
