#!/bin/sh
# Installs (or updates) patchroll on this host from a built checkout (`npm ci && npm run build`). Idempotent:
# run it again after pulling a new version. As root.
#
#   deploy/install.sh [--prefix DIR] [--destdir DIR] [--redis-url URL] [--no-start] [--files-only]
#                     [--systemd-dir DIR]
#
#   --prefix DIR       where patchroll lives (default /usr/lib/patchroll): dist/, bin/, hooks/, docs/,
#                      deploy/ (templates) and node_modules/ (production only, with the pinned Node.js)
#   --destdir DIR      install under DIR as if it were / (staging, tests); nothing is started
#   --redis-url URL    use a shared Redis: writes the unit drop-in shared-redis.conf with this URL
#   --no-start         install and enable, but do not (re)start the daemon
#   --files-only       lay out the package files only (no state dirs, no config, no activation): the
#                      Debian package build uses this; its maintainer scripts do the rest
#   --systemd-dir DIR  where the unit goes (default /etc/systemd/system; the .deb uses /lib/systemd/system)
#
# What it puts where (the paths the hooks, the unit and the default configuration agree on):
#   PREFIX/...                          the program; /usr/bin/patchroll -> PREFIX/bin/patchroll
#   PREFIX/hooks/apt-pre-install-pkgs,  the apt hooks, built here by hooks/build.sh: one static binary
#     PREFIX/hooks/apt-post-invoke      from hooks/patchroll-hook.c, or the sh versions where no C compiler
#                                       (cc) is (one line says so; rebuild with PREFIX/hooks/build.sh)
#   /etc/patchroll/config.yaml          0640, every key commented out; never overwritten (the current
#                                       template is PREFIX/deploy/config.yaml.template)
#   /var/lib/patchroll                  0700 state (embedded Redis socket, pins, snapshots' metadata)
#   /var/lib/patchroll/capture          0750 old package files (hard links: must share /usr's filesystem)
#   /var/spool/patchroll                0750 the apt hooks' spool
#   /var/log/patchroll                  0750 rollout journals
#   SYSTEMD_DIR/patchroll.service       the daemon, enabled (and started when systemd runs)
#   SYSTEMD_DIR/patchroll-journal-prune.{service,timer}   daily journal retention (`patchroll journal
#                                       prune`); /etc/cron.daily/patchroll does it where systemd does not run
#   /etc/logrotate.d/patchroll          rotation of plain logs (not of the journals: see the file)
#   /etc/apt/apt.conf.d/50patchroll     the apt hooks, written LAST, once the hooks they name exist
# Uninstall: deploy/uninstall.sh (keeps state and journals unless --purge).
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
prefix=/usr/lib/patchroll
destdir=
redis_url=
start=1
files_only=0
systemd_dir=/etc/systemd/system

die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }
say() { printf 'install.sh: %s\n' "$*"; }

while [ $# -gt 0 ]; do
  case $1 in
    --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; prefix=$2; shift 2 ;;
    --destdir) [ $# -ge 2 ] || die "--destdir needs a directory"; destdir=$2; shift 2 ;;
    --redis-url) [ $# -ge 2 ] || die "--redis-url needs a URL"; redis_url=$2; shift 2 ;;
    --systemd-dir) [ $# -ge 2 ] || die "--systemd-dir needs a directory"; systemd_dir=$2; shift 2 ;;
    --no-start) start=0; shift ;;
    --files-only) files_only=1; shift ;;
    -h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
