#!/usr/bin/env bash
# Prepares a fresh Debian 12 machine (as root) to build, demo and test patchroll: the Debian packages it
# drives for real (LXC, Redis, apt tooling, unattended-upgrades, a C compiler for the apt hooks and the demo
# library), npm, and the project's own pinned Node.js runtime and libraries (`npm ci`). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" = 0 ] || { echo "bootstrap: run as root (LXC, dpkg and mounts need it)" >&2; exit 1; }

packages=(lxc redis-server unattended-upgrades apt-utils dpkg-dev busybox gcc libc6-dev logrotate attr curl python3 perl)
# What only the test suite drives: a real browser for the dashboard and reports, Ansible for the role,
# XFS tools for the snapshot test on a filesystem with reflinks (made in an image file).
packages+=(chromium ansible xfsprogs)
missing=()
for p in "${packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
command -v npm >/dev/null || missing+=(npm)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The packaged redis-server service is not ours: patchroll runs its own (embedded) or a configured one.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then systemctl disable --now redis-server >/dev/null 2>&1 || true; fi

if [ ! -x node_modules/node/bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "bootstrap: npm ci (pins Node.js $(node -p 'require("./package.json").dependencies.node' 2>/dev/null || echo 24))"
  # The lock file records every optional platform package (msgpackr-extract's darwin, win32 and linux
  # builds), so `npm ci` accepts it with Debian 12's npm 9 and with npm 11; its errors are shown and stop
  # the set-up, and it never rewrites the lock file.
  npm ci --no-fund --no-audit --loglevel=error
fi
echo "bootstrap: ready ($(node_modules/node/bin/node --version), $(lxc-start --version 2>/dev/null | head -1 | sed 's/^/lxc /'), $(redis-server --version | cut -d' ' -f3))"
