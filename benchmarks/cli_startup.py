"""Start-up time of the `orps` command against a bare interpreter start, measured in one run.

Method: each round runs every command once, in the same order, as a user would (the installed
`orps` console script, a fresh process each time, output discarded); rounds are interleaved so
that load on the machine hits every command alike. Reported per command: median and minimum
wall time, and the median excess over `python -c pass` with the same interpreter (what orps
itself costs). Each command is also run once with `-X importtime` to list the heavy modules it
imported (rich, pydantic, textual, asyncio, the sandbox and engine packages...), which must stay
out of `--version` and `judge --help`.

The goal (issue: fast start) is a median under 0.15 s for `orps --version` and
`orps judge --help`; exits 1 when one misses it.
Usage: python benchmarks/cli_startup.py [--rounds 20] [--orps PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

GOAL_S = 0.15
GOAL_COMMANDS = ("orps --version", "orps judge --help")
COMMANDS = {
    "python -c pass": ["-c", "pass"],
    "orps --version": ["--version"],
    "orps judge --help": ["judge", "--help"],
    "orps --help": ["--help"],
    "orps solve --help": ["solve", "--help"],
}
HEAVY = ("rich", "pydantic", "pydantic_settings", "textual", "asyncio", "httpx", "docker", "ollama", "git",
         "tree_sitter", "sandbox", "assistant.engine", "assistant.models", "assistant.problems", "assistant.config",
         "tui")


def orps_script(explicit: str | None) -> tuple[str, str]:
    """The console script to time and the interpreter it runs on (its shebang)."""
    candidates = [explicit] if explicit else [str(Path(sys.executable).parent / "orps"), shutil.which("orps")]
    for cand in candidates:
        if cand and Path(cand).is_file():
            first = Path(cand).read_text(encoding="utf-8", errors="replace").splitlines()[0]
            python = first[2:].strip() if first.startswith("#!") else sys.executable
            return cand, python
    sys.exit("no `orps` console script found: install orps (pip install .) or pass --orps PATH")


def argv(name: str, script: str, python: str, importtime: bool = False) -> list[str]:
    flags = ["-X", "importtime"] if importtime else []
    if name.startswith("python"):
        return [python, *flags, *COMMANDS[name]]
    return [python, *flags, script, *COMMANDS[name]]


def run_once(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} exited {proc.returncode}")
    return elapsed


def heavy_imports(cmd: list[str]) -> list[str]:
    """Top-level packages from HEAVY that the command imported (from -X importtime's report)."""
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)
    seen = set()
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") < 2:
            continue
        module = line.rsplit("|", 1)[1].strip()
        for heavy in HEAVY:
            if module == heavy or module.startswith(heavy + "."):
                seen.add(heavy)
    return sorted(seen)


ENV = {**os.environ, "NO_COLOR": "1"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--orps", help="the orps console script (default: beside this interpreter, else on PATH)")
    args = ap.parse_args()
    script, python = orps_script(args.orps)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for name in COMMANDS:  # warm the file cache once
        run_once(argv(name, script, python))
    for _ in range(args.rounds):
        for name in COMMANDS:
            times[name].append(run_once(argv(name, script, python)))
    base = statistics.median(times["python -c pass"])
    doc: dict = {"python": python, "orps": script, "rounds": args.rounds, "goal_s": GOAL_S, "commands": {}}
    for name, ts in times.items():
        med = statistics.median(ts)
        doc["commands"][name] = {"median_s": round(med, 4), "min_s": round(min(ts), 4),
                                 "excess_over_python_s": round(med - base, 4),
                                 "ratio_to_python": round(med / base, 2) if base else None}
        if name != "python -c pass":
            doc["commands"][name]["heavy_imports"] = heavy_imports(argv(name, script, python, importtime=True))
    missed = [name for name in GOAL_COMMANDS if doc["commands"][name]["median_s"] >= GOAL_S]
    doc["goal_met"] = not missed
    print(json.dumps(doc, indent=2))
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