case $prefix in /*) ;; *) die "--prefix must be an absolute path, not '$prefix'" ;; esac
case $prefix in *[!A-Za-z0-9/._-]*) die "--prefix '$prefix' may only hold letters, digits and / . _ -" ;; esac
case $redis_url in ''|redis://*|rediss://*) ;; *) die "--redis-url must start with redis:// or rediss://" ;; esac
case $redis_url in *[[:space:]\"\\]*) die "--redis-url must not contain blanks, quotes or backslashes" ;; esac
if [ -n "$destdir" ]; then
  mkdir -p "$destdir"
  destdir=$(cd "$destdir" && pwd)
fi
[ "$(id -u)" = 0 ] || [ -n "$destdir" ] || die "run as root (or give --destdir to stage the files)"

node=$src/node_modules/node/bin/node
[ -x "$node" ] || die "$node is missing: run npm ci in $src first (deploy/bootstrap.sh does)"
[ -f "$src/dist/src/cli/run.js" ] || die "$src/dist is not built: run npm run build in $src first"
[ "$src/dist/src/cli/run.js" -nt "$src/src/cli/main.ts" ] || say "warning: dist/ looks older than src/; run npm run build to install the current code"

D=$destdir
P=$D$prefix

# 1. The program: built into a fresh tree next to the old one, then swapped in by two renames, so a
#    hook or CLI run in between sees either the old or the new installation, never half of one. Skipped
#    when the installed tree came from the same sources (the stamp hashes them), so that a re-run changes
#    nothing under a running daemon. The stamp names the C compiler too: one installed later rebuilds the
#    hooks compiled.
changed=0
stamp=$( (cd "$src" && { find dist/src dist/workers dist/native bin hooks docs deploy runbooks -type f ! -name '.build-*' 2>/dev/null; echo package.json; echo package-lock.json; echo README.md; } \
  | LC_ALL=C sort | xargs sha256sum; echo "prefix $prefix"; echo "cc $(command -v "${CC:-cc}" || echo none)") | sha256sum | cut -d' ' -f1)
if [ -f "$P/.install-stamp" ] && [ "$(cat "$P/.install-stamp")" = "$stamp" ] && [ -x "$P/bin/patchroll" ]; then
  :
else
  changed=1
  new=$P.new-$$
  trap 'rm -rf "$new"' EXIT
  rm -rf "$new"
  mkdir -p "$new/dist" "$new/deploy"
  cp -a "$src/dist/src" "$src/dist/workers" "$new/dist/"
  # prspawn (native/build.sh): absent where the checkout was built without a C compiler.
  if [ -d "$src/dist/native" ]; then cp -a "$src/dist/native" "$new/dist/"; fi
  cp -a "$src/bin" "$src/hooks" "$src/docs" "$new/"
  sh "$src/hooks/build.sh" "$new/hooks"
  cp -a "$src/package.json" "$src/README.md" "$new/"
  if [ -d "$src/runbooks" ]; then cp -a "$src/runbooks" "$new/"; fi
  cp -a "$src/deploy/apt" "$src/deploy/systemd" "$src/deploy/logrotate" "$src/deploy/cron" "$src/deploy/lib" "$new/deploy/"
  cp -a "$src/deploy/install.sh" "$src/deploy/uninstall.sh" "$new/deploy/"
  "$node" "$src/deploy/lib/prod-modules.mjs" "$src" "$new/node_modules" >/dev/null
  chmod -R u+rwX,go+rX,go-w "$new"
  "$new/bin/patchroll" --version >/dev/null || die "the staged installation in $new does not run (bin/patchroll --version failed)"
  "$new/node_modules/node/bin/node" "$src/deploy/lib/config-template.mjs" "$new" > "$new/deploy/config.yaml.template"
  printf '%s\n' "$stamp" > "$new/.install-stamp"
  if [ -d "$P" ]; then
    rm -rf "$P.old"
    mv "$P" "$P.old"
    mv "$new" "$P"
    rm -rf "$P.old"
  else
    mkdir -p "$(dirname "$P")"
    mv "$new" "$P"
  fi
  trap - EXIT
fi
mkdir -p "$D/usr/bin"
# Relative, so that it also resolves inside a --destdir staging tree.
target=$(realpath -m --relative-to=/usr/bin "$prefix/bin/patchroll")
if [ "$(readlink "$D/usr/bin/patchroll" 2>/dev/null)" != "$target" ]; then ln -sfn "$target" "$D/usr/bin/patchroll"; changed=1; fi

# set_mode MODE PATH: chmod, counting a real change.
set_mode() {
  if [ "$(stat -c %a "$2")" != "$(printf '%s' "$1" | sed 's/^0*//')" ]; then chmod "$1" "$2"; changed=1; fi
}

# install_file SRC DEST MODE: copies only when the content differs (no needless mtime changes), atomically.
install_file() {
  mkdir -p "$(dirname "$2")"
  if [ -f "$2" ] && cmp -s "$1" "$2"; then set_mode "$3" "$2"; return 0; fi
  changed=1
  cp "$1" "$2.tmp-$$"
  chmod "$3" "$2.tmp-$$"
  mv -f "$2.tmp-$$" "$2"
}

# 2. Files that are configuration of other programs (systemd, logrotate, cron).
for unit in patchroll.service patchroll-journal-prune.service patchroll-journal-prune.timer; do
  install_file "$P/deploy/systemd/$unit" "$D$systemd_dir/$unit" 0644
