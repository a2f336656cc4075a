#!/usr/bin/env bash
# End-to-end test of the cross-built arm64 agent: runs it under
# qemu-aarch64-static -L SYSROOT (explicitly; binfmt_misc need not be
# registered) against the native amd64 coordinator, and checks that
#   1. the agent registers (its device shows up online),
#   2. its facts say aarch64 and emulated, with the evidence,
#   3. a tiny sweep (4 small layers, few samples) completes and its
#      measurements land in the latency database.
# Prints what it measured; exits 1 on any failure, keeping its logs.
#
# Binaries: HAKD_ARM64_AGENT (default build-arm64/agent/hakd-agent),
# HAKD_SERVER_BIN and HAKDCTL_BIN (default under $HAKD_BUILD_DIR, itself
# default build/). Sysroot: HAKD_ARM64_SYSROOT (default
# /var/cache/hakd/arm64-sysroot). deploy/test-arm64.sh prepares all of them.
# HAKD_ARM64_KEEP=1 keeps the temporary directory.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${HAKD_BUILD_DIR:-$root/build}"
server_bin="${HAKD_SERVER_BIN:-$build/server/hakd-server}"
ctl_bin="${HAKDCTL_BIN:-$build/cli/hakdctl}"
agent_bin="${HAKD_ARM64_AGENT:-$root/build-arm64/agent/hakd-agent}"
sysroot="${HAKD_ARM64_SYSROOT:-/var/cache/hakd/arm64-sysroot}"
qemu="${HAKD_QEMU:-qemu-aarch64-static}"
device=qemu-arm64
# Emulation is ~3000 times slower than native: LibTorch alone takes seconds
# to load, every small layer about a second.
register_limit_s=180
sweep_limit_s=600

start_s=$SECONDS
work="$(mktemp -d "${TMPDIR:-/tmp}/hakd-arm64.XXXXXX")"
pids=()
cleanup() {
  local rc=$? pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 0.5
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$rc" -ne 0 ] || [ -n "${HAKD_ARM64_KEEP:-}" ]; then
    echo "logs kept in $work" >&2
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[$(date +%T)] $*" >&2; }
fail() {
  echo "FAIL: $*" >&2
  for f in server.log agent.log; do
    [ -s "$work/$f" ] && { echo "--- last lines of $f" >&2; tail -25 "$work/$f" >&2; }
  done
  exit 1
}

for b in "$server_bin" "$ctl_bin" "$agent_bin"; do
  [ -x "$b" ] || fail "$b is not built (deploy/test-arm64.sh builds everything)"
done
[ -f "$sysroot/.hakd-stamp" ] || fail "no arm64 sysroot at $sysroot (deploy/arm64/make-sysroot.sh)"
command -v "$qemu" >/dev/null || fail "$qemu is missing (apt-get install qemu-user-static)"
command -v jq >/dev/null || fail "jq is missing (apt-get install jq)"
file_out="$(file -L "$agent_bin" 2>/dev/null || true)"
case "$file_out" in
  *aarch64*|*ARM*|"") ;;
  *) fail "$agent_bin is not an arm64 binary: $file_out" ;;
esac

# Credentials: digests only in the auth file; the agent's token is bound to
# its device, as the README recommends for boards.
: >"$work/auth"
make_token() {  # ROLE FILE [hakdctl flags...]
  local role="$1" out="$2" json
  shift 2
  json="$("$ctl_bin" admin token create --role "$role" "$@" --json)"
  jq -r .token <<<"$json" >"$out"
  chmod 600 "$out"
  jq -r .auth_line <<<"$json" >>"$work/auth"
}
make_token admin "$work/admin.token"
make_token agent "$work/agent.token" --device "$device" --name "$device"

"$server_bin" --listen 127.0.0.1:0 --port-file "$work/port" --db "$work/hakd.db" \
  --auth-file "$work/auth" >"$work/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do [ -s "$work/port" ] && break; sleep 0.05; done
[ -s "$work/port" ] || fail "hakd-server did not start"
port="$(cat "$work/port")"
ctl() { "$ctl_bin" --server "127.0.0.1:$port" --token-file "$work/admin.token" "$@"; }
log "coordinator on 127.0.0.1:$port"

agent_start_s=$SECONDS
"$qemu" -L "$sysroot" "$agent_bin" --server "127.0.0.1:$port" \
  --token-file "$work/agent.token" --name "$device" --threads 1 \
  --heartbeat-ms 2000 --spool none --batch-size 1 --batch-flush-ms 200 \
  >"$work/agent.log" 2>&1 &
