#!/usr/bin/env bash
# Fault test: the network between agents and the coordinator cut and
# restored by a fault proxy (hakd-sim proxy). Two simulated agents stream
# through it while it goes through the phases
#
#   drop (half-open: connections stay up, nothing arrives) -> the agents
#        detect the dead link by gRPC keepalive, within keepalive +
#        timeout, and reconnect once it passes again;
#   delay 500 ms -> the streams stay up and batches keep being acknowledged;
#   cut (connections reset, new ones refused) -> detected at once,
#        reconnected once it passes again;
#
# and at the end every batch is acknowledged and stored exactly once.
#
# The agents are hakd-sim agents, not hakd-agent: the real agent's
# keepalive is fixed at 20 s + 10 s (common/grpc_client.cc), too long for
# this test's 3-minute budget and not a flag. The simulated agent builds its
# channel with the same arguments but a configurable period and timeout.
#
# Env: KEEPALIVE_MS (6000; the coordinator refuses pings more often than
#      every 5 s), KEEPALIVE_TIMEOUT_MS (3000), DELAY_MS (500).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

keepalive_ms="${KEEPALIVE_MS:-6000}"
keepalive_timeout_ms="${KEEPALIVE_TIMEOUT_MS:-3000}"
delay_ms="${DELAY_MS:-500}"
n_agents=2
detect_limit_ms=$((keepalive_ms + keepalive_timeout_ms + 2000))
drop_s=$(( (keepalive_ms + keepalive_timeout_ms) / 1000 + 4 ))

require_bins "$server_bin" "$sim_bin"
make_auth
start_server --heartbeat-timeout-ms 3000

echo pass > "$work/mode"
"$sim_bin" proxy --listen 0 --port-file "$work/proxy.port" \
  --target "127.0.0.1:$server_port" --control "$work/mode" 2>"$work/proxy.log" &
fault_pids+=($!)
for _ in $(seq 100); do [ -s "$work/proxy.port" ] && break; sleep 0.05; done
proxy_port="$(cat "$work/proxy.port")"
log "coordinator on $server_port, fault proxy on $proxy_port"

agent_pids=()
ack_flags=()
for i in $(seq "$n_agents"); do
  "$sim_bin" agent --server "127.0.0.1:$proxy_port" --token-file "$work/agent.token" \
    --name "net-agent-$i" --batches 500 --batch-size 16 --interval-ms 100 \
    --heartbeat-ms 1000 --max-backoff-ms 1000 --welcome-timeout-ms 5000 \
    --keepalive-ms "$keepalive_ms" --keepalive-timeout-ms "$keepalive_timeout_ms" \
    --ack-log "$work/net-agent-$i.acks" 2>"$work/net-agent-$i.log" &
  agent_pids+=($!)
  fault_pids+=($!)
  ack_flags+=(--ack-log "$work/net-agent-$i.acks")
done

acked() { cat "$work"/net-agent-*.acks 2>/dev/null | wc -l; }

# First t_ms of EVENT in LOG at or after T_MS; empty if none.
event_after() {
  awk -v t="$3" -v e=" $2 " 'index($0, e) { split($2, a, "="); if (a[2] + 0 >= t + 0) { print a[2]; exit } }' "$1"
}

# Events EVENT in LOG between T0 and T1 (ms).
events_between() {
  awk -v t0="$3" -v t1="$4" -v e=" $2 " \
    'index($0, e) { split($2, a, "="); if (a[2] + 0 >= t0 + 0 && a[2] + 0 <= t1 + 0) n++ } END { print n + 0 }' "$1"
}

# Sets the proxy's mode and prints when it took effect (the proxy's t_ms).
set_mode() {
  local since
  since=$(now_ms)
  echo "$1" > "$work/mode.tmp"
  mv "$work/mode.tmp" "$work/mode"
  local name="${1/ /_}" t=""
  for _ in $(seq 50); do
    t=$(awk -v since="$since" -v m="to=$name " \
          'index($0 " ", m) && / proxy mode / { split($2, a, "="); if (a[2] + 0 >= since) { print a[2]; exit } }' \
          "$work/proxy.log")
    [ -n "$t" ] && break
    sleep 0.05
  done
  echo "${t:-$since}"
}

# Waits up to LIMIT s until every agent logged EVENT at or after T_MS.
wait_all_event() {
  local event="$1" t="$2" limit="$3" start=$SECONDS i missing
  while :; do
    missing=0
    for i in $(seq "$n_agents"); do
      [ -n "$(event_after "$work/net-agent-$i.log" "$event" "$t")" ] || missing=1
    done
    [ "$missing" -eq 0 ] && return 0
    [ $((SECONDS - start)) -ge "$limit" ] && return 1
    sleep 0.2
  done
}

# "agent=ms ..." of EVENT after T_MS for each agent, and the largest in
# $worst_ms (-1 when an agent has none).
worst_ms=0
times_after() {
  local event="$1" t="$2" i e out=""
  worst_ms=0
  for i in $(seq "$n_agents"); do
    e=$(event_after "$work/net-agent-$i.log" "$event" "$t")
    if [ -z "$e" ]; then
      out="$out agent$i=none"
      worst_ms=-1
    else
      out="$out agent$i=$((e - t))"
      [ "$worst_ms" -ge 0 ] && [ $((e - t)) -gt "$worst_ms" ] && worst_ms=$((e - t))
    fi
  done
  echo "${out# }"
}

