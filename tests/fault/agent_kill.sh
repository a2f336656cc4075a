#!/usr/bin/env bash
# Fault test: a real hakd-agent SIGKILLed mid-sweep KILLS times (default 10)
# at random moments (1-3 s after it reconnected), each time restarted with
# the same --spool and --name. Its unacknowledged batches wait in the spool
# and are resent first; the coordinator resends the chunks still pending.
# The sweep must reach DONE with measured == total, no failed item, and one
# measurement per item (no hole, no duplicate).
#
# Acknowledgements come within milliseconds, so a kill at a random moment
# rarely finds a batch in flight. Every FREEZE_EVERY-th kill (default 2nd)
# therefore first freezes the coordinator (SIGSTOP) for 1.5 s, so that the
# agent dies holding unacknowledged batches in its spool; the coordinator is
# resumed (SIGCONT) before the agent restarts and may commit what it had
# already received from the dead stream, so the resent batches test both
# paths (stored now, or acknowledged as duplicates).
#
# Needs hakd-agent with --spool (BUILD_TORCH, default build/); skipped (77)
# without it.
# Env: KILLS (10), LAYERS in the sweep (40), FREEZE_EVERY (2; 0: never).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

kills="${KILLS:-10}"
layers="${LAYERS:-40}"
freeze_every="${FREEZE_EVERY:-2}"
require_bins "$server_bin" "$ctl_bin" "$sim_bin" "$agent_bin"
agent_help=$("$agent_bin" --help 2>&1 || true)
if ! grep -q -- '--spool' <<<"$agent_help"; then
  echo "SKIP: $agent_bin has no --spool" >&2
  exit "$FAULT_SKIP"
fi

make_auth
start_server --heartbeat-timeout-ms 3000

agent_pid=""
agent_runs=0
# Starts the agent and waits until the coordinator has it online again.
start_agent() {
  local before
  before=$(grep -c "device fault-board (id" "$work/server.log" || true)
  agent_runs=$((agent_runs + 1))
  echo "--- run $agent_runs" >>"$work/agent.log"
  "$agent_bin" --server "127.0.0.1:$server_port" --token-file "$work/agent.token" \
    --name fault-board --threads 1 --heartbeat-ms 500 --max-backoff-ms 1000 \
    --batch-size 4 --batch-flush-ms 300 --spool "$work/agent.spool" \
    2>>"$work/agent.log" &
  agent_pid=$!
  fault_pids+=($agent_pid)
  for _ in $(seq 300); do
    [ "$(grep -c "device fault-board (id" "$work/server.log" || true)" -gt "$before" ] && return 0
    kill -0 "$agent_pid" 2>/dev/null || break
    sleep 0.1
  done
  tail -20 "$work/agent.log" >&2
  echo "FAIL: the agent did not come online"
  exit 1
}

sweep_field() {  # FIELD: from hakd-sim check-db --sweep
  { "$sim_bin" check-db --db "$work/hakd.db" --sweep "$sweep" 2>/dev/null || true; } |
    awk -v k="$1:" '$1 == k { print $2 }'
}

start_agent
# Small layers, each sampled for about 0.8 s (a stable-cv no sample set
# meets), so that the sweep lasts through the kills; chunks of 8 layers.
ctl admin sweep start --device fault-board \
  --family "conv2d:k=3:c=8-$((8 + layers - 1)):res=16" --chunk-size 8 \
  --min-samples 15 --max-samples 1000 --min-sample-ms 2 --stable-cv 0.0001 \
  --max-seconds-per-layer 0.8 --warmup-runs 1 --reference-interval-s 0 \
  --json >"$work/sweep.json"
sweep=$(grep -o '"id": *"\{0,1\}[0-9]*' "$work/sweep.json" | grep -o '[0-9]*$' | head -1)
[ -n "$sweep" ] || { cat "$work/sweep.json" >&2; echo "FAIL: no sweep id"; exit 1; }
log "sweep $sweep of $layers layers started"

done_kills=0
frozen_kills=0
finished_early=0
for k in $(seq "$kills"); do
  sleep "$(random_between 1.0 3.0)"
  measured=$(sweep_field sweep_measured)
  if [ "$(sweep_field sweep_state)" = 3 ]; then
    finished_early=1
    log "the sweep finished before kill $k"
    break
  fi
  frozen=0
  if [ "$freeze_every" -gt 0 ] && [ $((k % freeze_every)) -eq 0 ]; then
    kill -STOP "$server_pid"
    frozen=1
    sleep 1.5
  fi
  kill -9 "$agent_pid"
  wait "$agent_pid" 2>/dev/null || true
  if [ "$frozen" -eq 1 ]; then
    kill -CONT "$server_pid"
    frozen_kills=$((frozen_kills + 1))
  fi
  done_kills=$((done_kills + 1))
  log "kill $k at $measured/$layers measured$([ $frozen = 1 ] && echo ', coordinator frozen 1.5 s before'); restarting the agent"
  start_agent
done

set +e
timeout 150 "$ctl_bin" --server "127.0.0.1:$server_port" --token-file "$work/reader.token" \
  sweep watch "$sweep" >"$work/watch.txt" 2>&1
watch_rc=$?
set -e
kill -TERM "$agent_pid" 2>/dev/null || true
wait "$agent_pid" 2>/dev/null || true
stop_server
set +e
"$sim_bin" check-db --db "$work/hakd.db" --sweep "$sweep" >"$work/check.txt"
check_rc=$?
set -e
cat "$work/check.txt" >&2
restored=$(grep -o 'spool [^:]*: [0-9]* unacknowledged batches' "$work/agent.log" |
  awk '{ s += $3 } END { print s + 0 }' || true)
resent=$(grep -o 'resending [0-9]* unacknowledged batches' "$work/agent.log" |
  awk '{ s += $2 } END { print s + 0 }' || true)

echo "== agent_kill summary =="
echo "kills: $done_kills of $kills mid-sweep$([ $finished_early = 1 ] && echo ' (the sweep finished first)'), $frozen_kills of them with the coordinator frozen"
echo "batches restored from the spool at restarts: $restored; batches resent: $resent"
echo "sweep $sweep: state $(field "$work/check.txt" sweep_state) (3 = done), total $(field "$work/check.txt" sweep_total), measured $(field "$work/check.txt" sweep_measured), failed $(field "$work/check.txt" sweep_failed)"
echo "measurement rows: $(field "$work/check.txt" measurement_rows), distinct items: $(field "$work/check.txt" distinct_items), pending items: $(field "$work/check.txt" items_pending)"
echo "runtime: $(elapsed)"
if [ "$check_rc" -eq 0 ] && [ "$watch_rc" -eq 0 ] && [ "$done_kills" -eq "$kills" ]; then
  echo "PASS"
else
  echo "FAIL"
  exit 1
fi
