#!/usr/bin/env bash
# Builds an arm64 (aarch64) sysroot for cross-building hakd-agent and
# hakd-worker from Debian 12's own arm64 packages: the packages' closure is
# resolved with apt, downloaded with `apt-get download` and unpacked with
# `dpkg -x` -- nothing is installed on this machine.
#
#   bash deploy/arm64/make-sysroot.sh [SYSROOT]
#
# SYSROOT defaults to $HAKD_ARM64_SYSROOT, else /var/cache/hakd/arm64-sysroot
# (outside the checkout, so CI can cache it). A stamp file SYSROOT/.hakd-stamp
# records the request and the exact package versions; a second run with the
# same request returns at once. HAKD_SYSROOT_REFRESH=1 re-resolves against
# Debian (after apt-get update) and rebuilds only when a version changed.
#
# Needs root the first time (dpkg --add-architecture arm64, apt-get update).
set -euo pipefail

sysroot="${1:-${HAKD_ARM64_SYSROOT:-/var/cache/hakd/arm64-sysroot}}"
stamp="$sysroot/.hakd-stamp"

# What the agent and the worker link against. The closure adds the rest
# (libc6-dev, libstdc++-12-dev, blas, ...).
PACKAGES=(
  libtorch-dev libgrpc++-dev libprotobuf-dev protobuf-compiler-grpc
  libabsl-dev libsqlite3-dev libssl-dev zlib1g-dev libgloo-dev
  libc6-dev libstdc++-12-dev
)

# The request: the package list and this script (its unpacking rules).
request="$( { printf '%s\n' "${PACKAGES[@]}"; cat "${BASH_SOURCE[0]}"; } |
            sha256sum | cut -d' ' -f1)"

log() { echo "make-sysroot: $*" >&2; }

if [ -f "$stamp" ] && [ "${HAKD_SYSROOT_REFRESH:-0}" != 1 ] &&
   [ "$(sed -n 's/^request //p' "$stamp")" = "$request" ]; then
  log "$sysroot is up to date ($(grep -c '^pkg ' "$stamp") packages)"
  exit 0
fi

start=$SECONDS
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  [ "$(id -u)" -eq 0 ] || { log "run as root: dpkg --add-architecture arm64"; exit 1; }
  log "dpkg --add-architecture arm64"
  dpkg --add-architecture arm64
fi
lists_have_arm64() {
  compgen -G '/var/lib/apt/lists/*binary-arm64_Packages*' >/dev/null
}
if ! lists_have_arm64 || [ "${HAKD_SYSROOT_REFRESH:-0}" = 1 ]; then
  [ "$(id -u)" -eq 0 ] || { log "run as root: apt-get update"; exit 1; }
  log "apt-get update"
  apt-get update -qq
fi
lists_have_arm64 || { log "no arm64 package lists after apt-get update"; exit 1; }

# Resolve the closure as if nothing were installed (an empty dpkg status):
# `apt-get -s install` prints one "Inst NAME[:ARCH] (VERSION ...)" line per
# package. `apt-cache depends --recurse` would explode on alternatives.
work="$(mktemp -d "${TMPDIR:-/tmp}/hakd-sysroot.XXXXXX")"
trap 'rm -rf "$work"' EXIT
: >"$work/status"
args=()
for p in "${PACKAGES[@]}"; do args+=("$p:arm64"); done
apt-get -s -q -o Dir::State::status="$work/status" -o APT::Install-Recommends=0 \
  -o APT::Install-Suggests=0 install "${args[@]}" >"$work/sim" ||
  { cat "$work/sim" >&2; log "apt could not resolve the arm64 packages"; exit 1; }
