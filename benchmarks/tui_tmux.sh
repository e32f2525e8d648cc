#!/usr/bin/env bash
# The real TUI in a real terminal: `orps tui PROBLEM` in a detached tmux session, driven with
# send-keys and read with capture-pane, until the run screen shows ranked candidates.
#
#   benchmarks/tui_tmux.sh [PROBLEM]        (default examples/problems.jsonl#running-max)
#   env: MODEL (embedded), BUDGET (6 model calls), TIMEOUT (900 s), SIZE (120x36), ORPS (orps)
#
# Prints one JSON object (seconds to the ranked table, candidates, the best's pass x/y, ...) and
# exits 0 only when the screen showed a ranked candidate table, the tests tab and the recent run,
# and the app quit cleanly. Config, runs and logs go to a temporary directory.
set -uo pipefail
cd "$(dirname "$0")/.."

problem="${1:-examples/problems.jsonl#running-max}"
model="${MODEL:-embedded}"
budget="${BUDGET:-6}"
timeout_s="${TIMEOUT:-900}"
size="${SIZE:-120x36}"
orps="${ORPS:-orps}"
cols="${size%x*}"
rows="${size#*x}"

command -v tmux >/dev/null || { echo '{"ok": false, "error": "tmux is not installed"}'; exit 2; }
command -v "$orps" >/dev/null || { echo "{\"ok\": false, \"error\": \"$orps is not on PATH\"}"; exit 2; }

work=$(mktemp -d)
session="orps-tui-bench-$$"
cleanup() { tmux kill-session -t "$session" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# the app's own config, runs and logs stay in $work; the sandbox setting comes from the environment
tmux new-session -d -s "$session" -x "$cols" -y "$rows" \
  "cd '$PWD' && XDG_DATA_HOME='$work/data' XDG_CONFIG_HOME='$work/config' TERM=xterm-256color \
   '$orps' tui '$problem' --model '$model' --budget '$budget' --no-companion; echo \"exit=\$?\" > '$work/exit'; sleep 600"

screen() { tmux capture-pane -p -t "$session"; }

started=$(date +%s.%N)
state=timeout
while :; do
  now=$(date +%s.%N)
  elapsed=$(python3 -c "print(round($now - $started, 1))")
  if python3 -c "import sys; sys.exit(0 if $elapsed > $timeout_s else 1)"; then break; fi
  screen > "$work/screen.txt"
  if [ -f "$work/exit" ]; then state=exited; break; fi
  # the status line begins with the run state
  if grep -qE '^ (finished|failed|cancelled) ' "$work/screen.txt"; then
    state=$(grep -oE '^ (finished|failed|cancelled) ' "$work/screen.txt" | head -1 | tr -d ' ')
    break
  fi
  sleep 2
done
seconds=$elapsed
cp "$work/screen.txt" "$work/run-screen.txt"

# the tests tab of the selected (best) candidate, then back to the start screen's recent runs
tmux send-keys -t "$session" 4; sleep 1; screen > "$work/tests-screen.txt"
tmux send-keys -t "$session" Escape; sleep 2; screen > "$work/start-screen.txt"
tmux send-keys -t "$session" C-q
for _ in $(seq 30); do [ -f "$work/exit" ] && break; sleep 1; done
exit_line=$(cat "$work/exit" 2>/dev/null || echo "exit=none")

python3 - "$work" "$state" "$seconds" "$exit_line" "$problem" "$model" "$budget" "$size" <<'EOF'
import json, re, sys
from pathlib import Path

work, state, seconds, exit_line, problem, model, budget, size = sys.argv[1:]
run = Path(work, "run-screen.txt").read_text()
tests = Path(work, "tests-screen.txt").read_text()
start = Path(work, "start-screen.txt").read_text()

# candidate rows right of the tree: rank, id, pass x/y (or CE)
rows = []
for line in run.splitlines():
    right = line.split("\u2595", 1)[1] if "\u2595" in line else ""
    m = re.match(r"\s*(\d+)\s+(n\d+)\s+(\d+/\d+|CE)\s", right)
    if m:
        rows.append({"rank": int(m.group(1)), "id": m.group(2), "pass": m.group(3)})
ranks = [r["rank"] for r in rows]
checks = {
    "finished": state == "finished",
    "header": bool(re.search(r"#\s+id\s+pass\s+gen\s+CPU ms", run)),
    "ranked_rows": bool(rows) and ranks == list(range(1, len(rows) + 1)),
    "tests_tab": bool(re.search(r"n\d+: \d+/\d+ visible", tests)),
    "recent_run_listed": "Recent runs" in start and problem.split("#")[-1] in start,
    "quit_cleanly": exit_line == "exit=0",
}
out = {"benchmark": "tui_tmux", "problem": problem, "model": model, "budget_calls": int(budget), "size": size,
       "state": state, "seconds_to_result": float(seconds), "candidates": len(rows),
       "best": rows[0] if rows else None, "checks": checks, "ok": all(checks.values())}
if not out["ok"]:
    out["screen"] = run.splitlines()
print(json.dumps(out, indent=2))
sys.exit(0 if out["ok"] else 1)
EOF
