"""Runs inside the test-environment image build (not imported by orps): standard library only.

`requirements REPORT OUT EXTRA...`: the project's dependencies as its build backend declares them.
REPORT is pip's installation report of the project (`pip install --dry-run --no-deps --report`,
which asks the build backend for the metadata: setup.py's install_requires and extras_require,
a dynamic pyproject, Poetry's tables); the Requires-Dist entries that apply to this interpreter,
with the given extras (those the project provides), are appended to OUT, one per line.

`info`: what the environment holds, as JSON on stdout (pytest's version, whether pytest-timeout
is importable, the notes left by the build in /tmp/orps-build/notes.txt).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path


def _packaging():
    try:
        from packaging.requirements import Requirement
    except ImportError:  # before anything is installed: the copy pip carries
        from pip._vendor.packaging.requirements import Requirement
    return Requirement


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(report_path: str, out_path: str, extras: list[str]) -> int:
    Requirement = _packaging()
    report = json.loads(Path(report_path).read_text(encoding="utf-8"))
    items = report.get("install") or []
    if not items:
        print("the build backend reported no project metadata", file=sys.stderr)
        return 1
    meta = items[0].get("metadata") or {}
    own = _canonical(meta.get("name") or "")
    provided = {_canonical(e) for e in meta.get("provides_extra") or []}
    wanted = {""} | {_canonical(e) for e in extras if _canonical(e) in provided}
    lines: list[str] = []
    pending = list(meta.get("requires_dist") or [])
    seen_extras = set(wanted)
    while pending:
        req = Requirement(pending.pop(0))
        if req.marker is not None and not any(req.marker.evaluate({"extra": e}) for e in wanted):
            continue
        if _canonical(req.name) == own:  # "project[test]" inside an extra: those extras too
            new = {_canonical(e) for e in req.extras} - seen_extras
            if new:
                seen_extras |= new
                wanted |= new
                pending = list(meta.get("requires_dist") or [])
            continue
        text = req.name + (f"[{','.join(sorted(req.extras))}]" if req.extras else "")
        text += f" @ {req.url}" if req.url else str(req.specifier)
        if text not in lines:
            lines.append(text)
    with open(out_path, "a", encoding="utf-8") as fh:
        for line in lines:
            fh.write(line + "\n")
    print(f"dependencies declared by {meta.get('name')} {meta.get('version')} "
          f"(extras: {', '.join(sorted(e for e in wanted if e)) or 'none'}): {', '.join(lines) or 'none'}")
    return 0


def info() -> int:
    from importlib import metadata

    out: dict = {"python": sys.version.split()[0]}
    try:
        out["pytest"] = metadata.version("pytest")
    except metadata.PackageNotFoundError:
        out["pytest"] = None
    try:
        out["pytest_timeout"] = metadata.version("pytest-timeout")
    except metadata.PackageNotFoundError:
        out["pytest_timeout"] = None
    notes = Path("/tmp/orps-build/notes.txt")
    out["notes"] = [ln.strip() for ln in notes.read_text(encoding="utf-8").splitlines() if ln.strip()] \
        if notes.is_file() else []
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["requirements"]:
        sys.exit(requirements(sys.argv[2], sys.argv[3], sys.argv[4:]))
    if sys.argv[1:2] == ["info"]:
        sys.exit(info())
    print(__doc__, file=sys.stderr)
    sys.exit(2)
