"""Recent runs: the trace files `solve()` writes to the runs directory, newest first.

Only each trace's header (first line) and its closing `result` record are read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any


@dataclass
class RecentRun:
    path: Path
    started: datetime
    problem: str
    problem_source: str      # the problem spec, or the repository of a fix run
    mode: str
    method: str
    model: str
    candidates: int | None   # ranked candidates, None when the run did not finish
    best: str | None
    stop_reason: str
    config: dict[str, Any]   # the SearchConfig the run used (a replay needs the same one)
    language: str = ""       # the language its candidates were written in ("" in older traces: Python)


def _first_and_last_lines(path: Path) -> tuple[str, str]:
    with path.open("rb") as fh:
        first = fh.readline()
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - 65536))
        tail = fh.read().splitlines()
    last = tail[-1] if tail else b""
    return first.decode("utf-8", "replace"), last.decode("utf-8", "replace")


def read_run(path: Path) -> RecentRun | None:
    """One trace's summary; None for a file that is not an orps trace."""
    try:
        first, last = _first_and_last_lines(path)
        header: dict[str, Any] = json.loads(first)
    except (OSError, ValueError):
        return None
    if not isinstance(header, dict) or header.get("type") != "header":
        return None
    opts = header.get("options") or {}
    result: dict[str, Any] = {}
    try:
        rec = json.loads(last)
        if isinstance(rec, dict) and rec.get("type") == "result":
            result = rec
    except ValueError:
        pass
    try:
        started = datetime.fromisoformat(str(header.get("timestamp"))).astimezone()
    except ValueError:
        started = datetime.fromtimestamp(path.stat().st_mtime).astimezone()
    config = opts.get("config") or {}
    mode = str(opts.get("mode") or "solve")
    if mode == "fix":  # `orps fix` traces name the repository instead of a problem
        problem, source, method = Path(str(opts.get("repo", "?"))).name, str(opts.get("repo", "")), "fix"
    else:
        problem, source = str(opts.get("problem", "?")), str(opts.get("problem_source", ""))
        method = str(config.get("method", "?"))
    return RecentRun(path=path, started=started, problem=problem, mode=mode,
                     problem_source=source, method=method,
                     model=str(header.get("spec", "?")),
                     candidates=len(result["ranking"]) if isinstance(result.get("ranking"), list) else None,
                     best=result.get("best") or (result["ranking"][0] if result.get("ranking") else None), stop_reason=str(result.get("stop_reason") or "did not finish"),
                     config=config if isinstance(config, dict) else {},
                     language=str(opts.get("language") or ""))


def recent_runs(runs_dir: Path, limit: int = 50) -> list[RecentRun]:
    try:
        files = sorted(runs_dir.glob("*.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return []
    runs = []
    for path in files:
        run = read_run(path)
        if run is not None:
            runs.append(run)
        if len(runs) >= limit:
            break
    return runs
