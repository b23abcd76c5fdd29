#!/bin/sh
# Builds patchroll's native helpers into dist/native/ (run by `npm run build`):
#   prspawn  starts the daemon's tools with posix_spawn(3) (native/prspawn.c, src/proc/run-tool.ts)
# Static, so an installation needs no build tools and no particular libc. Without a C compiler it says so
# and builds nothing: patchroll then starts its tools from Node itself, slower per start, same results.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$here/../dist/native
cc=${CC:-cc}
if ! command -v "$cc" > /dev/null 2>&1; then
  echo "native/build.sh: no C compiler ($cc): prspawn not built; tools will be started from Node (apt-get install gcc libc6-dev to build it)" >&2
  exit 0
fi
mkdir -p "$out"
"$cc" -O2 -static -Wall -Wextra -Werror -o "$out/prspawn.tmp" "$here/prspawn.c"
mv "$out/prspawn.tmp" "$out/prspawn"
