#!/usr/bin/env bash
# The arm64 check of CI: installs the cross toolchain and qemu-user, makes
# (or reuses) the arm64 sysroot of Debian packages, cross-builds hakd-agent
# into build-arm64/, and runs it under qemu-aarch64-static against the
# native coordinator and hakdctl of build/ (built by deploy/test.sh; built
# here when missing) with tests/arm64/qemu_agent_test.sh.
#
# Env: HAKD_ARM64_SYSROOT (default /var/cache/hakd/arm64-sysroot; keep it
# between CI runs to skip the download), HAKD_ARM64_BUILD_DIR (build-arm64),
# HAKD_BUILD_DIR (build), HAKD_JOBS.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${HAKD_BUILD_DIR:-$root/build}"
export HAKD_ARM64_SYSROOT="${HAKD_ARM64_SYSROOT:-/var/cache/hakd/arm64-sysroot}"
start=$SECONDS

bash "$root/deploy/install-deps.sh"
PACKAGES=(g++-aarch64-linux-gnu qemu-user-static jq file)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test-arm64: missing packages: ${missing[*]}; run as root" >&2
    exit 1
  fi
  echo "test-arm64: installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" || {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}"
  }
fi

t=$SECONDS
bash "$root/deploy/arm64/make-sysroot.sh" "$HAKD_ARM64_SYSROOT"
echo "test-arm64: sysroot ready in $((SECONDS - t)) s"

t=$SECONDS
bash "$root/deploy/arm64/cross-build.sh" >/dev/null
echo "test-arm64: hakd-agent cross-built in $((SECONDS - t)) s"

if [ ! -x "$build/server/hakd-server" ] || [ ! -x "$build/cli/hakdctl" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C "$build" -j "${HAKD_JOBS:-$(nproc)}" hakd-server hakdctl
fi

HAKD_BUILD_DIR="$build" bash "$root/tests/arm64/qemu_agent_test.sh"
echo "test-arm64: done in $((SECONDS - start)) s"
