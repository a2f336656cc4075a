#!/usr/bin/env bash
# The unit tests under AddressSanitizer + UndefinedBehaviorSanitizer: builds
# the torch-free tree with -DHAKD_SANITIZE=address into build-asan/ (or
# $HAKD_ASAN_BUILD_DIR) and runs `ctest -L unit`. Any sanitizer report fails
# its test. Extra arguments go to ctest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${HAKD_ASAN_BUILD_DIR:-$root/build-asan}"
bash "$root/deploy/install-deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DHAKD_BUILD_TORCH=OFF -DHAKD_BUILD_TESTS=ON -DHAKD_SANITIZE=address >/dev/null
ninja -C "$build" -j "${HAKD_JOBS:-$(nproc)}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
cd "$build"
ctest -L unit --output-on-failure --timeout 600 "$@"
