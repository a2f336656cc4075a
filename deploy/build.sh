#!/usr/bin/env bash
# Configures and builds HAKD farm with CMake + Ninja into build/ (or
# $HAKD_BUILD_DIR). Pass extra CMake options as arguments.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${HAKD_BUILD_DIR:-$root/build}"
# Two cores and heavy LibTorch headers: one compile job per core, and ccache
# (when installed) keeps rebuilds cheap.
jobs="${HAKD_JOBS:-$(nproc)}"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
ninja -C "$build" -j "$jobs"
