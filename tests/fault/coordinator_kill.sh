#!/usr/bin/env bash
# Fault test: the coordinator SIGKILLed at random moments (0.3-2 s apart)
# during ingest from 4 simulated agents, KILLS times (default 20), and
# restarted on the same port. The agents keep every batch until it is
# acknowledged and resend on reconnect; each logs (fsynced) what it saw
# acknowledged. At the end every acknowledged measurement must be in the
# database exactly once, and nothing committed may be doubled.
#
# Usage: tests/fault/coordinator_kill.sh   (see lib.sh for the binaries)
# Env: KILLS (20), AGENTS (4), BATCHES per agent (900), BATCH_SIZE (16),
#      INTERVAL_MS between an agent's batches (40).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

kills="${KILLS:-20}"
n_agents="${AGENTS:-4}"
batches="${BATCHES:-900}"
batch_size="${BATCH_SIZE:-16}"
interval_ms="${INTERVAL_MS:-40}"

require_bins "$server_bin" "$sim_bin"
make_auth
start_server --heartbeat-timeout-ms 3000
log "coordinator on port $server_port; starting $n_agents simulated agents"

agent_pids=()
ack_flags=()
for i in $(seq "$n_agents"); do
  "$sim_bin" agent --server "127.0.0.1:$server_port" --token-file "$work/agent.token" \
    --name "fault-agent-$i" --batches "$batches" --batch-size "$batch_size" \
    --interval-ms "$interval_ms" --max-backoff-ms 500 \
    --ack-log "$work/agent-$i.acks" \
    2>"$work/agent-$i.log" &
  agent_pids+=($!)
  fault_pids+=($!)
  ack_flags+=(--ack-log "$work/agent-$i.acks")
done

acked() { cat "$work"/agent-*.acks 2>/dev/null | wc -l; }

done_kills=0
kills_during_ingest=0   # agents still sending
kills_live=0            # batches were acknowledged since the last restart
since_restart=0
for k in $(seq "$kills"); do
  sleep "$(random_between 0.3 2.0)"
  running=0
  for pid in "${agent_pids[@]}"; do kill -0 "$pid" 2>/dev/null && running=$((running + 1)); done
  [ "$running" -gt 0 ] && kills_during_ingest=$((kills_during_ingest + 1))
  before=$(acked)
  [ "$before" -gt "$since_restart" ] && kills_live=$((kills_live + 1))
  kill_server
  done_kills=$((done_kills + 1))
  start_server --heartbeat-timeout-ms 3000
  since_restart=$(acked)
  log "kill $k: $before batches acked so far ($((before - ${last_before:-0})) since the last kill), $running agents sending; restarted"
  last_before=$before
done

log "waiting for the agents to finish"
agents_ok=1
if ! wait_limit=120 wait_for_exit "${agent_pids[@]}"; then
  log "agents still running after 120 s"
  agents_ok=0
fi
for pid in "${agent_pids[@]}"; do
  if ! wait "$pid" 2>/dev/null; then agents_ok=0; fi
done
stop_server

set +e
"$sim_bin" check-db --db "$work/hakd.db" "${ack_flags[@]}" --expect-complete 1 >"$work/check.txt"
check_rc=$?
set -e
cat "$work/check.txt" >&2
dup_acks=$(cat "$work"/agent-*.log | grep -o 'dup_acks=[0-9]*' | awk -F= '{ s += $2 } END { print s + 0 }' || true)
reconnects=$(cat "$work"/agent-*.log | grep -c ' connected ' || true)

echo "== coordinator_kill summary =="
echo "kills: $done_kills ($kills_during_ingest while agents were sending, $kills_live with batches acknowledged since the previous restart)"
echo "agents: $n_agents x $batches batches of $batch_size, all finished: $([ $agents_ok = 1 ] && echo yes || echo no)"
echo "agent connections (incl. first): $reconnects"
echo "batches acked: $(field "$work/check.txt" batches_acked)"
echo "acks of resent batches already committed (duplicate=true): $dup_acks"
echo "measurements checked: $(field "$work/check.txt" measurements_checked)"
echo "missing: $(field "$work/check.txt" missing)"
echo "duplicates: $(field "$work/check.txt" duplicates)"
echo "committed but never acked: $(field "$work/check.txt" committed_unacked_batches)"
echo "runtime: $(elapsed)"
if [ "$check_rc" -eq 0 ] && [ "$agents_ok" -eq 1 ] && [ "$done_kills" -eq "$kills" ]; then
  echo "PASS"
else
  echo "FAIL"
  exit 1
fi
