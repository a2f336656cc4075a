#!/usr/bin/env bash
# Runs one benchmark by name; with no name, lists them. Every benchmark ends
# by printing its figures one a line as "metric: value".
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
build="${HAKD_BUILD_DIR:-$root/build}"

declare -A what=(
  [ingest]="16 simulated agents stream measurements to hakd-server over loopback; committed rows/s and ack p99 vs raw SQLite appends"
  [query]="p50/p99 of a single-layer QueryMeasurements over gRPC on a database of 1,000,000 measurements"
  [fidelity]="60 random realistic networks timed end to end by a local agent vs PredictNetwork (overhead fitted on 12 others): share within 10%/5%, median error"
  [repeatability]="the quick sweep run twice, 60 s apart, by a local agent: median relative difference of each layer's two medians"
  [sweep]="the default sweep (2,241 layers) by a local agent: wall time and wall time over time inside timed runs"
  [kd-throughput]="images/s of one distillation step (WRN-16-4 -> WRN-16-1, batch 128, KD + attention transfer) in hakd-worker's trainer vs the same step in PyTorch (python3-torch), same threads: the ratio"
  [kd-accuracy]="Fashion-MNIST: WRN-16-2 teacher (10 epochs), WRN-16-1 trained alone and distilled from it (5 epochs each, identical schedule): test accuracies; about 50 min on 2 cores"
  [hakd-eval]="design jobs at 50% and 25% of a WRN-16-2 teacher's measured latency on this CPU: the HAKD student vs uniform scaling and Fisher pruning (same distillation schedule), accuracy and measured latency; about 40 min on 2 cores"
  [kd-scale]="images/s of the distillation step (WRN-16-4 -> WRN-16-1, global batch 128) by 1 worker process x 2 threads, 2 processes x 1 thread (data-parallel over c10d Gloo) and 1 x 1: what a second worker adds on this machine"
  [designer]="the designer alone on a 100-block teacher with a complete synthetic profile: wall time of coverage planning, design and the uniform baseline"
  [soak]="64 simulated agents and 4 simulated workers against one coordinator for SECONDS (default 600): committed measurements/s, p99 ack time, errors, coordinator memory growth from minute 2 to the end, open descriptors"
  [fuzz]="every libFuzzer target of tests/fuzz (ASan+UBSan, clang) for SECONDS each (default 600), one core: executions, exec/s, corpus, coverage, crashes"
)
# Which program runs each benchmark.
declare -A program=([ingest]=ingest [query]=query [fidelity]=fidelity
                    [repeatability]=sweep [sweep]=sweep [kd-throughput]=kd
                    [kd-accuracy]=kd [designer]=designer)

usage() {
  echo "usage: bench/run.sh NAME   (bench/run.sh fuzz [SECONDS_PER_TARGET], bench/run.sh soak [SECONDS])"
  echo "benchmarks:"
  for name in "${!what[@]}"; do printf '  %-8s %s\n' "$name" "${what[$name]}"; done | sort
}

