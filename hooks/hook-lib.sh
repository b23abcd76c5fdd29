# Shared part of patchroll's apt hooks in sh; sourced by apt-pre-install-pkgs.sh and apt-post-invoke.sh. POSIX
# sh (dash). apt runs the compiled hook (hooks/patchroll-hook.c) where hooks/build.sh could build it: it keeps
# the same rules, arguments, messages and record bytes, and runs apt-pre-install-pkgs.sh for the capture of
# old package files. The sh hooks are what apt runs where no C compiler was (hooks/build.sh copies them
# under the plain names), at about twice the cost. Change both together; test/intake/hooks.test.ts runs
# against both.
#
# Rules every hook keeps (patchroll must never make apt fail): ALWAYS exit 0, bounded in time, never talk to Redis or the
# daemon, write one durable spool record and nothing else that matters. On any failure print ONE line
# starting "patchroll:" to stderr and exit 0: the daemon's dpkg.log reconciliation catches up later.
#
# Cost matters (target: < 5 ms added to a dpkg run, both hooks together). Every external command is a
# fork+exec (~0.7-1.5 ms here), so the record path runs as few as possible (bench/hooks.bench.sh). Even so
# the sh hooks add ~8 ms per dpkg run: apt's own `sh -c` and the exec of each hook (~2 ms each, the floor
# any hook pays) plus a dash reading the script, one awk and one sync. The compiled hook pays the floor,
# the fsync and little else (~4 ms). Both keep these choices:
#   - apt-pre-install-pkgs: one `awk` (parses the payload, finds the apt process AND writes the record) and
#     one `sync`. apt-post-invoke: none at all. The rest is shell builtins.
#   - No `date`: a record's time is the file's own mtime (set by the write, ns resolution).
#   - No temp file + `mv`: a record is written under its final name and is complete when its last line is
#     "end"; the daemon leaves an incomplete record alone while it is young (a hook may be writing it) and
#     quarantines it later (src/intake/spool-ingest.ts). Names are unique (boot id, uptime, pid).
#   - One fsync (`sync FILE`) for the pre-install record. On Linux's journaling filesystems (ext4, xfs, btrfs)
#     fsync of a newly created file also makes its directory entry durable (the creation is in the
#     transaction the fsync commits; ext4 without a journal syncs the parent itself), so the separate
#     directory fsync (~0.5-1 ms more here) is left out: the spool dir must be local (deploy/apt). The
#     post-invoke record ("dpkg finished") is not fsynced: if a crash loses it, the daemon closes the run
#     once the apt process is gone anyway (workers/finish-run.ts), and the packages are in the pre-install
#     record.
#   - No self re-run under timeout(1) by default (it cost ~1.5-2 ms per call). The record path waits on
#     nothing but the local spool filesystem and apt's hook pipe, which apt writes in full and closes before
#     it waits for the hook (apt-pkg/deb/dpkgpm.cc, RunScriptsWithPkgs), and it has no loop over unbounded
#     input; timeout(1) would not help against a filesystem stuck in uninterruptible I/O either (it waits
#     for its child after SIGKILL). The one part whose cost grows with the system, the capture of old
#     package files, always runs under timeout(1). `--timeout SEC` given explicitly bounds the whole hook
#     as well, at that price (the compiled hook bounds itself with alarm(2) instead, at no cost).

# say MESSAGE: the one stderr line of a failed hook.
say() {
  printf 'patchroll: %s; apt goes on, reconciliation will catch up\n' "$*" >&2
}

