# Shared part of patchroll's apt hooks; sourced by apt-pre-install-pkgs and apt-post-invoke. POSIX sh (dash).
#
# Rules every hook keeps (DESIGN.md invariant 1): ALWAYS exit 0, bounded in time, never talk to Redis or
# the daemon, write one durable spool record and nothing else that matters. On any failure print ONE line
# starting "patchroll:" to stderr and exit 0: the daemon's dpkg.log reconciliation catches up later.
#
# Cost matters (target: < 5 ms added to a dpkg run): every external command is a fork+exec (~1 ms here),
# so everything that can be done with shell builtins is, and the payload is parsed by ONE awk.

# say MESSAGE: the one stderr line of a failed hook.
say() {
  printf 'patchroll: %s; apt goes on, reconciliation will catch up\n' "$*" >&2
}

# parse_args ARGS...: sets spool, capture, capture_max, limit. Returns 1 (after saying why) on bad usage.
parse_args() {
  spool= capture= capture_max=5000 limit=5
  while [ $# -gt 0 ]; do
    case $1 in
      --spool|--capture|--capture-max-files|--timeout)
        if [ $# -lt 2 ]; then say "$hook_name: option $1 needs a value"; return 1; fi
        case $1 in
          --spool) spool=$2 ;;
          --capture) capture=$2 ;;
          --capture-max-files) capture_max=$2 ;;
          --timeout) limit=$2 ;;
        esac
        shift 2 ;;
      *) say "$hook_name: unknown argument '$1' (expected --spool DIR [--capture DIR] [--capture-max-files N] [--timeout SEC])"; return 1 ;;
    esac
  done
  case $limit in ''|*[!0-9]*) limit=5 ;; esac
  case $capture_max in ''|*[!0-9]*) capture_max=5000 ;; esac
  if [ -z "$spool" ]; then say "$hook_name: no --spool DIR given, no record written"; return 1; fi
  case $spool in /*) ;; *) spool=$PWD/$spool ;; esac
  return 0
}

# bound_self ARGS...: the outer invocation re-runs this very script under `timeout` and always exits 0, so
# neither a hang (apt has no hook timeout and holds the dpkg lock meanwhile) nor a crash of the inner run
# can fail or stall apt. The inner invocation returns at once and does the work.
bound_self() {
  if [ "${PATCHROLL_HOOK_INNER:-}" = 1 ]; then return 0; fi
  PATCHROLL_HOOK_INNER=1 PATCHROLL_HOOK_PARENT=$PPID timeout -k 1 "$limit" "$0" "$@"
  rc=$?
  case $rc in
    0) ;;
    124|137) say "$hook_name did not finish within ${limit}s and was stopped" ;;
    *) say "$hook_name failed unexpectedly (exit $rc)" ;;
  esac
  exit 0
}

# stat_of PID: sets s_comm, s_ppid, s_start (field 22 of /proc/PID/stat: start time in clock ticks after
# boot). comm may hold spaces and parentheses, hence the split at the LAST ") ".
stat_of() {
  read -r s_line < "/proc/$1/stat" 2>/dev/null || return 1
  s_comm=${s_line#*\(}
  s_comm=${s_comm%\)*}
  set -- ${s_line##*) }
  s_ppid=$2
  s_start=${20}
}

# find_apt PID: sets apt_pid, apt_start, apt_comm to the apt front end (apt-get, apt, unattended-upgrade)
# that runs the hook whose parent is PID, so that every record of one apt run shares a run key.
# Shell wrappers (`sh -c`, timeout) are skipped. A chain of processes with the same name counts as one
# front end and the topmost one is taken: apt runs Post-Invoke from a forked child, and
# unattended-upgrade forks once per dpkg run (both measured on Debian 12).
find_apt() {
  f_pid=$1 apt_pid= apt_start= apt_comm= f_depth=0
  while [ "$f_pid" -gt 1 ] 2>/dev/null && [ $f_depth -lt 32 ]; do
    f_depth=$((f_depth + 1))
    stat_of "$f_pid" || break
    if [ -z "$apt_pid" ]; then
      case $s_comm in
        sh|dash|bash|busybox|timeout) f_pid=$s_ppid; continue ;;
      esac
      apt_comm=$s_comm
    elif [ "$s_comm" != "$apt_comm" ]; then
      break
    fi
    apt_pid=$f_pid apt_start=$s_start
    f_pid=$s_ppid
  done
  [ -n "$apt_pid" ]
}

# record_start KIND: checks the spool dir and sets kind, the apt run identity (apt_pid, apt_start,
# apt_comm), boot and tmp (the temp file). Returns 1 (after saying why) when the spool dir cannot take a
# record. A record's header is "patchroll-spool 1", kind, boot, "apt PID START COMM", time-ns (see
# src/intake/spool-record.ts); its name NS-HOOKPID-KIND.rec sorts oldest first.
record_start() {
  if [ ! -d "$spool" ] && ! mkdir -p -m 0750 "$spool" 2>/dev/null; then
    say "$hook_name: cannot create spool dir $spool, no record written"; return 1
  fi
  if [ ! -w "$spool" ]; then
    say "$hook_name: spool dir $spool is not writable (read-only filesystem?), no record written"; return 1
  fi
  find_apt "${PATCHROLL_HOOK_PARENT:-$PPID}" || { apt_pid=0 apt_start=0 apt_comm=unknown; }
  read -r boot < /proc/sys/kernel/random/boot_id 2>/dev/null || boot=unknown
  tmp="$spool/.tmp-$$-$1"
  kind=$1
}

# record_commit REC: makes the written temp file durable and visible as REC: fsync it, rename it, fsync the dir.
record_commit() {
  if ! sync "$tmp" 2>/dev/null || ! mv -f "$tmp" "$1" 2>/dev/null; then
    rm -f "$tmp" 2>/dev/null
    say "$hook_name: could not make the spool record $1 durable"; return 1
  fi
  sync "$spool" 2>/dev/null || say "$hook_name: could not fsync spool dir $spool; record $1 may not survive a crash"
  return 0
}