[ $# -ge 1 ] || { usage; exit 0; }
name="$1"; shift
[ -n "${what[$name]:-}" ] || { echo "bench/run.sh: unknown benchmark '$name'" >&2; usage >&2; exit 2; }

if [ "$name" = fuzz ]; then
  exec bash "$here/fuzz.sh" "$@"
fi
if [ "$name" = soak ]; then
  exec bash "$here/soak.sh" "$@"
fi

if [ "$name" = kd-scale ]; then
  echo "bench/run.sh: building (into $build)" >&2
  [ -f "$build/build.ninja" ] || cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C "$build" hakd-bench-kd-scale >/dev/null
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  exec "$build/bench/hakd-bench-kd-scale" "$@"
fi
if [ "$name" = hakd-eval ]; then
  echo "bench/run.sh: building (into $build)" >&2
  [ -f "$build/build.ninja" ] || cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C "$build" hakd-server hakd-agent hakd-worker hakdctl >/dev/null
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  exec bash "$here/hakd_eval.sh" "$@"
fi

prog="hakd-bench-${program[$name]}"
echo "bench/run.sh: building (into $build)" >&2
[ -f "$build/build.ninja" ] || cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ninja -C "$build" hakd-server hakd-agent "$prog" >/dev/null

work="$(mktemp -d /tmp/hakd-bench.XXXXXX)"
server_pid=""
agent_pid=""
cleanup() {
  [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

token="bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
agent_token="bench-agent-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
digest() { printf %s "$1" | sha256sum | cut -d' ' -f1; }
printf 'admin sha256:%s\nagent sha256:%s\n' "$(digest "$token")" "$(digest "$agent_token")" > "$work/auth"
printf '%s\n' "$token" > "$work/token"
printf '%s\n' "$agent_token" > "$work/agent-token"

start_server() {  # $1 = database file
  "$build/server/hakd-server" --listen 127.0.0.1:0 --port-file "$work/port" \
    --auth-file "$work/auth" --db "$1" 2>"$work/server.log" &
  server_pid=$!
  for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
  [ -s "$work/port" ] || { cat "$work/server.log" >&2; exit 1; }
  port="$(cat "$work/port")"
}

# One agent on this machine, one intra-op and one inter-op thread, named
# after the host; waits until it is online.
start_agent() {
  device="bench-$(hostname | tr -c 'A-Za-z0-9._\n-' '-')"
  "$build/agent/hakd-agent" --server "127.0.0.1:$port" --token-file "$work/agent-token" \
    --name "$device" --threads 1 --interop-threads 1 2>"$work/agent.log" &
  agent_pid=$!
  for _ in $(seq 300); do grep -q "welcome\|Welcome\|connected" "$work/agent.log" 2>/dev/null && break; sleep 0.1; done
}

case "$name" in
  kd-throughput)
    # Same thread count for both; each side runs twice, interleaved, and
    # keeps its best run, so that a burst of noise from elsewhere on the
    # machine does not decide the ratio.
    threads="${HAKD_BENCH_THREADS:-$(nproc)}"
    [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import torch' 2>/dev/null || {
      echo "bench/run.sh: kd-throughput needs Debian's python3-torch (apt-get install python3-torch)" >&2; exit 1; }
    echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $threads LibTorch threads" 
    best_cpp=0; best_py=0
    for round in 1 2; do
      cpp=$("$build/bench/$prog" --mode throughput --threads "$threads" "$@" | tee "$work/cpp$round" | awk '/^kd_images_per_s_cpp:/ {print $2}')
      py=$(/usr/bin/python3 "$here/kd_pytorch.py" --threads "$threads" | tee "$work/py$round" | awk '/^kd_images_per_s_pytorch:/ {print $2}')
      echo "round $round: cpp $cpp images/s, pytorch $py images/s" >&2
      best_cpp=$(awk -v a="$best_cpp" -v b="$cpp" 'BEGIN {print (b > a) ? b : a}')
      best_py=$(awk -v a="$best_py" -v b="$py" 'BEGIN {print (b > a) ? b : a}')
    done
    grep -h "params\|torch_version\|loader_images" "$work/cpp1" "$work/py1"
    echo "method: 3 warm-up + 20 timed steps per run, best of 2 interleaved runs each"
    echo "kd_images_per_s_cpp: $best_cpp"
    echo "kd_images_per_s_pytorch: $best_py"
    awk -v a="$best_cpp" -v b="$best_py" 'BEGIN {printf "kd_throughput_ratio: %.3f\n", a / b}'
    ;;
  designer)
    "$build/bench/$prog" "$@"
    ;;
  kd-accuracy)
    echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
    "$build/bench/$prog" --mode accuracy --threads "$(nproc)" "$@"
    ;;
  fidelity)
    start_server "$work/farm.db"
    start_agent
    "$build/bench/$prog" --server "127.0.0.1:$port" --token-file "$work/token" --device "$device" "$@"
    ;;
  repeatability|sweep)
    start_server "$work/farm.db"
    start_agent
    mode=$([ "$name" = sweep ] && echo cost || echo repeatability)
    "$build/bench/$prog" --mode "$mode" --server "127.0.0.1:$port" --token-file "$work/token" --device "$device" "$@"
    ;;
  ingest)
    start_server "$work/farm.db"
    "$build/bench/hakd-bench-ingest" --server "127.0.0.1:$port" --token-file "$work/token" \
      --raw-db "$work/raw.db" "$@"
    ;;
  query)
    echo "bench/run.sh: filling a database with 1,000,000 measurements" >&2
    "$build/bench/hakd-bench-query" --populate "$work/q.db" --rows 1000000 --devices 4
    start_server "$work/q.db"
    "$build/bench/hakd-bench-query" --server "127.0.0.1:$port" --token-file "$work/token" "$@"
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
    "$build/bench/hakd-bench-query" --direct "$work/q.db" "$@"
    ;;
esac