done
install_file "$P/deploy/logrotate/patchroll" "$D/etc/logrotate.d/patchroll" 0644
install_file "$P/deploy/cron/patchroll" "$D/etc/cron.daily/patchroll" 0755
mkdir -p "$D/etc/patchroll"
set_mode 0750 "$D/etc/patchroll"
# The apt snippet as installed: the hooks' path follows --prefix; spool and capture dirs are the defaults
# below (to move them, change them in config.yaml AND in the snippet).
sed "s|/usr/lib/patchroll/hooks/|$prefix/hooks/|g" "$P/deploy/apt/50patchroll" > "$P/deploy/50patchroll.installed"
if [ "$files_only" = 1 ]; then
  install_file "$P/deploy/config.yaml.template" "$D/etc/patchroll/config.yaml" 0640
  install_file "$P/deploy/50patchroll.installed" "$D/etc/apt/apt.conf.d/50patchroll" 0644
  say "files laid out under ${D:-/} (prefix $prefix)"
  exit 0
fi

# 3. State, spool, capture and journal directories, with tight modes (also re-asserted on existing ones).
for spec in "0700 /var/lib/patchroll" "0750 /var/lib/patchroll/capture" "0750 /var/spool/patchroll" "0750 /var/log/patchroll"; do
  mode=${spec%% *} dir=$D${spec#* }
  [ -d "$dir" ] || { mkdir -p "$dir"; changed=1; }
  set_mode "$mode" "$dir"
done
if [ "$(stat -c %d "$D/var/lib/patchroll/capture")" != "$(stat -c %d "$D/usr")" ]; then
  say "warning: $D/var/lib/patchroll/capture is not on the filesystem of $D/usr: the apt hook cannot hard-link old package files there, so rollbacks cannot pin them. Put /var/lib/patchroll on the root filesystem, or drop --capture from /etc/apt/apt.conf.d/50patchroll."
fi

# 4. The configuration: created once, never overwritten. The template with every key and its default
#    stays at PREFIX/deploy/config.yaml.template for comparison after upgrades.
conf=$D/etc/patchroll/config.yaml
if [ ! -e "$conf" ]; then
  install_file "$P/deploy/config.yaml.template" "$conf" 0640
  say "wrote $conf (every key commented out: the defaults apply)"
fi

# 5. A shared Redis instead of the embedded one: the unit drop-in.
if [ -n "$redis_url" ]; then
  dropin=$D$systemd_dir/patchroll.service.d/shared-redis.conf
  mkdir -p "$(dirname "$dropin")"
  sed "s|^Environment=PATCHROLL_REDIS_URL=.*|Environment=PATCHROLL_REDIS_URL=$redis_url|" "$P/deploy/systemd/shared-redis.conf.example" > "$dropin.new-$$"
  install_file "$dropin.new-$$" "$dropin" 0644
  rm -f "$dropin.new-$$"
fi

# 6. The apt hooks, last: from now on every apt run spools its package changes.
snippet=$D/etc/apt/apt.conf.d/50patchroll
if [ -f "$snippet" ] && ! cmp -s "$P/deploy/50patchroll.installed" "$snippet"; then
  cp -p "$snippet" "$snippet.bak"
  say "replaced $snippet; your previous version is $snippet.bak (apt ignores *.bak)"
fi
install_file "$P/deploy/50patchroll.installed" "$snippet" 0644

# 7. The daemon.
if [ -z "$D" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  systemctl daemon-reload
  systemctl enable patchroll.service >/dev/null 2>&1
  systemctl enable --now patchroll-journal-prune.timer >/dev/null 2>&1
  if [ "$start" = 1 ] && { [ "$changed" = 1 ] || ! systemctl is-active --quiet patchroll.service; }; then
    systemctl restart patchroll.service
    say "patchroll.service (re)started: systemctl status patchroll; journalctl -u patchroll"
  elif [ "$start" = 0 ]; then
    say "patchroll.service enabled, not started (--no-start)"
  fi
elif [ -z "$D" ]; then
  say "systemd is not running here: start the daemon yourself, e.g. /usr/bin/patchroll daemon >> /var/log/patchroll/daemon.log 2>&1 &"
fi
if [ "$changed" = 1 ]; then
  say "installed patchroll $("$P/bin/patchroll" --version) in ${D}$prefix"
else
  say "unchanged: patchroll $("$P/bin/patchroll" --version) in ${D}$prefix is up to date"
fi
