#!/usr/bin/env bash
# bench/run.sh soak [SECONDS]: one coordinator under 64 simulated agents and
# 4 simulated workers (hakd-sim soak, one process: a thread, a stream and a
# TCP connection per agent, each agent with its own device-bound token) for
# SECONDS (default 600). Samples the coordinator's memory and open file
# descriptors every 10 s and prints, as "metric: value" lines: committed
# measurements/s, p50/p99 acknowledgement time, errors (target 0), memory
# growth from minute 2 to the end (target under 5%; from the middle for
# runs shorter than 4 minutes), descriptors (flat), and the machine.
#
# Env: HAKD_BUILD_DIR (build/), SOAK_AGENTS (64), SOAK_WORKERS (4),
#      SOAK_BATCH_SIZE (16), SOAK_INTERVAL_MS (250: each agent sends a batch
#      every 250 ms), SOAK_KEEP=1 keeps the work directory.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
build="${HAKD_BUILD_DIR:-$root/build}"
seconds="${1:-600}"
agents="${SOAK_AGENTS:-64}"
workers="${SOAK_WORKERS:-4}"
batch_size="${SOAK_BATCH_SIZE:-16}"
interval_ms="${SOAK_INTERVAL_MS:-250}"
sample_s=10

echo "bench/run.sh: building hakd-server and hakd-sim (into $build)" >&2
[ -f "$build/build.ninja" ] || cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$build" hakd-server hakd-sim >/dev/null
server_bin="$build/server/hakd-server"
sim_bin="$build/tests/fault/hakd-sim"

work="$(mktemp -d /tmp/hakd-soak.XXXXXX)"
server_pid=""
sim_pid=""
cleanup() {
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  if [ -n "${SOAK_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

new_token() { printf 'soak-%s' "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"; }
digest() { printf %s "$1" | sha256sum | cut -d' ' -f1; }
admin=$(new_token)
worker=$(new_token)
printf '%s\n' "$admin" > "$work/admin.token"
printf '%s\n' "$worker" > "$work/worker.token"
{
  echo "admin sha256:$(digest "$admin") name=soak-admin"
  echo "worker sha256:$(digest "$worker") name=soak-worker"
} > "$work/auth"
: > "$work/agent-tokens"
for i in $(seq 0 $((agents - 1))); do
  t=$(new_token)
  echo "$t" >> "$work/agent-tokens"
  printf 'agent sha256:%s name=soak-agent-%03d device=soak-%03d\n' "$(digest "$t")" "$i" "$i" >> "$work/auth"
done

"$server_bin" --listen 127.0.0.1:0 --port-file "$work/port" --auth-file "$work/auth" \
  --db "$work/soak.db" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { cat "$work/server.log" >&2; exit 1; }
port="$(cat "$work/port")"

mkdir "$work/acks"
"$sim_bin" soak --server "127.0.0.1:$port" --agent-tokens "$work/agent-tokens" \
  --worker-token-file "$work/worker.token" --admin-token-file "$work/admin.token" \
  --agents "$agents" --workers "$workers" --seconds "$seconds" \
  --batch-size "$batch_size" --interval-ms "$interval_ms" --ack-dir "$work/acks" \
  >"$work/soak.txt" 2>"$work/soak.log" &
sim_pid=$!

# One sample: seconds since start, VmRSS, RssAnon (kB), open descriptors, threads.
sample() {
  local s="/proc/$server_pid/status"
  echo "$1 $(awk '/^VmRSS:/ { print $2 }' "$s") $(awk '/^RssAnon:/ { print $2 }' "$s")" \
       "$(ls "/proc/$server_pid/fd" | wc -l) $(awk '/^Threads:/ { print $2 }' "$s")"
}
echo "bench/run.sh: soak for $seconds s: $agents agents (a batch of $batch_size every $interval_ms ms each), $workers workers" >&2
start=$SECONDS
sample 0 > "$work/samples"
next=$sample_s
while kill -0 "$sim_pid" 2>/dev/null; do
  sleep 1
  if [ $((SECONDS - start)) -ge "$next" ] && kill -0 "$sim_pid" 2>/dev/null; then
    sample "$next" >> "$work/samples"
    echo "  $(tail -1 "$work/samples" | awk '{ printf "t=%ss rss=%.1f MiB anon=%.1f MiB fds=%s threads=%s", $1, $2 / 1024, $3 / 1024, $4, $5 }')" >&2
    next=$((next + sample_s))
  fi
done
set +e
wait "$sim_pid"
sim_rc=$?
sim_pid=""
set -e
sample end >> "$work/samples"
kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
server_pid=""
set +e
"$sim_bin" check-db --db "$work/soak.db" $(for f in "$work"/acks/*.acks; do echo --ack-log "$f"; done) \
  >"$work/check.txt" 2>&1
check_rc=$?
set -e

# Memory from minute 2 (or the middle of a shorter run) to the last sample
# taken under load.
base_t=120
[ "$seconds" -ge 240 ] || base_t=$(( seconds / 2 / sample_s * sample_s ))
awk -v b="$base_t" '$1 != "end" && $1 + 0 >= b && !done { print; done = 1 }' "$work/samples" > "$work/base"
grep -v '^end' "$work/samples" | tail -1 > "$work/last"
read -r _ base_rss base_anon _ _ < "$work/base"
read -r last_t last_rss last_anon _ _ < "$work/last"
fd_stats=$(grep -v '^end' "$work/samples" | awk 'NR > 1 { if (min == "" || $4 < min) min = $4; if ($4 > max) max = $4 } END { print min, max }')

echo "machine: $(nproc) cores, $(lscpu | awk -F: '/^Model name/ { sub(/^ +/, "", $2); print $2; exit }')"
echo "method: hakd-sim soak, $agents agents each sending a batch of $batch_size measurements every $interval_ms ms over its own stream and TCP connection (device-bound tokens), $workers simulated workers leasing 3-epoch tasks (1 s epochs, a checkpoint per epoch, a model, complete) kept queued by an admin client; acks after commit (synchronous=FULL); coordinator VmRSS/RssAnon and /proc/PID/fd sampled every $sample_s s"
grep -v '^worker error' "$work/soak.txt"
grep -E '^(missing|duplicates|committed_unacked_batches):' "$work/check.txt" | sed 's/^/db_/'
awk -v b="$base_rss" -v l="$last_rss" -v ba="$base_anon" -v la="$last_anon" -v bt="$base_t" -v lt="$last_t" 'BEGIN {
  printf "rss_mib_at_%ss: %.1f\nrss_mib_at_%ss: %.1f\nrss_growth_pct: %.2f\n", bt, b / 1024, lt, l / 1024, (l - b) * 100 / b
  printf "rss_anon_mib_at_%ss: %.1f\nrss_anon_mib_at_%ss: %.1f\nrss_anon_growth_pct: %.2f\n", bt, ba / 1024, lt, la / 1024, (la - ba) * 100 / ba
}'
echo "fds_min_max_after_start: $fd_stats"
echo "samples (t_s vmrss_kb rssanon_kb fds threads): $(tr '\n' ';' < "$work/samples")"
[ "$sim_rc" -eq 0 ] && [ "$check_rc" -eq 0 ]
