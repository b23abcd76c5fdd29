#!/bin/sh
# patchroll apt hook for DPkg::Pre-Install-Pkgs, hook protocol version 3 (deploy/apt/50patchroll):
#   apt-pre-install-pkgs --spool DIR [--capture DIR] [--capture-max-files N] [--timeout SEC]
#
# apt runs it before dpkg touches anything and writes to its stdin (or APT_HOOK_INFO_FD): "VERSION 3", the
# %-encoded apt configuration ("Key=Value" lines), a blank line, then one action line per package:
#   pkg oldver oldarch oldmulti <|=|> newver newarch newmulti /path/to/pkg.deb|**CONFIGURE**|**REMOVE**
# ("-" for a missing version). It writes ONE spool record (hooks/hook-lib.sh) holding those action lines,
# the command line and the apt run's identity, then, with --capture, hard-links the files of every package
# about to be replaced into CAPTURE/PKG_OLDVER_ARCH/ so a container can be pinned to them later.
# Always exits 0. The capture runs under timeout(1) with --timeout (default 5 s); an explicit --timeout also
# bounds the whole hook (see hooks/hook-lib.sh for why the record path does without by default).
#
# The sh form of the hook, which hooks/build.sh installs as apt-pre-install-pkgs where no C compiler is; the
# compiled hook (hooks/patchroll-hook.c) does the record path itself and runs THIS script for the capture
# (capture mode below), under the same timeout(1) and environment as the sh hook's own re-run.

LC_ALL=C
export LC_ALL
set -f
umask 027
hook_name=apt-pre-install-pkgs
. "${0%/*}/hook-lib.sh" || { printf 'patchroll: %s: cannot read hook-lib.sh; apt goes on, reconciliation will catch up\n' "$0" >&2; exit 0; }
parse_args "$@" || exit 0
bound_self "$@"

# capture_pkg NAME OLDVER ARCH NEWVER: hard-links the package's current regular files and symlinks, with their
# paths, into $capture/NAME_OLDVER_ARCH/root. dpkg replaces a file by renaming the new one over it, so the
# link keeps the old inode and its content. A capture that exists already is kept (same version, same
# files). Skips with one stderr note (never fails apt) when the package has too many files or linking
# fails, e.g. when the capture dir is on another filesystem than the package's files.
capture_pkg() {
  c_list=/var/lib/dpkg/info/$1:$3.list
  [ -f "$c_list" ] || c_list=/var/lib/dpkg/info/$1.list
  [ -f "$c_list" ] || return 0
  # dpkg's own file name escaping of the epoch colon (pkg_1%3a2.0_amd64.deb)
  c_ver=$2 c_esc=
  while :; do
    case $c_ver in
      *:*) c_esc="$c_esc${c_ver%%:*}%3a"; c_ver=${c_ver#*:} ;;
      *) c_esc="$c_esc$c_ver"; break ;;
    esac
  done
  c_final="$capture/${1}_${c_esc}_$3"
  [ -e "$c_final" ] && return 0
  c_count=$(wc -l < "$c_list")
  if [ "$c_count" -gt "$capture_max" ]; then
    printf 'patchroll: capture of %s %s skipped: %s paths > --capture-max-files %s; no rollback pin for it\n' "$1" "$2" "$c_count" "$capture_max" >&2
    return 0
  fi
  c_tmp="$capture/.tmp-${1}_${c_esc}_$3-$$"
  # awk turns the list into NUL-separated paths relative to / (cp 9.1 fails to copy the parents' modes for
  # absolute sources, and the modes matter: root/ may become an overlay lower layer whose dirs hide the
  # host's), maps merged-/usr aliases (/bin/sh is really /usr/bin/sh) and drops duplicates; find keeps
  # the regular files and symlinks; cp hard-links them.
  if mkdir -p "$c_tmp/root" 2>/dev/null && cd / \
    && awk -v aliases="$usr_aliases" 'BEGIN { n = split(aliases, a, " ") }
        { p = substr($0, 2); for (i = 1; i <= n; i++) if (p == a[i] || index(p, a[i] "/") == 1) { p = "usr/" p; break }
          if (p != "" && p != "." && !seen[p]++) printf "%s%c", p, 0 }' "$c_list" \
      | find -files0-from - -maxdepth 0 \( -type f -o -type l \) -print0 2>/dev/null \
      | xargs -0 -r cp -f -P -l --parents --preserve=mode,ownership,timestamps -t "$c_tmp/root" -- 2>/dev/null \
    && cp "$c_list" "$c_tmp/files.list" \
    && printf 'patchroll-capture 1\npackage %s\nversion %s\narch %s\nreplaced-by %s\nboot %s\napt %s %s %s\nspool-record %s\nend\n' \
      "$1" "$2" "$3" "$4" "$boot" "$apt_pid" "$apt_start" "$apt_comm" "${rec##*/}" > "$c_tmp/manifest" \
    && mv "$c_tmp" "$c_final" 2>/dev/null; then
    return 0
  fi
  rm -rf "$c_tmp" 2>/dev/null
  printf 'patchroll: capture of %s %s failed (hard links from %s into %s: same filesystem? space?); no rollback pin for it\n' "$1" "$2" "$c_list" "$capture" >&2
}

