#!/bin/sh
# What patchroll's apt hooks add to a dpkg run, measured on this machine (prints numbers, asserts nothing).
#   sh bench/hooks.bench.sh [N]   (npm run bench runs it; N >= 50, default 100)   root; installs and purges a
#   throwaway package; leaves the machine as it was (needrestart's /run/needrestart/unpacked flag included).
#
# The hooks measured are the current sources, laid out by hooks/build.sh in a scratch dir: the compiled hook
# (what apt runs where a C compiler built it) and the sh fallback (--sh), for comparison.
#
# 1. Per dpkg run, as apt runs the hooks: `/bin/sh -c "HOOK ARGS"` with a real v3 payload on stdin for
#    DPkg::Pre-Install-Pkgs, then `/bin/sh -c "HOOK ARGS"` for DPkg::Post-Invoke; "without hooks" is apt
#    running nothing. N rounds, each timing both hooks of each form, the floor any hook pays (the same two
#    `/bin/sh -c` running /bin/true) and an empty timing of the same kind, interleaved: median and p99 of
#    (pre + post - empty) per round. If needrestart is installed (Debian's apt hook,
#    DPkg::Post-Invoke apt-pinvoke), its hook is timed the same way, for comparison (with the flag dpkg's
#    status-logger leaves after an unpack, in list-only mode: NEEDRESTART_MODE=l, it restarts nothing).
#    With perf(1), also the hooks' CPU time. Then the pre-install hook AS SHIPPED (the arguments of
#    deploy/apt/50patchroll, --capture included) on the payload of an upgrade of a one-file and of a
#    320-file package: the capture hard-links every file the upgrade replaces.
# 2. Real upgrades through apt-get, with the hooks AS SHIPPED (deploy/apt/50patchroll, --capture of the old
#    package files included), without hooks, and (if installed) with needrestart's hook, interleaved, M runs
#    each (M = N/2, at least 25): a package of 320 files and one of a single file, each upgraded between
#    two versions (1.0 -> 1.1, then back with --allow-downgrades: every run replaces every file, so every
#    run captures). Medians, p99s and differences. dpkg itself varies by tens of ms from run to run here,
#    so part 1 is the precise figure for the hooks' own cost and this the real one.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -euo pipefail
n=${1:-100}
[ "$n" -ge 50 ] || n=50
src_hooks=$(cd "$(dirname "$0")/../hooks" && pwd)
work=$(mktemp -d /var/tmp/patchroll-bench-hooks-XXXXXX)
hooks=$work/hooks
sh_hooks=$work/sh-hooks
pkg=prbench$$
nr_flag=/run/needrestart/unpacked
nr_flag_was=absent
[ -e "$nr_flag" ] && nr_flag_was=present
cleanup() {
  dpkg --purge "$pkg" "$pkg-one" "$pkg-big" >/dev/null 2>&1 || true
  rm -rf "$work"
  if [ "$nr_flag_was" = present ]; then mkdir -p "${nr_flag%/*}" && touch "$nr_flag"; else rm -f "$nr_flag"; fi
}
trap cleanup EXIT INT TERM
sh "$src_hooks/build.sh" "$hooks"
sh "$src_hooks/build.sh" --sh "$sh_hooks"
form=compiled
head -c 4 "$hooks/apt-pre-install-pkgs" | grep -q ELF || form="sh (no C compiler)"

nr_hook=
if dpkg-query -W -f '${db:Status-Abbrev}' needrestart 2>/dev/null | grep -q '^ii' && [ -f /etc/apt/apt.conf.d/99needrestart ]; then
  nr_hook=$(sed -n 's/^DPkg::Post-Invoke *{ *"\(.*\)"; *};.*/\1/p' /etc/apt/apt.conf.d/99needrestart | sed 's/\\"/"/g')
fi
export NEEDRESTART_MODE=l
unset NEEDRESTART_SUSPEND

