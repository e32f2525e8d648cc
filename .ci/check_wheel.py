"""Check a built wheel against the source tree: every file git tracks inside a package directory
(assistant/, sandbox/, tui/, prompts/) must be in the wheel, so that a non-editable install reads
the same stylesheets, prompts, Dockerfile and data files as a checkout.

Usage: python .ci/check_wheel.py WHEEL [--root CHECKOUT]; exits 1 and lists what is missing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import zipfile
from pathlib import Path

PACKAGES = ("assistant", "sandbox", "tui", "prompts")


def tracked_files(root: Path) -> list[str]:
    out = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--", *PACKAGES], capture_output=True,
                         check=True).stdout.decode()
    return sorted(f for f in out.split("\0") if f)


def missing_from_wheel(wheel: Path, root: Path) -> tuple[list[str], int]:
    names = set(zipfile.ZipFile(wheel).namelist())
    files = tracked_files(root)
    return [f for f in files if f not in names], len(files)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("wheel", type=Path)
    ap.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    args = ap.parse_args()
    missing, total = missing_from_wheel(args.wheel, args.root)
    if missing:
        print(f"{args.wheel.name}: {len(missing)} of {total} package files are missing (add them to "
              "[tool.setuptools.package-data] in pyproject.toml):", file=sys.stderr)
        for name in missing:
            print(f"  {name}", file=sys.stderr)
        sys.exit(1)
    print(f"{args.wheel.name}: all {total} package files present")


if __name__ == "__main__":
    main()