agent_pid=$!
pids+=($agent_pid)
online=""
while [ $((SECONDS - agent_start_s)) -lt "$register_limit_s" ]; do
  kill -0 "$agent_pid" 2>/dev/null || fail "the emulated agent exited"
  if ctl devices show "$device" --json >"$work/device.json" 2>/dev/null &&
     [ "$(jq -r .online "$work/device.json")" = true ]; then
    online=1
    break
  fi
  sleep 1
done
[ -n "$online" ] || fail "the agent did not register within $register_limit_s s"
register_s=$((SECONDS - agent_start_s))
arch="$(jq -r .facts.arch "$work/device.json")"
emulated="$(jq -r .facts.emulated "$work/device.json")"
evidence="$(jq -r .facts.emulation_evidence "$work/device.json")"
log "registered after $register_s s: arch $arch, emulated $emulated ($evidence)"
[ "$arch" = aarch64 ] || fail "facts.arch is '$arch', expected aarch64"
[ "$emulated" = true ] || fail "facts.emulated is '$emulated', expected true"
[ -n "$evidence" ] && [ "$evidence" != null ] || fail "no facts.emulation_evidence"
ctl devices list >"$work/devices.txt"
grep -q "aarch64 (emulated)" "$work/devices.txt" ||
  { cat "$work/devices.txt" >&2; fail "devices list does not mark the agent emulated"; }

# A handful of small layers, few samples, no re-measuring, no reference
# kernel (the throttling detector would spend most of the time).
sweep_start_s=$SECONDS
ctl sweep start --device "$device" \
  --family "conv2d:k=3:c=4-6:res=8" --family "linear:c=16" --chunk-size 2 \
  --warmup-runs 1 --min-samples 3 --max-samples 5 --min-sample-ms 1 \
  --max-seconds-per-layer 3 --stable-cv 1 --max-cv 10 --max-remeasure 0 \
  --reference-interval-s 0 --json >"$work/sweep.json" ||
  fail "sweep start refused: $(cat "$work/sweep.json")"
sweep="$(jq -r .id "$work/sweep.json")"
total="$(jq -r '.total // empty' "$work/sweep.json")"
log "sweep $sweep started${total:+ ($total layers)}"
set +e
timeout "$sweep_limit_s" "$ctl_bin" --server "127.0.0.1:$port" \
  --token-file "$work/admin.token" sweep watch "$sweep" >"$work/watch.txt" 2>&1
watch_rc=$?
set -e
sweep_s=$((SECONDS - sweep_start_s))
[ "$watch_rc" -eq 0 ] || { cat "$work/watch.txt" >&2; fail "sweep watch exited $watch_rc after $sweep_s s"; }

ctl latency query --device "$device" --json >"$work/query.json"
count="$(jq '.measurements | length' "$work/query.json")"
[ "$count" -eq 4 ] || { cat "$work/query.json" >&2; fail "expected 4 measurements, got $count"; }
bad="$(jq '[.measurements[] | select((.median_us // 0) <= 0)] | length' "$work/query.json")"
[ "$bad" -eq 0 ] || fail "$bad measurements without a positive median"
# Every measurement is marked as the emulator's, not a board's.
unmarked="$(jq '[.measurements[] | select(.emulated != true)] | length' "$work/query.json")"
[ "$unmarked" -eq 0 ] || fail "$unmarked measurements not marked emulated in latency query --json"
ctl devices list >"$work/devices.txt"
ctl devices show "$device" >"$work/show.txt"
grep -q "^emulated: *yes: " "$work/show.txt" || { cat "$work/show.txt" >&2; fail "devices show does not say emulated"; }

echo "== arm64 agent under qemu =="
sed -n 's/^/  /p' "$work/devices.txt"
grep -E "^(arch|cpu|os|libtorch|blas library|emulated):" "$work/show.txt" | sed 's/^/  /'
echo "  registered (LibTorch loaded under qemu) after ${register_s} s; sweep $sweep of $count layers in ${sweep_s} s"
jq -r '.measurements[] | .layer as $l |
  "  \($l.kind) in=\($l.in_channels) out=\($l.out_channels) res=\($l.height) k=\($l.kernel): median \(.median_us * 10 | round / 10) us, \(.samples) samples x \(.runs_per_sample) runs"' \
  "$work/query.json"
echo "  total $((SECONDS - start_s)) s"
echo PASS
