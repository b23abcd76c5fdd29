#!/bin/sh
# Builds patchroll's native helpers into dist/native/ (run by `npm run build`):
#   prspawn  starts the daemon's tools with posix_spawn(3) (native/prspawn.c, src/proc/run-tool.ts)
#   prcopy   copies a container's delta while it runs, then only what changed (native/prcopy.c,
#            src/containers/snapshot-sync.ts)
# Static, so an installation needs no build tools and no particular libc. Without a C compiler it says so
# and builds nothing: patchroll then starts its tools from Node itself, slower per start, same results, and
# copies a delta with cp once the container is stopped (the copy is then part of the downtime).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$here/../dist/native
cc=${CC:-cc}
if ! command -v "$cc" > /dev/null 2>&1; then
  echo "native/build.sh: no C compiler ($cc): prspawn and prcopy not built; tools will be started from Node (apt-get install gcc libc6-dev to build it)" >&2
  exit 0
fi
mkdir -p "$out"
"$cc" -O2 -static -Wall -Wextra -Werror -o "$out/prspawn.tmp" "$here/prspawn.c"
mv "$out/prspawn.tmp" "$out/prspawn"
"$cc" -O2 -static -pthread -Wall -Wextra -Werror -o "$out/prcopy.tmp" "$here/prcopy.c"
mv "$out/prcopy.tmp" "$out/prcopy"
