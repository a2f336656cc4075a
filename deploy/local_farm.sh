# A whole farm on this machine, for the quick start and the benchmarks:
# sourced (not run) by deploy/quickstart.sh and bench/hakd_eval.sh.
#
#   farm_init DIR         tokens (admin, reader, agent, worker) and auth file in DIR, once
#   farm_start_server     hakd-server on 127.0.0.1:$FARM_PORT (0: any free port), database DIR/hakd.db
#   farm_start_agent NAME THREADS    hakd-agent for this machine's CPU; waits until online
#   farm_start_worker NAME THREADS   hakd-worker on the CPU
#   ctl ARGS...           hakdctl as admin
#   farm_device_name      this host's name, made a valid device name
#
# Everything started is stopped when the sourcing shell exits.
# Needs $build (the build directory).

farm_pids=()
farm_stop() {
  for pid in "${farm_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${farm_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  farm_pids=()
}
trap farm_stop EXIT

farm_init() {
  farm_home="$1"
  mkdir -p "$farm_home"
  chmod 700 "$farm_home"
  # Rewritten when missing or from before digests (tokens in clear).
  if [ ! -s "$farm_home/auth.txt" ] || ! grep -q '^worker sha256:' "$farm_home/auth.txt"; then
    gen() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
    (
      umask 077
      for role in admin reader agent worker; do
        [ -s "$farm_home/$role.token" ] || { gen > "$farm_home/$role.token"; echo >> "$farm_home/$role.token"; }
      done
      # The auth file keeps only each token's SHA-256 (docs/security.md).
      {
        echo "# HAKD farm: ROLE sha256:DIGEST name=IDENTITY"
        for role in admin reader agent worker; do
          echo "$role sha256:$(tr -d ' \n' < "$farm_home/$role.token" | sha256sum | cut -d' ' -f1) name=local-$role"
        done
      } > "$farm_home/auth.txt"
    )
  fi
}

farm_device_name() {
  local name
  name="$(hostname | tr -c 'A-Za-z0-9._\n-' '-' | cut -c1-60)"
  case "$name" in [A-Za-z]*) ;; *) name="host-$name" ;; esac
  echo "$name"
}

farm_start_server() {
  rm -f "$farm_home/port"
  "$build/server/hakd-server" --listen "127.0.0.1:${FARM_PORT:-0}" --db "$farm_home/hakd.db" \
    --auth-file "$farm_home/auth.txt" --port-file "$farm_home/port" "$@" \
    2>>"$farm_home/server.log" &
  farm_pids+=($!)
  for _ in $(seq 100); do [ -s "$farm_home/port" ] && break; sleep 0.1; done
  [ -s "$farm_home/port" ] || { echo "the coordinator did not start:" >&2; cat "$farm_home/server.log" >&2; return 1; }
  farm_address="127.0.0.1:$(cat "$farm_home/port")"
}

ctl() { "$build/cli/hakdctl" --server "$farm_address" --token-file "$farm_home/admin.token" "$@"; }

farm_start_agent() {  # NAME THREADS
  "$build/agent/hakd-agent" --server "$farm_address" --token-file "$farm_home/agent.token" \
    --name "$1" --threads "$2" 2>>"$farm_home/agent.log" &
  farm_pids+=($!)
  for _ in $(seq 300); do
    ctl devices list 2>/dev/null | grep -q "^ *[0-9]* *$1 .* online " && return 0
    ctl devices list 2>/dev/null | grep "$1" | grep -q " online" && return 0
    sleep 0.2
  done
  echo "the agent did not come online:" >&2; tail -5 "$farm_home/agent.log" >&2; return 1
}

farm_start_worker() {  # NAME THREADS
  "$build/worker/hakd-worker" --server "$farm_address" --token-file "$farm_home/worker.token" \
    --name "$1" --threads "$2" 2>>"$farm_home/worker.log" &
  farm_pids+=($!)
}

# The value of the first "KEY": VALUE in JSON text on stdin (numbers and
# strings; enough for hakdctl's --json output).
json_field() {
  grep -o "\"$1\": *\"\?[^\",}]*" | head -1 | sed 's/.*: *"\?//'
}
