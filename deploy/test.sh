#!/usr/bin/env bash
# Quick start, second command: installs what is needed, builds everything
# with the tests, and runs the whole suite with CTest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${HAKD_BUILD_DIR:-$root/build}"
bash "$root/deploy/install-deps.sh"
HAKD_BUILD_DIR="$build" bash "$root/deploy/build.sh" -DHAKD_BUILD_TESTS=ON
cd "$build"
ctest --output-on-failure --timeout 600 "$@"
