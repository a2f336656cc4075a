# Shared by the fault scripts (sourced, not run): where the binaries are, a
# fresh temporary directory with a digest auth file and one token per role,
# the coordinator's start and restart, and clean-up of every process the
# script started (by pid) on exit.
#
# Binaries: HAKD_SERVER_BIN, HAKD_SIM_BIN, HAKDCTL_BIN (default: under
# HAKD_BUILD_DIR, itself default build/), HAKD_AGENT_BIN, HAKD_WORKER_BIN
# (default: under BUILD_TORCH, default build/). HAKD_FAULT_KEEP=1 keeps the
# temporary directory (it is always kept, and named, after a failure).

fault_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
fault_root="$(cd "$fault_here/../.." && pwd)"
fault_build="${HAKD_BUILD_DIR:-$fault_root/build}"
fault_build_torch="${BUILD_TORCH:-$fault_root/build}"
server_bin="${HAKD_SERVER_BIN:-$fault_build/server/hakd-server}"
sim_bin="${HAKD_SIM_BIN:-$fault_build/tests/fault/hakd-sim}"
ctl_bin="${HAKDCTL_BIN:-$fault_build/cli/hakdctl}"
agent_bin="${HAKD_AGENT_BIN:-$fault_build_torch/agent/hakd-agent}"
worker_bin="${HAKD_WORKER_BIN:-$fault_build_torch/worker/hakd-worker}"

# CTest's SKIP_RETURN_CODE: a prerequisite is missing, nothing was tested.
readonly FAULT_SKIP=77

work="$(mktemp -d "${TMPDIR:-/tmp}/hakd-fault.XXXXXX")"
fault_start_s=$SECONDS
fault_pids=()     # every background process started, killed on exit
server_pid=""
server_port=0
server_runs=0

fault_cleanup() {
  local rc=$?
  local pid
  for pid in "${fault_pids[@]}" $server_pid; do
    kill -9 "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  if [ "$rc" -ne 0 ] && [ "$rc" -ne "$FAULT_SKIP" ] || [ -n "${HAKD_FAULT_KEEP:-}" ]; then
    echo "logs kept in $work" >&2
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap fault_cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[$(date +%T)] $*" >&2; }

# Exits with FAULT_SKIP unless every named file is executable.
require_bins() {
  local b
  for b in "$@"; do
    if [ ! -x "$b" ]; then
      echo "SKIP: $b is not built" >&2
      exit "$FAULT_SKIP"
    fi
  done
}

# Milliseconds since the epoch, the clock of hakd-sim's t_ms= event times.
now_ms() { date +%s%3N; }

# A uniformly random number of seconds in [lo, hi], two decimals.
random_between() {
  awk -v lo="$1" -v hi="$2" -v r="$RANDOM" 'BEGIN { printf "%.2f", lo + (hi - lo) * r / 32767 }'
}

# Writes ROLE.token for agent, worker, reader and admin and the auth file
# holding their SHA-256 digests (never the tokens), one identity each.
make_auth() {
  local role token
  : > "$work/auth"
  for role in admin reader agent worker; do
    token="fault-$role-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    printf '%s\n' "$token" > "$work/$role.token"
    printf '%s sha256:%s name=fault-%s\n' "$role" \
      "$(printf %s "$token" | sha256sum | cut -d' ' -f1)" "$role" >> "$work/auth"
  done
}

# Starts hakd-server on server_port (0 the first time: picks one, which is
# kept for restarts) with the database $work/hakd.db and extra flags "$@";
# waits until it serves. A restart right after a SIGKILL may find the port
# busy for a moment: it is retried.
start_server() {
  local attempt
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    rm -f "$work/port"
    server_runs=$((server_runs + 1))
    "$server_bin" --listen "127.0.0.1:$server_port" --port-file "$work/port" \
      --db "$work/hakd.db" --auth-file "$work/auth" "$@" \
      >>"$work/server.log" 2>&1 &
    server_pid=$!
    local i
    for i in $(seq 200); do
      [ -s "$work/port" ] && break
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.05
    done
    if [ -s "$work/port" ]; then
      server_port="$(cat "$work/port")"
      return 0
    fi
    kill -9 "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
    sleep 0.2
  done
  echo "FAIL: hakd-server did not start; its log:" >&2
  tail -20 "$work/server.log" >&2
  exit 1
}

# SIGKILLs the coordinator and reaps it.
kill_server() {
  [ -n "$server_pid" ] || return 0
  kill -9 "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# Stops the coordinator with SIGTERM (it checkpoints the database).
stop_server() {
  [ -n "$server_pid" ] || return 0
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# Runs hakdctl against the coordinator with ROLE's token: ctl ROLE ARGS...
ctl() {
  local role="$1"
  shift
  "$ctl_bin" --server "127.0.0.1:$server_port" --token-file "$work/$role.token" "$@"
}

# Waits until no pid of "$@" is alive, at most $wait_limit seconds (default
# 120); returns 1 on timeout.
wait_for_exit() {
  local limit="${wait_limit:-120}" start=$SECONDS pid alive
  while :; do
    alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && return 0
    [ $((SECONDS - start)) -ge "$limit" ] && return 1
    sleep 0.2
  done
}

# The value of "key: value" in a file of such lines.
field() { awk -v k="$2:" '$1 == k { print $2 }' "$1" | tail -1; }

# The elapsed wall time of this script, for the summary.
elapsed() { echo "$((SECONDS - fault_start_s)) s"; }
