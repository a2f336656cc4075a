#!/usr/bin/env bash
# bench/run.sh fuzz [SECONDS_PER_TARGET]: runs every libFuzzer target of
# tests/fuzz for SECONDS_PER_TARGET (default 600) each, one after another on
# one core, and prints per target: executions, executions per second, the
# corpus it ended with, coverage (libFuzzer's cov: and ft: of its last
# status line) and crashes; then the machine and the method. Exits 1 when
# any target crashed (or leaked, timed out or ran out of memory).
#
# The committed corpora (tests/fuzz/corpus/<name>) are copied to a scratch
# folder that the run grows; they are not changed unless HAKD_FUZZ_MERGE=1,
# which merges into them what added coverage (libFuzzer -merge=1).
# Environment (defaults): HAKD_FUZZ_BUILD_DIR (build-fuzz), HAKD_FUZZ_WORK
# (run/fuzz: scratch corpora, logs, crash inputs), HAKD_FUZZ_TARGETS (all:
# names such as "idx auth_file"), HAKD_FUZZ_MERGE (0), HAKD_JOBS (nproc, for
# the build). Inputs slower than 10 s (slow-unit-*) are kept and listed but
# are not findings; a run interrupted from outside counts what it did.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
seconds="${1:-600}"
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "bench/run.sh fuzz: SECONDS_PER_TARGET must be a whole number >= 1" >&2; exit 2; }
build="${HAKD_FUZZ_BUILD_DIR:-$root/build-fuzz}"
work="${HAKD_FUZZ_WORK:-$root/run/fuzz}"
corpora="$root/tests/fuzz/corpus"

echo "bench/run.sh: building the fuzz targets (into $build)" >&2
if [ ! -f "$build/build.ninja" ]; then
  command -v clang++ >/dev/null || { echo "bench/run.sh fuzz: needs clang (apt-get install clang)" >&2; exit 1; }
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DHAKD_BUILD_TORCH=OFF -DHAKD_BUILD_TESTS=OFF \
    -DHAKD_BUILD_FUZZERS=ON -DHAKD_SANITIZE=address >/dev/null
fi
ninja -C "$build" -j "${HAKD_JOBS:-$(nproc)}" fuzzers >/dev/null

if [ -n "${HAKD_FUZZ_TARGETS:-}" ]; then
  read -r -a targets <<< "$HAKD_FUZZ_TARGETS"
else
  targets=()
  for dir in "$corpora"/*/; do targets+=("$(basename "$dir")"); done
fi

mkdir -p "$work"
total_execs=0
total_crashes=0
printf '%-17s %12s %9s %15s %7s %7s %8s\n' target execs exec/s corpus cov ft crashes
for name in "${targets[@]}"; do
  fuzzer="$build/tests/fuzz/${name}_fuzzer"
  [ -x "$fuzzer" ] || { echo "bench/run.sh fuzz: no fuzz target '$name' ($fuzzer)" >&2; exit 2; }
  scratch="$work/corpus/$name"
  crashes="$work/crashes/$name"
  log="$work/$name.log"
  rm -rf "$crashes"
  mkdir -p "$scratch" "$crashes"
  cp -n "$corpora/$name"/* "$scratch"/ 2>/dev/null || true
  # -timeout: an input slower than 25 s is a finding; -rss_limit_mb: so is
  # one that needs 2 GB. The run stops at the first crash.
  "$fuzzer" -max_total_time="$seconds" -print_final_stats=1 -timeout=25 \
    -rss_limit_mb=2048 -artifact_prefix="$crashes/" "$scratch" >"$log" 2>&1 || true
  execs=$(awk '/^stat::number_of_executed_units:/ {print $2}' "$log")
  rate=$(awk '/^stat::average_exec_per_sec:/ {print $2}' "$log")
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$last")
  files=$(find "$scratch" -type f | wc -l)
  bytes=$(du -sb "$scratch" | cut -f1)
  # crash-, leak-, timeout- and oom- files are findings; slow-unit- files
  # (inputs over 10 s) are only listed.
  found=$(find "$crashes" -type f -regex '.*/\(crash\|leak\|timeout\|oom\)-.*' | wc -l)
  printf '%-17s %12s %9s %15s %7s %7s %8s\n' "$name" "${execs:-?}" "${rate:-?}" \
    "$files/$((bytes / 1024))KB" "${cov:-?}" "${ft:-?}" "$found"
  find "$crashes" -type f | sort | sed 's/^/  input kept: /'
  if [ "$found" -gt 0 ]; then
    grep -m 3 -E 'ERROR: |runtime error: |fuzz invariant' "$log" | sed 's/^/  /' || true
  fi
  if [ "${HAKD_FUZZ_MERGE:-0}" = 1 ]; then
    "$fuzzer" -merge=1 "$corpora/$name" "$scratch" >>"$log" 2>&1
  fi
  total_execs=$((total_execs + ${execs:-0}))
  total_crashes=$((total_crashes + found))
done

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
echo "method: clang $(clang++ --version | sed -n 's/.*clang version \([0-9.]*\).*/\1/p') libFuzzer with ASan+UBSan, one target at a time on one core, ${seconds} s each (-max_total_time), starting from a scratch copy of tests/fuzz/corpus/<target> in $work/corpus; cov/ft from libFuzzer's last status line, corpus as files/size at the end; logs and crash inputs in $work"
echo "fuzz_targets: ${#targets[@]}"
echo "fuzz_seconds_per_target: $seconds"
echo "fuzz_total_execs: $total_execs"
echo "fuzz_crashes: $total_crashes"
[ "$total_crashes" -eq 0 ]
