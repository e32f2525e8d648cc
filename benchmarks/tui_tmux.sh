#!/usr/bin/env bash
# The real TUI in a real terminal: `orps tui PROBLEM` in a detached tmux session, driven with
# send-keys and read with capture-pane.
#
#   benchmarks/tui_tmux.sh [PROBLEM]        (default examples/problems.jsonl#running-max)
#   env: MODEL (embedded), BUDGET (6 model calls), TIMEOUT (900 s), SIZE (120x36), ORPS (orps),
#        QUIT_GOAL_S (2: seconds from ctrl+q to the process's exit)
#
# Two runs. The first goes to the end: the time until the status line first says what is
# happening and until the model's first streamed tokens show, then the ranked table, the tests
# tab and the recent run, then ctrl+q. The second is quit with ctrl+q while the model is writing
# (after a candidate has run, so the sandbox is up): the seconds until the terminal is given
# back and until the process has exited, and the sandbox containers it owned before and after.
#
# Prints one JSON object and exits 0 only when every check passed and the quit met its goal.
# Config, runs and logs go to a temporary directory.
set -uo pipefail
cd "$(dirname "$0")/.."

problem="${1:-examples/problems.jsonl#running-max}"
model="${MODEL:-embedded}"
budget="${BUDGET:-6}"
timeout_s="${TIMEOUT:-900}"
size="${SIZE:-120x36}"
orps="${ORPS:-orps}"
quit_goal="${QUIT_GOAL_S:-2}"
cols="${size%x*}"
rows="${size#*x}"

command -v tmux >/dev/null || { echo '{"ok": false, "error": "tmux is not installed"}'; exit 2; }
command -v "$orps" >/dev/null || { echo "{\"ok\": false, \"error\": \"$orps is not on PATH\"}"; exit 2; }

