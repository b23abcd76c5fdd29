#!/bin/sh
# Builds the Debian package of patchroll itself with dpkg-deb, from a built checkout (npm ci && npm run build):
#
#   deploy/debian/build.sh [--version VERSION] [--out DIR] [--compress xz|zstd|gzip|none]
#
#   --version   the package version (default: package.json's version); a newer one for every release
#   --out       where the .deb is written (default: dist-deb/ in the checkout)
#   --compress  xz (default: smallest, ~1 min for the ~200 MB tree), zstd (seconds; Debian >= 12 and
#               Ubuntu >= 21.10 install it), gzip, none
# Prints the path of patchroll_VERSION_ARCH.deb. Architecture-specific: it ships the pinned Node.js binary
# and the apt hooks compiled on this machine (static: the target needs no compiler; where this machine has
# none, the package ships the sh hooks and a line of hooks/build.sh on stderr says so).
#
# The files are laid out by deploy/install.sh --files-only (one source of truth for what goes where); the
# maintainer scripts next to this file create the state dirs, keep the apt hook snippet out of apt's way
# once patchroll is removed, and enable the systemd unit. Its own upgrades restart no container: the rollout
# planner ignores the package `patchroll` (src/rollout/ignore.ts).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
node=$src/node_modules/node/bin/node
version=
out=$src/dist-deb
compress=xz

die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case $1 in
    --version) [ $# -ge 2 ] || die "--version needs a value"; version=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift 2 ;;
    --compress) [ $# -ge 2 ] || die "--compress needs a type"; compress=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[ -x "$node" ] || die "$node is missing: run npm ci first"
[ -n "$version" ] || version=$("$node" -p 'require(process.argv[1]).version' "$src/package.json")
printf '%s' "$version" | grep -Eq '^([0-9]+:)?[0-9][A-Za-z0-9.+~-]*$' || die "'$version' is not a Debian version"
case $compress in xz) level=-z6 ;; zstd) level=-z3 ;; gzip) level=-z6 ;; none) level= ;; *) die "--compress: xz, zstd, gzip or none" ;; esac
arch=$(dpkg --print-architecture)
mkdir -p "$out"
out=$(cd "$out" && pwd)

stage=$(mktemp -d "${TMPDIR:-/var/tmp}/patchroll-deb-XXXXXX")
trap 'rm -rf "$stage"' EXIT
chmod 0755 "$stage"
"$src/deploy/install.sh" --files-only --destdir "$stage" --systemd-dir /lib/systemd/system >/dev/null

mkdir -p "$stage/DEBIAN"
installed_kb=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat > "$stage/DEBIAN/control" <<EOF
Package: patchroll
Version: $version
Architecture: $arch
Maintainer: patchroll maintainers <maintainers@patchroll.invalid>
Installed-Size: $installed_kb
Depends: lxc, mount, mawk | awk, libc6 (>= 2.28), libstdc++6, libgcc-s1
Recommends: redis-server, logrotate
Section: admin
Priority: optional
Description: security-patch rollouts for LXC overlay containers on a shared host root
 patchroll notices every package change (apt hooks, unattended-upgrades log, dpkg.log), finds the
 containers that still run outdated files of the host root, restarts them in canary batches with
 health checks, verifies the patched files are what runs afterwards, rolls back and pins what breaks,
 and halts before the damage spreads. Ships its own Node.js runtime under /usr/lib/patchroll.
EOF
printf '%s\n' /etc/patchroll/config.yaml /etc/apt/apt.conf.d/50patchroll /etc/logrotate.d/patchroll /etc/cron.daily/patchroll > "$stage/DEBIAN/conffiles"
for script in postinst prerm postrm; do
  install -m 0755 "$here/$script" "$stage/DEBIAN/$script"
done
# md5sums of everything but the conffiles (dpkg tracks those itself), for dpkg --verify.
(cd "$stage" && find usr lib -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum) > "$stage/DEBIAN/md5sums"

deb=$out/patchroll_$(printf '%s' "$version" | sed 's/:/%3a/')_$arch.deb
# shellcheck disable=SC2086
dpkg-deb --root-owner-group -Z"$compress" $level -b "$stage" "$deb" >/dev/null
printf '%s\n' "$deb"