# Throwaway packages in a flat local repository, and hermetic apt configurations (no machine snippets):
# $pkg (one file, the part-1 payload names it), $pkg-one (one file) and $pkg-big (320 files), each in
# versions 1.0 and 1.1.
mkdir -p "$work/repo" "$work/spool" "$work/bspool" "$work/capture"
build_pkg() { # name version files
  local r=$work/build/$1-$2 i
  mkdir -p "$r/DEBIAN" "$r/usr/share/$1"
  for ((i = 0; i < $3; i++)); do printf '%s %s file %d\n' "$1" "$2" "$i" > "$r/usr/share/$1/f$i"; done
  printf 'Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: bench <bench@patchroll.invalid>\nDescription: hook bench\n' "$1" "$2" > "$r/DEBIAN/control"
  dpkg-deb --root-owner-group -Zgzip -b "$r" "$work/repo/${1}_$2_all.deb" > /dev/null
}
for ver in 1.0 1.1; do build_pkg "$pkg" "$ver" 1; build_pkg "$pkg-one" "$ver" 1; build_pkg "$pkg-big" "$ver" 320; done
(cd "$work/repo" && apt-ftparchive packages . > Packages && apt-ftparchive release . > Release)
variants="plain hooked"
[ -n "$nr_hook" ] && variants="$variants needrestart"
for v in $variants; do
  mkdir -p "$work/$v/parts" "$work/$v/lists/partial" "$work/$v/cache/archives/partial" "$work/$v/state" "$work/$v/log" "$work/$v/sources.d"
  echo "deb [trusted=yes] file:$work/repo ./" > "$work/$v/sources.list"
  cat > "$work/$v/apt.conf" <<EOC
Dir::Etc::main "/dev/null"; Dir::Etc::parts "$work/$v/parts"; Dir::Etc::sourcelist "$work/$v/sources.list";
Dir::Etc::sourceparts "$work/$v/sources.d"; Dir::State "$work/$v/state/"; Dir::State::Lists "$work/$v/lists/";
Dir::State::status "/var/lib/dpkg/status"; Dir::Cache "$work/$v/cache/"; Dir::Log "$work/$v/log/";
APT::Sandbox::User "root"; DPkg::Lock::Timeout "120";
EOC
done
# The snippet as shipped, --capture included, pointed at this scratch dir (on /var/tmp: the same
# filesystem as /usr, as the capture's hard links need).
sed -e "s|/usr/lib/patchroll/hooks|$hooks|g" -e "s|/var/spool/patchroll|$work/spool|g" -e "s|/var/lib/patchroll/capture|$work/capture|g" \
  "$src_hooks/../deploy/apt/50patchroll" > "$work/hooked/parts/50patchroll"
grep -q -- "--capture $work/capture" "$work/hooked/parts/50patchroll"
[ -n "$nr_hook" ] && cp /etc/apt/apt.conf.d/99needrestart "$work/needrestart/parts/99needrestart"
for v in $variants; do APT_CONFIG=$work/$v/apt.conf apt-get update -qq; done
APT_CONFIG=$work/plain/apt.conf apt-get install -y -qq "$pkg=1.0" > /dev/null
printf 'VERSION 3\nAPT::Architecture=amd64\nCommandLine::AsString=apt-get%%20install%%20%s\n\n%s 1.0 all none = 1.0 all none %s\n%s 1.0 all none = 1.0 all none **CONFIGURE**\n' \
  "$pkg" "$pkg" "$work/repo/${pkg}_1.0_all.deb" "$pkg" > "$work/payload"
# The payloads of an upgrade 1.0 -> 1.1 of the one-file and the 320-file package (installed at 1.0), for
# the pre-install hook as shipped, with --capture.
for p in one big; do
  APT_CONFIG=$work/plain/apt.conf apt-get install -y -qq "$pkg-$p=1.0" > /dev/null
  printf 'VERSION 3\nAPT::Architecture=amd64\nCommandLine::AsString=apt-get%%20install%%20%s\n\n%s 1.0 all none < 1.1 all none %s\n%s 1.0 all none < 1.1 all none **CONFIGURE**\n' \
    "$pkg-$p" "$pkg-$p" "$work/repo/${pkg}-${p}_1.1_all.deb" "$pkg-$p" > "$work/payload.$p"
done
capture_args=$(sed -n 's|^ *"/usr/lib/patchroll/hooks/apt-pre-install-pkgs \(.*\)";$|\1|p' "$src_hooks/../deploy/apt/50patchroll" | sed -e "s|/var/spool/patchroll|$work/bspool|" -e "s|/var/lib/patchroll/capture|$work/capture|")

