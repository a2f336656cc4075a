#!/usr/bin/env bash
# Cross-builds hakd-agent (and with --worker hakd-worker) for arm64 Debian 12
# on an amd64 Debian 12 machine, against the sysroot that
# deploy/arm64/make-sysroot.sh makes (built first when missing).
#
#   bash deploy/arm64/cross-build.sh [--worker] [EXTRA CMAKE OPTIONS...]
#
# Build directory: $HAKD_ARM64_BUILD_DIR, default build-arm64/ in the
# checkout. Sysroot: $HAKD_ARM64_SYSROOT, default
# /var/cache/hakd/arm64-sysroot. Jobs: $HAKD_JOBS, default nproc. ccache is
# used when installed (the top-level CMakeLists.txt picks it up).
# Prints the binaries' paths when done; they run on an arm64 board with
# Debian's runtime packages (README, "arm64 boards") or here under
# qemu-aarch64-static -L SYSROOT.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${HAKD_ARM64_BUILD_DIR:-$root/build-arm64}"
export HAKD_ARM64_SYSROOT="${HAKD_ARM64_SYSROOT:-/var/cache/hakd/arm64-sysroot}"
jobs="${HAKD_JOBS:-$(nproc)}"

targets=(hakd-agent)
if [ "${1:-}" = "--worker" ]; then
  targets+=(hakd-worker)
  shift
fi

for tool in aarch64-linux-gnu-g++ protoc grpc_cpp_plugin cmake ninja; do
  command -v "$tool" >/dev/null ||
    { echo "cross-build: $tool is missing (deploy/test-arm64.sh installs it)" >&2; exit 1; }
done
bash "$root/deploy/arm64/make-sysroot.sh" "$HAKD_ARM64_SYSROOT"

start=$SECONDS
cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_TOOLCHAIN_FILE="$root/deploy/arm64/aarch64-linux-gnu.cmake" \
  -DHAKD_ARM64_SYSROOT="$HAKD_ARM64_SYSROOT" \
  -DCMAKE_BUILD_TYPE=Release -DHAKD_BUILD_TESTS=OFF -DHAKD_BUILD_TORCH=ON \
  "$@" >/dev/null
ninja -C "$build" -j "$jobs" "${targets[@]}"
echo "cross-build: ${targets[*]} for arm64 in $((SECONDS - start)) s:" >&2
for t in "${targets[@]}"; do
  case "$t" in
    hakd-agent) echo "$build/agent/hakd-agent" ;;
    hakd-worker) echo "$build/worker/hakd-worker" ;;
  esac
done
