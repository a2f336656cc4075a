#!/usr/bin/env bash
# Quick start, first command: installs the packages, builds, starts a local
# coordinator with its SQLite file and a local agent, profiles this machine's
# CPU with a sweep (progress shown), and prints what was measured, staircases
# included. Everything it makes lives under run/ (or $HAKD_HOME):
#   run/hakd.db          the latency database
#   run/auth.txt         tokens (admin, reader, agent), created once
#   run/staircases.svg   latency against channel count
#   run/*.log            coordinator and agent logs
# Environment: HAKD_PRESET (default "quick"; "default" is the full grid), HAKD_THREADS (default 1),
# HAKD_PORT (default 50051).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${HAKD_BUILD_DIR:-$root/build}"
home="${HAKD_HOME:-$root/run}"
preset="${HAKD_PRESET:-quick}"
threads="${HAKD_THREADS:-1}"
port="${HAKD_PORT:-50051}"

bash "$root/deploy/install-deps.sh"
echo "== building"
HAKD_BUILD_DIR="$build" bash "$root/deploy/build.sh"

mkdir -p "$home"
chmod 700 "$home"
if [ ! -s "$home/auth.txt" ]; then
  gen() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
  umask 077
  for role in admin reader agent; do gen > "$home/$role.token"; echo >> "$home/$role.token"; done
  {
    echo "# HAKD farm tokens: ROLE TOKEN"
    for role in admin reader agent; do echo "$role $(cat "$home/$role.token")"; done
  } > "$home/auth.txt"
fi

# The device name: this host's name made valid (a letter first).
name="$(hostname | tr -c 'A-Za-z0-9._\n-' '-' | cut -c1-60)"
case "$name" in [A-Za-z]*) ;; *) name="host-$name" ;; esac

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

echo "== starting the coordinator on 127.0.0.1:$port (database $home/hakd.db)"
rm -f "$home/port"
"$build/server/hakd-server" --listen "127.0.0.1:$port" --db "$home/hakd.db" \
  --auth-file "$home/auth.txt" --port-file "$home/port" 2>"$home/server.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$home/port" ] && break; sleep 0.1; done
[ -s "$home/port" ] || { echo "quickstart: the coordinator did not start:" >&2; cat "$home/server.log" >&2; exit 1; }

echo "== starting the agent '$name' ($threads thread(s))"
"$build/agent/hakd-agent" --server "127.0.0.1:$port" --token-file "$home/agent.token" \
  --name "$name" --threads "$threads" 2>"$home/agent.log" &
pids+=($!)

ctl() { "$build/cli/hakdctl" --server "127.0.0.1:$port" --token-file "$home/admin.token" "$@"; }
for _ in $(seq 300); do
  ctl devices list 2>/dev/null | grep -q " online " && break
  sleep 0.2
done
ctl devices list

echo "== sweeping preset '$preset' on '$name'"
ctl sweep start --device "$name" --preset "$preset" --watch

echo "== summary"
ctl latency summary --device "$name"
ctl latency staircase --device "$name" --svg "$home/staircases.svg" >/dev/null
student="$root/docs/examples/wrn-16-2-student.json"
echo "== predicting a WRN-16-2 student ($student): its missing units are measured first"
ctl latency predict --device "$name" --spec "$student" --measure-missing
echo "== timing the same student end to end, to compare"
ctl sweep start --device "$name" --network "$student" --label quickstart-check --watch
ctl latency export --device "$name" --units --format json 2>/dev/null | grep -o '"median_us": *[0-9.]*' | tail -1 \
  | awk -F: '{printf "measured end to end: %.3f ms (median)\n", $2 / 1000}' || true
echo
echo "database:  $home/hakd.db"
echo "plot:      $home/staircases.svg"
echo "to serve it again:  $build/server/hakd-server --db $home/hakd.db --auth-file $home/auth.txt &"
echo "then query it:      $build/cli/hakdctl --token-file $home/reader.token latency query --device $name --kind conv2d --kernel 3 --channels 64"
echo "(the coordinator and agent stop now)"
