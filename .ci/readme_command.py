"""Print one of the README's two set-up commands (the shell block after a marker comment)."""

import re
import sys
from pathlib import Path

which = sys.argv[1]  # "main" or "test"
text = Path(__file__).resolve().parents[1].joinpath("README.md").read_text(encoding="utf-8")
match = re.search(rf"<!-- setup:{which} -->\s*```(?:sh|bash|console)?\n(.+?)\n```", text, re.S)
if not match:
    sys.exit(f"README.md has no <!-- setup:{which} --> command block")
print(match.group(1).strip())