# Keep arm64 and arch-independent packages; host tools (python3*, perl) that
# Multi-Arch: foreign dependencies drag in are never needed to link.
awk '/^Inst /{
       name=$2; ver=$3; sub(/^\(/, "", ver)
       arch="arm64"; if (name ~ /:/) { split(name, a, ":"); name=a[1]; arch=a[2] }
       if (match($0, /\[[a-z0-9]+\]\)$/)) arch=substr($0, RSTART+1, RLENGTH-3)
       print name, arch, ver
     }' "$work/sim" |
  awk '$2 == "arm64" || $2 == "all"' |
  grep -Ev '^(python3|libpython3|perl|perl-modules|libperl)' |
  sort -u >"$work/closure"
count=$(wc -l <"$work/closure")
[ "$count" -gt 0 ] || { log "empty package closure"; exit 1; }
pkglines="$(awk '{print "pkg " $1 ":" $2 " " $3}' "$work/closure")"

if [ -f "$stamp" ] && [ "$(grep '^pkg ' "$stamp")" = "$pkglines" ]; then
  # Same versions as already unpacked: only the request hash changed.
  { echo "request $request"; echo "$pkglines"; } >"$stamp"
  log "$sysroot already holds these $count package versions"
  exit 0
fi

log "downloading $count packages"
mkdir -p "$work/debs"
# apt downloads as its sandbox user _apt, which must be able to write there.
chmod 755 "$work"
if id _apt >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then chown _apt "$work/debs"; fi
(cd "$work/debs" &&
 awk '{print ($2 == "all" ? $1 : $1 ":" $2) "=" $3}' "$work/closure" | xargs -r apt-get download -qq)
mb=$(du -sm "$work/debs" | cut -f1)

log "unpacking into $sysroot"
rm -rf "$sysroot.new"
mkdir -p "$sysroot.new"
for deb in "$work/debs"/*.deb; do dpkg -x "$deb" "$sysroot.new"; done
# Debian 12 merges /usr: the dynamic linker and libc are found via /lib.
for d in lib bin sbin; do
  if [ -d "$sysroot.new/$d" ] && [ ! -L "$sysroot.new/$d" ]; then
    mkdir -p "$sysroot.new/usr/$d"
    cp -a "$sysroot.new/$d/." "$sysroot.new/usr/$d/"
    rm -rf "${sysroot:?}.new/$d"
  fi
  ln -sfn "usr/$d" "$sysroot.new/$d"
done

# dpkg -x keeps absolute symlinks (/usr/lib/...), which would point into the
# host: make them relative to their own directory inside the sysroot.
relink_absolute() {
  local root="$1" link target dir rel
  while IFS= read -r -d '' link; do
    target="$(readlink "$link")"
    [[ "$target" = /* ]] || continue
    dir="$(dirname "${link#"$root"}")"
    rel="$(realpath -m -s --relative-to="$dir" "$target")"
    ln -sfn "$rel" "$link"
  done < <(find "$root" -type l -print0)
}
relink_absolute "$sysroot.new"

# dpkg -x runs no maintainer scripts, so update-alternatives never made the
# libblas.so.3 / liblapack.so.3 links: point them at the reference (or
# OpenBLAS) implementation the closure brought.
multi="$sysroot.new/usr/lib/aarch64-linux-gnu"
for lib in blas lapack; do
  for so in "lib$lib.so.3" "lib$lib.so"; do
    [ -e "$multi/$so" ] && continue
    cand="$(ls -d "$multi"/openblas-pthread/"$so" "$multi"/"$lib"/"$so" 2>/dev/null | head -n1 || true)"
    if [ -n "$cand" ]; then
      ln -sfn "${cand#"$multi"/}" "$multi/$so"
    fi
  done
done
[ -e "$multi/libblas.so.3" ] || { log "no libblas.so.3 in the closure"; exit 1; }

{ echo "request $request"; echo "$pkglines"; } >"$sysroot.new/.hakd-stamp"
rm -rf "$sysroot.old"
[ -d "$sysroot" ] && mv "$sysroot" "$sysroot.old"
mv "$sysroot.new" "$sysroot"
rm -rf "$sysroot.old"
log "done in $((SECONDS - start)) s: $count packages, $mb MB downloaded," \
    "$(du -sm "$sysroot" | cut -f1) MB unpacked in $sysroot"
