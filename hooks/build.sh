#!/bin/sh
# Lays out patchroll's apt hooks under the names deploy/apt/50patchroll runs them by:
#
#   hooks/build.sh [--sh] [DIR]     (DIR: default this hooks/ dir; `npm run build`, deploy/install.sh and
#                                    so deploy/debian/build.sh run it)
#
# apt-pre-install-pkgs and apt-post-invoke become ONE static binary built from patchroll-hook.c (two hard
# links; it tells the hooks apart by its name), or, with --sh or where no C compiler (cc, or $CC) builds it,
# copies of apt-pre-install-pkgs.sh and apt-post-invoke.sh, which behave the same at about twice the cost
# per dpkg run (docs/perf.md). Both need hook-lib.sh and apt-pre-install-pkgs.sh next to them (the binary
# runs the capture of old package files in sh), so those are copied into DIR too. Each name is replaced by
# a rename: an apt run meanwhile sees the old hook or the new one.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
use_sh=0
if [ "${1:-}" = --sh ]; then use_sh=1; shift; fi
out=${1:-$here}
[ $# -le 1 ] || { printf 'hooks/build.sh: too many arguments (usage: hooks/build.sh [--sh] [DIR])\n' >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
cc=${CC:-cc}

if [ "$out" != "$here" ]; then
  for f in hook-lib.sh apt-pre-install-pkgs.sh apt-post-invoke.sh; do cp -p "$here/$f" "$out/$f"; done
fi
tmp=$out/.build-$$
trap 'rm -f "$tmp.pre" "$tmp.post"' EXIT
if [ "$use_sh" = 0 ] && command -v "$cc" > /dev/null 2>&1; then
  # -static: no dynamic loader to start (a third of the binary's own start-up time).
  if "$cc" -O2 -static -Wall -Wextra -Werror -o "$tmp.pre" "$here/patchroll-hook.c"; then
    ln -f "$tmp.pre" "$tmp.post"
    mv -f "$tmp.pre" "$out/apt-pre-install-pkgs"
    mv -f "$tmp.post" "$out/apt-post-invoke"
    exit 0
  fi
  printf 'hooks/build.sh: %s could not build patchroll-hook.c (above; a static build needs libc6-dev): the apt hooks are the sh versions, about twice as slow\n' "$cc" >&2
elif [ "$use_sh" = 0 ]; then
  printf 'hooks/build.sh: no C compiler (%s): the apt hooks are the sh versions, about twice as slow (apt-get install gcc libc6-dev, then build again)\n' "$cc" >&2
fi
cp "$here/apt-pre-install-pkgs.sh" "$tmp.pre"
cp "$here/apt-post-invoke.sh" "$tmp.post"
chmod 0755 "$tmp.pre" "$tmp.post"
mv -f "$tmp.pre" "$out/apt-pre-install-pkgs"
mv -f "$tmp.post" "$out/apt-post-invoke"
