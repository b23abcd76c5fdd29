#!/bin/sh
# patchroll apt hook for DPkg::Post-Invoke (deploy/apt/50patchroll):
#   apt-post-invoke --spool DIR [--timeout SEC]
#
# apt runs it each time dpkg has finished, successfully or not (apt has no Post-Invoke-Success for dpkg, and
# unattended-upgrade runs dpkg, hence this hook, several times per run). It writes ONE small spool record
# "dpkg finished" carrying the apt run's identity (the same run key as the pre-install records). dpkg's
# exit status is not knowable here (apt runs Post-Invoke through system() in a forked child and passes
# nothing); what dpkg left behind is in /var/lib/dpkg/status, which the daemon can read itself: scanning
# it here cost ~3 ms of CPU per dpkg run, more than all the rest of this hook's own work.
# Always exits 0; runs no external command at all (see hooks/hook-lib.sh). An explicit --timeout SEC
# bounds it with timeout(1). The sh form of the hook, which hooks/build.sh installs as apt-post-invoke where
# no C compiler is; elsewhere apt runs the compiled one (hooks/patchroll-hook.c), which writes the same record.

LC_ALL=C
export LC_ALL
set -f
umask 027
hook_name=apt-post-invoke
. "${0%/*}/hook-lib.sh" || { printf 'patchroll: %s: cannot read hook-lib.sh; apt goes on, reconciliation will catch up\n' "$0" >&2; exit 0; }
parse_args "$@" || exit 0
bound_self "$@"

record_start post-invoke || exit 0
find_apt "${PATCHROLL_HOOK_PARENT:-$PPID}" || { apt_pid=0 apt_start=0 apt_comm=unknown; }
if ! printf 'patchroll-spool 1\nkind %s\nboot %s\napt %s %s %s\nend\n' "$kind" "$boot" "$apt_pid" "$apt_start" "$apt_comm" > "$rec" 2>/dev/null; then
  record_failed
fi
exit 0