# Times are ${EPOCHREALTIME/./}: microseconds, read without starting a process.
stats() { sort -n | awk -v what="$1" '{ v[NR] = $1 } END { i = int(NR * 0.99 + 0.999); if (i > NR) i = NR; printf "%s %.2f %.2f %d\n", what, v[int((NR + 1) / 2)] / 1000, v[i] / 1000, NR }'; }
bench() { printf 'BENCH\thooks\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4"; }
# Part 1: per dpkg run, both forms interleaved with an empty timing.
: > "$work/t.empty"; : > "$work/t.nr"
for f in c s t; do : > "$work/t.run.$f"; : > "$work/t.pre.$f"; : > "$work/t.post.$f"; done
for ((i = 0; i < n; i++)); do
  a=${EPOCHREALTIME/./}; b=${EPOCHREALTIME/./}; empty=$((b - a))
  echo "$empty" >> "$work/t.empty"
  for f in c s t; do
    case $f in
      c) pre_cmd="$hooks/apt-pre-install-pkgs --spool $work/bspool" post_cmd="$hooks/apt-post-invoke --spool $work/bspool" ;;
      s) pre_cmd="$sh_hooks/apt-pre-install-pkgs --spool $work/bspool" post_cmd="$sh_hooks/apt-post-invoke --spool $work/bspool" ;;
      t) pre_cmd=/bin/true post_cmd=/bin/true ;;
    esac
    a=${EPOCHREALTIME/./}; /bin/sh -c "$pre_cmd" < "$work/payload"
    b=${EPOCHREALTIME/./}; /bin/sh -c "$post_cmd"; c=${EPOCHREALTIME/./}
    echo $((b - a - empty)) >> "$work/t.pre.$f"; echo $((c - b - empty)) >> "$work/t.post.$f"; echo $((c - a - empty)) >> "$work/t.run.$f"
    rm -f "$work/bspool"/*.rec
  done
done
read -r _ run_med run_p99 _ < <(stats run < "$work/t.run.c")
read -r _ pre_med pre_p99 _ < <(stats pre < "$work/t.pre.c")
read -r _ post_med post_p99 _ < <(stats post < "$work/t.post.c")
read -r _ sh_med sh_p99 _ < <(stats sh < "$work/t.run.s")
read -r _ floor_med floor_p99 _ < <(stats floor < "$work/t.run.t")
printf 'patchroll hooks per dpkg run (pre-install + post-invoke, as apt starts them; %s): median %.2f ms, p99 %.2f ms (n=%d)\n' "$form" "$run_med" "$run_p99" "$n"
printf '  apt-pre-install-pkgs: median %.2f ms, p99 %.2f ms; apt-post-invoke: median %.2f ms, p99 %.2f ms\n' "$pre_med" "$pre_p99" "$post_med" "$post_p99"
printf '  the sh fallback (hooks/build.sh --sh), same rounds: median %.2f ms, p99 %.2f ms\n' "$sh_med" "$sh_p99"
printf '  the floor of any hook (two `/bin/sh -c /bin/true`), same rounds: median %.2f ms, p99 %.2f ms\n' "$floor_med" "$floor_p99"
bench "added per dpkg run (median)" "$run_med" ms "< 5"
bench "added per dpkg run (p99)" "$run_p99" ms "< 20"
bench "apt-pre-install-pkgs (median)" "$pre_med" ms "-"
bench "apt-post-invoke (median)" "$post_med" ms "-"
bench "sh fallback: added per dpkg run (median)" "$sh_med" ms "-"
bench "floor, two sh -c /bin/true (median)" "$floor_med" ms "-"
# The pre-install hook as shipped (--capture ...): on the upgrade of one file and of 320 files.
for p in one big; do
  : > "$work/t.cap.$p"
  for ((i = 0; i < n; i++)); do
    a=${EPOCHREALTIME/./}; b=${EPOCHREALTIME/./}; empty=$((b - a))
    a=${EPOCHREALTIME/./}; /bin/sh -c "$hooks/apt-pre-install-pkgs $capture_args" < "$work/payload.$p"; b=${EPOCHREALTIME/./}
    echo $((b - a - empty)) >> "$work/t.cap.$p"
    [ "$i" = 0 ] && [ "$p" = big ] && echo "  files captured by one run on the 320-file upgrade: $(find "$work/capture" -type f | wc -l)"
    rm -rf "${work:?}/capture"/* "$work/bspool"/*.rec
  done
  read -r _ cap_med cap_p99 _ < <(stats cap < "$work/t.cap.$p")
  files=$(dpkg -L "$pkg-$p" | grep -c "/f[0-9]*$")
  printf 'apt-pre-install-pkgs as shipped (%s) on the upgrade of a %d-file package: median %.2f ms, p99 %.2f ms (n=%d)\n' "$capture_args" "$files" "$cap_med" "$cap_p99" "$n"
  bench "pre-install hook as shipped (--capture), upgrade of a $files-file package (median)" "$cap_med" ms "-"
  bench "pre-install hook as shipped (--capture), upgrade of a $files-file package (p99)" "$cap_p99" ms "-"
done
if [ -n "$nr_hook" ]; then
  for ((i = 0; i < n; i++)); do
    mkdir -p "${nr_flag%/*}"; touch "$nr_flag" # what dpkg's status-logger leaves after an unpack
    a=${EPOCHREALTIME/./}; b=${EPOCHREALTIME/./}; empty=$((b - a))
    a=${EPOCHREALTIME/./}; /bin/sh -c "$nr_hook" > /dev/null 2>&1; b=${EPOCHREALTIME/./}
    echo $((b - a - empty)) >> "$work/t.nr"
  done
  read -r _ nr_med nr_p99 _ < <(stats nr < "$work/t.nr")
  printf 'needrestart hook per dpkg run (DPkg::Post-Invoke "%s", after an unpack): median %.2f ms, p99 %.2f ms (n=%d)\n' "$nr_hook" "$nr_med" "$nr_p99" "$n"
  bench "needrestart hook per dpkg run (median)" "$nr_med" ms "-"
  bench "needrestart hook per dpkg run (p99)" "$nr_p99" ms "-"
else
  echo "needrestart is not installed: its hook is not measured (apt-cache policy needrestart)"
fi
if command -v perf > /dev/null; then
  for hook in apt-pre-install-pkgs apt-post-invoke; do
    cpu=$(perf stat -r "$n" -x, -e task-clock /bin/sh -c "$hooks/$hook --spool $work/bspool < $work/payload" 2>&1 > /dev/null | awk -F, '/task-clock/ { print $1 }')
    base_cpu=$(perf stat -r "$n" -x, -e task-clock /bin/sh -c ": < $work/payload" 2>&1 > /dev/null | awk -F, '/task-clock/ { print $1 }')
    added=$(awk -v a="$cpu" -v b="$base_cpu" 'BEGIN { printf "%.2f", a - b }')
    printf '  %-22s CPU %.2f ms (perf task-clock, mean of %d, the sh -c alone (%.2f ms) subtracted; unlike wall time, it hardly changes with load)\n' "$hook" "$added" "$n" "$base_cpu"
    bench "$hook CPU (mean)" "$added" ms "-"
    rm -f "$work/bspool"/*.rec
  done
fi

# Part 2: real upgrades through apt-get, interleaved; every run changes the version, so dpkg replaces
# every file and the shipped hook captures the old ones.
m=$((n / 2)); [ "$m" -ge 25 ] || m=25
for p in one big; do
  for v in $variants; do : > "$work/t.apt.$p.$v"; done
done
for ((i = 0; i < m; i++)); do
  for p in one big; do
    for v in $variants; do
      [ "$(dpkg-query -W -f '${Version}' "$pkg-$p")" = 1.0 ] && ver=1.1 || ver=1.0
      a=${EPOCHREALTIME/./}; APT_CONFIG=$work/$v/apt.conf apt-get install -y -qq --allow-downgrades "$pkg-$p=$ver" > /dev/null 2>&1; b=${EPOCHREALTIME/./}
      echo $((b - a)) >> "$work/t.apt.$p.$v"
    done
  done
  [ "$i" = 0 ] && captured=$(find "$work/capture" -type f | wc -l)
  rm -rf "${work:?}/capture"/*
done
echo "old package files captured by the hooked runs of the first round (both packages): $captured"
for p in one big; do
  read -r _ plain_med plain_p99 _ < <(stats plain < "$work/t.apt.$p.plain")
  files=$(dpkg -L "$pkg-$p" | grep -c "/f[0-9]*$")
  for v in $variants; do
    read -r _ med p99 _ < <(stats "$v" < "$work/t.apt.$p.$v")
    printf 'apt-get upgrade of a package of %3d files, %-11s median %7.1f ms, p99 %7.1f ms' "$files" "$v:" "$med" "$p99"
    if [ "$v" != plain ]; then
      printf ', added: median %+.1f ms, p99 %+.1f ms\n' "$(awk -v a="$med" -v b="$plain_med" 'BEGIN { print a - b }')" "$(awk -v a="$p99" -v b="$plain_p99" 'BEGIN { print a - b }')"
      label=$v; [ "$v" = hooked ] && label="patchroll hooks as shipped (--capture)"; [ "$v" = needrestart ] && label="needrestart's hook"
      bench "upgrade of a $files-file package: added by $label (median)" "$(awk -v a="$med" -v b="$plain_med" 'BEGIN { printf "%.1f", a - b }')" ms "-"
    else
      printf '\n'
      bench "upgrade of a $files-file package, no hooks (median)" "$plain_med" ms "-"
    fi
  done
done
printf '(%d runs each, interleaved) spool records written by the hooked runs: %s; load average now: %s\n' "$m" "$(ls "$work/spool" | wc -l)" "$(cut -d' ' -f1-3 /proc/loadavg)"