# capture mode: the hook re-run by itself (or run by the compiled hook) under timeout(1), "name oldver arch
# newver" lines on stdin.
if [ "${PATCHROLL_HOOK_CAPTURE:-}" = 1 ]; then
  set -- $PATCHROLL_HOOK_RUN
  boot=$1 rec=$2 apt_pid=$3 apt_start=$4
  shift 4
  apt_comm=$*
  umask 022
  usr_aliases=
  for d in bin sbin lib lib32 lib64 libx32; do [ -L "/$d" ] && usr_aliases="$usr_aliases $d"; done
  case $capture in /*) ;; *) capture=$PWD/$capture ;; esac
  if [ ! -d "$capture" ] && ! mkdir -p -m 0750 "$capture" 2>/dev/null; then
    printf 'patchroll: cannot create capture dir %s; no rollback pin for this run\n' "$capture" >&2
    exit 0
  fi
  while read -r c_name c_old c_arch c_new; do
    [ -n "$c_name" ] && capture_pkg "$c_name" "$c_old" "$c_arch" "$c_new"
  done
  exit 0
fi

record_start pre-install || exit 0

# One awk reads the whole payload: it keeps the command line and the action lines, finds the apt process
# (the walk of hooks/hook-lib.sh's find_apt, reading /proc in one system call per file instead of one per
# byte) and, once apt's data is all read, writes the record (so a hook stopped while reading leaves none).
# When capturing it prints "apt PID START COMM", then "name oldver oldarch newver" for
# every installed package a .deb will replace. `<&20`-style redirections of two-digit fds do not work in
# dash, opening /dev/fd/N does; apt may hand over a socket, which cannot be reopened through /dev/fd, hence
# fd 9 for stdin. `command` keeps a failed `exec` redirection from ending the shell with status 2 (a special
# builtin's error is fatal in POSIX sh), which would fail apt.
info_fd=${APT_HOOK_INFO_FD:-0}
if [ "$info_fd" = 0 ]; then
  { command exec 9<&0; } 2>/dev/null
else
  { command exec 9< "/dev/fd/$info_fd"; } 2>/dev/null
fi || { say "$hook_name: cannot read apt's hook data from fd $info_fd, no record written"; exit 0; }
program='
  function find_apt(p,   depth, file, line, comm, f, pid, start, name) {
    while (p > 1 && depth++ < 32) {
      file = "/proc/" p "/stat"
      if ((getline line < file) <= 0) { close(file); break }
      close(file)
      if (!match(line, /\) [^)]*$/)) break
      comm = substr(line, index(line, "(") + 1, RSTART - index(line, "(") - 1)
      if (split(substr(line, RSTART + 2), f, " ") < 20) break
      if (pid == "") {
        if (comm ~ /^(sh|dash|bash|busybox|timeout)$/) { p = f[2]; continue }
        name = comm
      } else if (comm != name) break
      pid = p; start = f[20]; p = f[2]
    }
    return pid == "" ? "0 0 unknown" : pid " " start " " name
  }
  BEGIN {
    while ((r = (getline line < "-")) > 0) {
      if (++nr == 1) { if (line != "VERSION 3") bad = 1; continue }
      if (bad) continue
      if (!body) {
        if (line == "") { body = 1; continue }
        eq = index(line, "=")
        if (eq > 0 && tolower(substr(line, 1, eq - 1)) == "commandline::asstring") cmd = substr(line, eq + 1)
        continue
      }
      if (split(line, f, " ") < 9) continue
      act[++n] = line
      if (cap && f[2] != "-" && substr(f[9], 1, 1) == "/") caps = caps "\n" f[1] " " f[2] " " f[3] " " f[6]
    }
    if (r < 0) exit 4
    if (nr == 0 || bad) exit 3
    apt = find_apt(parent)
    printf "patchroll-spool 1\nkind %s\nboot %s\napt %s\n", kind, boot, apt > rec
    if (cmd != "") print "command-line " cmd > rec
    for (i = 1; i <= n; i++) print "action " act[i] > rec
    print "end" > rec
    if (close(rec) != 0) exit 2
    if (caps != "") print apt caps
  }'
if [ -n "$capture" ]; then
  caps=$(awk -v rec="$rec" -v kind="$kind" -v boot="$boot" -v parent="${PATCHROLL_HOOK_PARENT:-$PPID}" -v cap=1 "$program" <&9 2>/dev/null)
else
  caps= && awk -v rec="$rec" -v kind="$kind" -v boot="$boot" -v parent="${PATCHROLL_HOOK_PARENT:-$PPID}" -v cap=0 "$program" <&9 2>/dev/null
fi
case $? in
  0) ;;
  3) rm -f "$rec"; say "$hook_name: apt did not send hook protocol version 3 (set DPkg::Tools::Options::$0::Version \"3\"), no record written"; exit 0 ;;
  4) rm -f "$rec"; say "$hook_name: could not read apt's hook data, no record written"; exit 0 ;;
  *) record_failed; exit 0 ;;
esac
record_sync

if [ -n "$caps" ]; then
  apt=${caps%%"
"*}
  export PATCHROLL_HOOK_INNER=1 PATCHROLL_HOOK_CAPTURE=1 PATCHROLL_HOOK_RUN="$boot ${rec##*/} $apt"
  printf '%s\n' "${caps#*"
"}" | bounded "$hook_name (capture of the old package files)" "$0" "$@"
fi
exit 0
