#!/bin/sh
# Removes what deploy/install.sh installed. As root.
#
#   deploy/uninstall.sh [--purge] [--prefix DIR] [--destdir DIR] [--systemd-dir DIR] [--timeout SEC]
#
# Order matters:
#   1. the apt snippet goes FIRST, so that no apt run from now on calls a hook that is about to vanish
#      (apt fails the whole run when a Pre-Install-Pkgs or Post-Invoke command is missing);
#   2. the daemon is stopped: SIGTERM drains it (the current step of each rollout finishes), a second
#      SIGTERM after --timeout seconds (default 90) forces it, SIGKILL after 15 s more;
#   3. the units, the logrotate and cron files, /usr/bin/patchroll and the prefix are removed.
# Containers are never touched: they keep running, the host root bind mount stays, deltas and pins stay
# (a pinned container keeps its old files in its delta). State (/var/lib/patchroll), spool, journals and
# /etc/patchroll are kept unless --purge; spooled records not yet ingested are lost with --purge.
set -eu

prefix=/usr/lib/patchroll
destdir=
purge=0
systemd_dir=/etc/systemd/system
timeout=90

die() { printf 'uninstall.sh: %s\n' "$*" >&2; exit 1; }
say() { printf 'uninstall.sh: %s\n' "$*"; }

while [ $# -gt 0 ]; do
  case $1 in
    --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; prefix=$2; shift 2 ;;
    --destdir) [ $# -ge 2 ] || die "--destdir needs a directory"; destdir=$2; shift 2 ;;
    --systemd-dir) [ $# -ge 2 ] || die "--systemd-dir needs a directory"; systemd_dir=$2; shift 2 ;;
    --timeout) [ $# -ge 2 ] || die "--timeout needs seconds"; timeout=$2; shift 2 ;;
    --purge) purge=1; shift ;;
    -h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
case $prefix in /?*) ;; *) die "--prefix must be an absolute path other than /, not '$prefix'" ;; esac
case $timeout in ''|*[!0-9]*) die "--timeout must be a number of seconds" ;; esac
if [ -n "$destdir" ]; then destdir=$(cd "$destdir" && pwd); fi
[ "$(id -u)" = 0 ] || [ -n "$destdir" ] || die "run as root"
if [ -z "$destdir" ] && dpkg-query -W -f='${Status}' patchroll 2>/dev/null | grep -q ' installed$'; then
  die "patchroll is installed as a Debian package here: use apt-get remove patchroll (or purge) instead"
fi
D=$destdir
P=$D$prefix

# 1. apt first.
for f in "$D/etc/apt/apt.conf.d/50patchroll" "$D/etc/apt/apt.conf.d/50patchroll.bak"; do
  if [ -e "$f" ]; then rm -f "$f"; say "removed $f: apt no longer calls patchroll's hooks"; fi
done

# daemon_pids: pids of daemons of THIS installation: argv is NODE PREFIX/dist/src/cli/run.js ... daemon ...
# (one grep over every /proc/PID/cmdline, whose arguments are NUL-separated: -z reads them as lines).
daemon_pids() {
  grep -lzxF -- "$P/dist/src/cli/run.js" /proc/[0-9]*/cmdline 2>/dev/null | while read -r f; do
    if tr '\0' '\n' < "$f" 2>/dev/null | { read -r _ && read -r a1 && [ "$a1" = "$P/dist/src/cli/run.js" ] && grep -qx daemon; }; then
      f=${f#/proc/}
      printf '%s\n' "${f%/cmdline}"
    fi
  done
}

# wait_gone SECONDS PIDS...: 0 once none of PIDS is alive, 1 after SECONDS.
wait_gone() {
  w_left=$(($1 * 10)); shift
  while [ "$w_left" -gt 0 ]; do
    w_alive=
    for p in "$@"; do if kill -0 "$p" 2>/dev/null; then w_alive=1; fi; done
    [ -z "$w_alive" ] && return 0
    sleep 0.1
    w_left=$((w_left - 1))
  done
  return 1
}

# 2. The daemon.
unit=$D$systemd_dir/patchroll.service
if [ -z "$D" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  systemctl disable --now patchroll-journal-prune.timer >/dev/null 2>&1 || true
  systemctl disable --now patchroll.service >/dev/null 2>&1 || true
fi
pids=$(daemon_pids)
if [ -n "$pids" ]; then
  say "stopping the daemon (pid $(echo $pids)): draining, up to ${timeout}s"
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null || true
  # shellcheck disable=SC2086
  if ! wait_gone "$timeout" $pids; then
    say "the daemon did not stop within ${timeout}s: forcing (second SIGTERM)"
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    # shellcheck disable=SC2086
    wait_gone 15 $pids || { kill -KILL $pids 2>/dev/null || true; say "killed the daemon (pid $(echo $pids))"; }
  fi
fi

# 3. The program and its integration files.
rm -f "$unit" "$D$systemd_dir/patchroll-journal-prune.service" "$D$systemd_dir/patchroll-journal-prune.timer" "$D$systemd_dir/patchroll.service.d/shared-redis.conf"
rmdir "$D$systemd_dir/patchroll.service.d" 2>/dev/null || true
if [ -z "$D" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then systemctl daemon-reload; fi
rm -f "$D/etc/logrotate.d/patchroll" "$D/etc/cron.daily/patchroll"
link=$D/usr/bin/patchroll
if [ -L "$link" ] && [ "$(readlink -f "$link")" = "$(readlink -f "$P/bin/patchroll" 2>/dev/null || echo "$P/bin/patchroll")" ]; then rm -f "$link"; fi
rm -rf "$P" "$P".new-* "$P.old"
say "removed $P and its integration files; containers were not touched"

if [ "$purge" = 1 ]; then
  rm -rf "$D/etc/patchroll" "$D/var/lib/patchroll" "$D/var/spool/patchroll" "$D/var/log/patchroll"
  say "purged /etc/patchroll, /var/lib/patchroll, /var/spool/patchroll and /var/log/patchroll"
else
  say "kept /etc/patchroll, /var/lib/patchroll, /var/spool/patchroll and /var/log/patchroll (--purge removes them)"
fi