# parse_args ARGS...: sets spool, capture, capture_max, limit, bound_all. Returns 1 (after saying why) on bad usage.
parse_args() {
  spool= capture= capture_max=5000 limit=5 bound_all=0
  while [ $# -gt 0 ]; do
    case $1 in
      --spool|--capture|--capture-max-files|--timeout)
        if [ $# -lt 2 ]; then say "$hook_name: option $1 needs a value"; return 1; fi
        case $1 in
          --spool) spool=$2 ;;
          --capture) capture=$2 ;;
          --capture-max-files) capture_max=$2 ;;
          --timeout) limit=$2 bound_all=1 ;;
        esac
        shift 2 ;;
      *) say "$hook_name: unknown argument '$1' (expected --spool DIR [--capture DIR] [--capture-max-files N] [--timeout SEC])"; return 1 ;;
    esac
  done
  case $limit in ''|*[!0-9]*) limit=5 ;; *[1-9]*) ;; *) limit=5 ;; esac
  case $capture_max in ''|*[!0-9]*) capture_max=5000 ;; esac
  if [ -z "$spool" ]; then say "$hook_name: no --spool DIR given, no record written"; return 1; fi
  case $spool in /*) ;; *) spool=$PWD/$spool ;; esac
  return 0
}

# bounded MESSAGE-NAME CMD...: runs CMD under timeout(1) with the --timeout limit and says why when it did
# not exit 0. Returns 0 either way: whatever happens in there must not fail apt.
bounded() {
  b_name=$1
  shift
  timeout -k 1 "$limit" "$@"
  b_rc=$?
  case $b_rc in
    0) ;;
    124|137) say "$b_name did not finish within ${limit}s and was stopped" ;;
    *) say "$b_name failed unexpectedly (exit $b_rc)" ;;
  esac
  return 0
}

# bound_self ARGS...: with an explicit --timeout, the outer invocation re-runs this very script under
# timeout(1) and always exits 0; the inner invocation (and, without --timeout, the only one) returns at once.
bound_self() {
  if [ "$bound_all" = 0 ] || [ "${PATCHROLL_HOOK_INNER:-}" = 1 ]; then return 0; fi
  export PATCHROLL_HOOK_INNER=1 PATCHROLL_HOOK_PARENT=$PPID
  bounded "$hook_name" "$0" "$@"
  exit 0
}

# status_of PID: sets s_comm and s_ppid from /proc/PID/status, whose Name and PPid lines come first: dash's
# `read` takes one byte per system call, and these ~100 bytes cost a third of the ~300 of /proc/PID/stat.
status_of() {
  s_comm= s_ppid=
  while read -r s_key s_val; do
    case $s_key in
      Name:) s_comm=$s_val ;;
      PPid:) s_ppid=$s_val; return 0 ;;
    esac
  done < "/proc/$1/status"
  return 1
} 2>/dev/null

# find_apt PID: sets apt_pid, apt_start, apt_comm to the apt front end (apt-get, apt, unattended-upgrade)
# that runs the hook whose parent is PID, so that every record of one apt run shares a run key. The
# pre-install hook does the same walk inside its awk (hooks/apt-pre-install-pkgs.sh), the compiled hook in
# C (hooks/patchroll-hook.c); keep the three in step.
# Shell wrappers (`sh -c`, timeout) are skipped. A chain of processes with the same name counts as one
# front end and the topmost one is taken: apt runs Post-Invoke from a forked child, and
# unattended-upgrade forks once per dpkg run (both measured on Debian 12). The start time is field 22 of
# /proc/PID/stat (clock ticks after boot); the name there may hold spaces and parentheses, hence the
# split at the LAST ") ".
find_apt() {
  f_pid=$1 apt_pid= apt_start= apt_comm= f_depth=0
  while [ "$f_pid" -gt 1 ] 2>/dev/null && [ $f_depth -lt 32 ]; do
    f_depth=$((f_depth + 1))
    status_of "$f_pid" || break
    if [ -z "$apt_pid" ]; then
      case $s_comm in
        sh|dash|bash|busybox|timeout) f_pid=$s_ppid; continue ;;
      esac
      apt_comm=$s_comm
    elif [ "$s_comm" != "$apt_comm" ]; then
      break
    fi
    apt_pid=$f_pid
    f_pid=$s_ppid
  done
  [ -n "$apt_pid" ] && read -r f_line < "/proc/$apt_pid/stat" 2>/dev/null || return 1
  set -- ${f_line##*) }
  apt_start=${20}
  [ -n "$apt_start" ]
}

# record_start KIND: checks the spool dir and sets kind, boot and rec (the record's path). Returns 1
# (after saying why) when the spool dir cannot take a record. A record's header is "patchroll-spool 1", kind, boot, "apt PID START COMM" (see
# src/intake/spool-record.ts). Its name BOOT8-UPTIMECS-HOOKPID-KIND.rec is unique: boot id prefix,
# uptime in centiseconds, the hook's own pid.
record_start() {
  if [ ! -d "$spool" ] && ! mkdir -p -m 0750 "$spool" 2>/dev/null; then
    say "$hook_name: cannot create spool dir $spool, no record written"; return 1
  fi
  if [ ! -w "$spool" ]; then
    say "$hook_name: spool dir $spool is not writable (read-only filesystem?), no record written"; return 1
  fi
  read -r boot < /proc/sys/kernel/random/boot_id 2>/dev/null || boot=unknown
  read -r up _ < /proc/uptime 2>/dev/null || up=0.00
  kind=$1
  rec="$spool/${boot%%-*}-${up%.*}${up#*.}-$$-$kind.rec"
}

# record_sync: makes the written record durable (see "One `sync FILE`" above). The daemon may have taken
# the record already (it deletes a record only once Redis has it): then there is nothing to sync. On any
# other failure the record stays (it is whole, only its durability is in doubt) and one line says so.
record_sync() {
  sync "$rec" 2>/dev/null || [ ! -e "$rec" ] || say "$hook_name: could not fsync the spool record $rec; it may not survive a crash"
  return 0
}

# record_failed: removes a record that could not be written in full and says so.
record_failed() {
  rm -f "$rec" 2>/dev/null
  say "$hook_name: could not write the spool record in $spool (disk full?)"
}