work=$(mktemp -d)
session="orps-tui-bench-$$"
quit_session="orps-tui-quit-$$"
cleanup() { tmux kill-session -t "$session" 2>/dev/null; tmux kill-session -t "$quit_session" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# the app's own config, runs and logs stay in $work; the sandbox setting comes from the environment
launch() {  # session, exit file
  tmux new-session -d -s "$1" -x "$cols" -y "$rows" \
    "cd '$PWD' && XDG_DATA_HOME='$work/data' XDG_CONFIG_HOME='$work/config' TERM=xterm-256color \
     '$orps' tui '$problem' --model '$model' --budget '$budget' --no-companion; \
     echo \"exit=\$? ms=\$(( \$(date +%s%N) / 1000000 ))\" > '$2'; sleep 600"
}
screen() { tmux capture-pane -p -t "$1"; }
status_line() { sed -n 2p "$1"; }

# ------------------------------------------------------------------ run 1: to the end
started=$(now_ms)
launch "$session" "$work/exit"
state=timeout
first_status_ms=""
first_output_ms=""
elapsed_ms=0
while :; do
  elapsed_ms=$(( $(now_ms) - started ))
  [ "$elapsed_ms" -gt $(( timeout_s * 1000 )) ] && break
  screen "$session" > "$work/screen.txt"
  [ -f "$work/exit" ] && { state=exited; break; }
  line=$(status_line "$work/screen.txt")
  # the status line begins with the run state, then says what is happening
  if [ -z "$first_status_ms" ] && echo "$line" | grep -qE '^ (starting|running) +[a-z]'; then
    first_status_ms=$elapsed_ms
  fi
  # the model's first streamed tokens: "writing n0 (12 tok)" and a tokens/s figure
  if [ -z "$first_output_ms" ] && echo "$line" | grep -qE '\([0-9]+ tok\)'; then
    first_output_ms=$elapsed_ms
  fi
  if grep -qE '^ (finished|failed|cancelled) ' "$work/screen.txt"; then
    state=$(grep -oE '^ (finished|failed|cancelled) ' "$work/screen.txt" | head -1 | tr -d ' ')
    break
  fi
  if [ -z "$first_output_ms" ]; then sleep 0.2; else sleep 2; fi
done
cp "$work/screen.txt" "$work/run-screen.txt"

# the tests tab of the selected (best) candidate, then back to the start screen's recent runs
tmux send-keys -t "$session" 4; sleep 1; screen "$session" > "$work/tests-screen.txt"
tmux send-keys -t "$session" Escape; sleep 2; screen "$session" > "$work/start-screen.txt"
tmux send-keys -t "$session" C-q
for _ in $(seq 60); do [ -f "$work/exit" ] && break; sleep 0.5; done
exit_line=$(cat "$work/exit" 2>/dev/null || echo "exit=none")

# ------------------------------------------------------------------ run 2: ctrl+q while the model writes
launch "$quit_session" "$work/exit2"
q_started=$(now_ms)
writing=no
while [ $(( $(now_ms) - q_started )) -lt $(( timeout_s * 1000 )) ]; do
  screen "$quit_session" > "$work/q-screen.txt"
  [ -f "$work/exit2" ] && break
  line=$(status_line "$work/q-screen.txt")
  ran=$(echo "$line" | grep -oE '[0-9]+ ran' | grep -oE '[0-9]+' || echo 0)
  if echo "$line" | grep -qE '^ running .*\([0-9]+ tok\)' && [ "${ran:-0}" -ge 1 ]; then writing=yes; break; fi
  if grep -qE '^ (finished|failed|cancelled) ' "$work/q-screen.txt"; then break; fi
  sleep 0.2
done
cp "$work/q-screen.txt" "$work/q-before.txt"
pane_pid=$(tmux display -p -t "$quit_session" '#{pane_pid}')
orps_pid=$(pgrep -P "$pane_pid" | head -1)
containers() {  # the sandbox containers this orps process owns (Docker only)
  if command -v docker >/dev/null && [ -n "$orps_pid" ]; then
    docker ps -aq --filter "label=org.orps.owner=$orps_pid" 2>/dev/null | wc -l | tr -d ' '
  else
    echo null
  fi
}
containers_before=$(containers)
quit_at=$(now_ms)
tmux send-keys -t "$quit_session" C-q
restored_ms=""
while [ $(( $(now_ms) - quit_at )) -lt 60000 ]; do
  if [ -z "$restored_ms" ] && ! screen "$quit_session" | grep -q "orps — "; then
    restored_ms=$(( $(now_ms) - quit_at ))    # the app's screen is gone: the terminal is back
  fi
  [ -f "$work/exit2" ] && break
  sleep 0.02
done
quit_exit_line=$(cat "$work/exit2" 2>/dev/null || echo "exit=none")
exited_at=$(echo "$quit_exit_line" | grep -oE 'ms=[0-9]+' | cut -d= -f2)
exit_ms=""
[ -n "$exited_at" ] && exit_ms=$(( exited_at - quit_at ))
[ -z "$restored_ms" ] && [ -n "$exit_ms" ] && restored_ms=$exit_ms
containers_after=$(containers)

python3 - "$work" "$state" "$elapsed_ms" "$exit_line" "$problem" "$model" "$budget" "$size" \
  "$first_status_ms" "$first_output_ms" "$writing" "$quit_exit_line" "${restored_ms:-}" "${exit_ms:-}" \
  "$containers_before" "$containers_after" "$quit_goal" <<'EOF'
import json, re, sys
from pathlib import Path

(work, state, elapsed_ms, exit_line, problem, model, budget, size, first_status_ms, first_output_ms, writing,
 quit_exit_line, restored_ms, exit_ms, containers_before, containers_after, quit_goal) = sys.argv[1:]
run = Path(work, "run-screen.txt").read_text()
tests = Path(work, "tests-screen.txt").read_text()
start = Path(work, "start-screen.txt").read_text()


def seconds(ms: str):
    return round(int(ms) / 1000, 2) if ms else None


def count(n: str):
    return None if n == "null" else int(n)


# candidate rows right of the tree: rank, id, pass x/y (or CE)
rows = []
for line in run.splitlines():
    right = line.split("\u2595", 1)[1] if "\u2595" in line else ""
    m = re.match(r"\s*(\d+)\s+(n\d+)\s+(\d+/\d+|CE)\s", right)
    if m:
        rows.append({"rank": int(m.group(1)), "id": m.group(2), "pass": m.group(3)})
ranks = [r["rank"] for r in rows]
quit_s = seconds(exit_ms)
before, after = count(containers_before), count(containers_after)
checks = {
    "finished": state == "finished",
    "status_said_what_happens": first_status_ms != "",
    "model_output_seen": first_output_ms != "",
    "header": bool(re.search(r"#\s+id\s+pass\s+gen\s+CPU ms", run)),
    "ranked_rows": bool(rows) and ranks == list(range(1, len(rows) + 1)),
    "tests_tab": bool(re.search(r"n\d+: \d+/\d+ visible", tests)),
    "recent_run_listed": "Recent runs" in start and problem.split("#")[-1] in start,
    "quit_cleanly": exit_line.startswith("exit=0"),
    "quit_while_writing": writing == "yes",
    "quit_during_generation_cleanly": quit_exit_line.startswith("exit=0"),
    "containers_removed": after in (0, None),
}
goal_met = quit_s is not None and quit_s <= float(quit_goal)
out = {"benchmark": "tui_tmux", "problem": problem, "model": model, "budget_calls": int(budget), "size": size,
       "state": state, "seconds_to_result": seconds(elapsed_ms),
       "seconds_to_first_status": seconds(first_status_ms),
       "seconds_to_first_model_output": seconds(first_output_ms),
       "candidates": len(rows), "best": rows[0] if rows else None,
       "quit_during_generation": {"seconds_to_terminal_restored": seconds(restored_ms), "seconds_to_exit": quit_s,
                                  "goal_seconds": float(quit_goal), "goal_met": goal_met,
                                  "containers_before": before, "containers_after": after},
       "checks": checks, "ok": all(checks.values()) and goal_met}
if not all(checks.values()):
    out["screen"] = run.splitlines()
    out["quit_screen"] = Path(work, "q-before.txt").read_text().splitlines()
print(json.dumps(out, indent=2))
sys.exit(0 if out["ok"] else 1)
EOF
