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
)

usage() {
  echo "usage: bench/run.sh NAME"
  echo "benchmarks:"
  for name in "${!what[@]}"; do printf '  %-8s %s\n' "$name" "${what[$name]}"; done | sort
}

[ $# -ge 1 ] || { usage; exit 0; }
name="$1"; shift
[ -n "${what[$name]:-}" ] || { echo "bench/run.sh: unknown benchmark '$name'" >&2; usage >&2; exit 2; }

if [ ! -x "$build/server/hakd-server" ] || [ ! -x "$build/bench/hakd-bench-$name" ]; then
  echo "bench/run.sh: building (into $build)" >&2
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C "$build" hakd-server "hakd-bench-$name" >/dev/null
fi

work="$(mktemp -d /tmp/hakd-bench.XXXXXX)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

token="bench-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf 'admin %s\n' "$token" > "$work/auth"
printf '%s\n' "$token" > "$work/token"

start_server() {  # $1 = database file
  "$build/server/hakd-server" --listen 127.0.0.1:0 --port-file "$work/port" \
    --auth-file "$work/auth" --db "$1" 2>"$work/server.log" &
  server_pid=$!
  for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
  [ -s "$work/port" ] || { cat "$work/server.log" >&2; exit 1; }
  port="$(cat "$work/port")"
}

case "$name" in
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