fail=0
check() {  # check CONDITION_TEXT RESULT(0/1)
  if [ "$2" -ne 0 ]; then
    log "FAILED: $1"
    fail=1
  fi
}

t0=$(now_ms)
wait_all_event connected "$t0" 20 || { log "agents did not connect"; exit 1; }
sleep 3

# --- drop: half-open ---
acks_before=$(acked)
t_drop=$(set_mode drop)
log "drop for $drop_s s (keepalive $keepalive_ms ms + timeout $keepalive_timeout_ms ms)"
sleep "$drop_s"
drop_detect=$(times_after stream-ended "$t_drop")
drop_worst=$worst_ms
drop_msg=$(awk -v t="$t_drop" '/ stream-ended / { split($2, a, "="); if (a[2] + 0 >= t) { sub(/.*msg=/, ""); print; exit } }' "$work/net-agent-1.log")
acks_drop=$(( $(acked) - acks_before ))
t_pass1=$(set_mode pass)
wait_all_event connected "$t_pass1" 20 || true
drop_reconnect=$(times_after connected "$t_pass1")
drop_reconnect_worst=$worst_ms
check "drop detected by every agent within $detect_limit_ms ms ($drop_detect)" \
  $([ "$drop_worst" -ge 0 ] && [ "$drop_worst" -le "$detect_limit_ms" ]; echo $?)
check "reconnected after the drop ($drop_reconnect)" $([ "$drop_reconnect_worst" -ge 0 ]; echo $?)
sleep 2

# --- delay ---
acks_before=$(acked)
for i in $(seq "$n_agents"); do wc -l < "$work/net-agent-$i.acks" > "$work/lines-$i"; done
t_delay=$(set_mode "delay $delay_ms")
log "delay $delay_ms ms for 10 s"
sleep 10
for i in $(seq "$n_agents"); do wc -l < "$work/net-agent-$i.acks" > "$work/lines-end-$i"; done
acks_delay=$(( $(acked) - acks_before ))
t_delay_end=$(set_mode pass)
delay_failures=0
for i in $(seq "$n_agents"); do
  delay_failures=$((delay_failures + $(events_between "$work/net-agent-$i.log" stream-ended "$t_delay" "$t_delay_end")))
done
# Acknowledgement times of the batches acknowledged during the delay.
delay_ack_p50=$(for i in $(seq "$n_agents"); do
    sed -n "$(( $(cat "$work/lines-$i") + 1 )),$(cat "$work/lines-end-$i")p" "$work/net-agent-$i.acks"
  done | awk '{ print $3 }' | sort -n |
  awk '{ v[NR] = $1 } END { if (NR) printf "%.0f", v[int((NR + 1) / 2)]; else print "none" }')
check "streams stayed up under delay ($delay_failures stream failures)" $([ "$delay_failures" -eq 0 ]; echo $?)
check "batches acknowledged under delay ($acks_delay)" $([ "$acks_delay" -gt 0 ]; echo $?)
sleep 3

# --- cut ---
acks_before=$(acked)
t_cut=$(set_mode cut)
log "cut for 5 s"
sleep 5
cut_detect=$(times_after stream-ended "$t_cut")
cut_worst=$worst_ms
t_pass2=$(set_mode pass)
wait_all_event connected "$t_pass2" 20 || true
cut_reconnect=$(times_after connected "$t_pass2")
cut_reconnect_worst=$worst_ms
check "cut detected within 2000 ms ($cut_detect)" \
  $([ "$cut_worst" -ge 0 ] && [ "$cut_worst" -le 2000 ]; echo $?)
check "reconnected after the cut ($cut_reconnect)" $([ "$cut_reconnect_worst" -ge 0 ]; echo $?)

log "waiting for the agents to finish"
agents_ok=1
wait_limit=120 wait_for_exit "${agent_pids[@]}" || agents_ok=0
for pid in "${agent_pids[@]}"; do wait "$pid" 2>/dev/null || agents_ok=0; done
check "every agent finished with all batches acknowledged" $([ "$agents_ok" -eq 1 ]; echo $?)
stop_server
set +e
"$sim_bin" check-db --db "$work/hakd.db" "${ack_flags[@]}" --expect-complete 1 >"$work/check.txt"
check_rc=$?
set -e
cat "$work/check.txt" >&2
check "database holds every acknowledged measurement exactly once" "$check_rc"
stream_failures=$(cat "$work"/net-agent-*.log | grep -c ' stream-ended ' || true)

echo "== network_proxy summary =="
echo "agents: $n_agents hakd-sim agents, keepalive $keepalive_ms ms + timeout $keepalive_timeout_ms ms"
echo "drop (half-open, $drop_s s): detected after ms: $drop_detect (limit $detect_limit_ms); reconnected ms after pass: $drop_reconnect; acks during drop: $acks_drop"
echo "  reason: $drop_msg"
echo "delay $delay_ms ms (10 s): batches acked: $acks_delay, ack p50 ${delay_ack_p50} ms, stream failures: $delay_failures"
echo "cut (5 s): detected after ms: $cut_detect; reconnected ms after pass: $cut_reconnect"
echo "stream failures in all: $stream_failures"
echo "batches acked: $(field "$work/check.txt" batches_acked)"
echo "measurements checked: $(field "$work/check.txt" measurements_checked)"
echo "missing: $(field "$work/check.txt" missing)"
echo "duplicates: $(field "$work/check.txt" duplicates)"
echo "runtime: $(elapsed)"
if [ "$fail" -eq 0 ]; then
  echo "PASS"
else
  echo "FAIL"
  exit 1
fi
