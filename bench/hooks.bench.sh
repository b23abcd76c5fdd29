#!/bin/sh
# What patchroll's apt hooks add to a dpkg run, measured on this machine (prints numbers, asserts nothing).
#   sh bench/hooks.bench.sh [N]   (npm run bench runs it)        (root; installs and purges a throwaway package)
# 1. Each hook alone, started as apt starts it (`/bin/sh -c "HOOK --spool DIR"`, a real v3 payload on
#    stdin), N times: median and p90 of its wall time, minus the cost of the timing itself.
#    With perf(1), also their CPU time (task-clock of all their processes): unlike wall time, it hardly
#    changes when the machine is busy.
# 2. Real `apt-get install --reinstall` of a tiny package, with and without the hooks configured,
#    interleaved, N times each: medians and their difference (what a real apt run pays).
set -eu
n=${1:-50}
hooks=$(cd "$(dirname "$0")/../hooks" && pwd)
work=$(mktemp -d /var/tmp/patchroll-bench-hooks-XXXXXX)
pkg=prbench$$
cleanup() { dpkg --purge "$pkg" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM

# A throwaway package in a flat local repository, and two hermetic apt configurations.
mkdir -p "$work/root/DEBIAN" "$work/root/usr/share/$pkg" "$work/repo" "$work/spool" "$work/bspool"
echo 1.0 > "$work/root/usr/share/$pkg/version"
printf 'Package: %s\nVersion: 1.0\nArchitecture: all\nMaintainer: bench <bench@patchroll.invalid>\nDescription: hook bench\n' "$pkg" > "$work/root/DEBIAN/control"
dpkg-deb --root-owner-group -Zgzip -b "$work/root" "$work/repo/${pkg}_1.0_all.deb" > /dev/null
(cd "$work/repo" && apt-ftparchive packages . > Packages && apt-ftparchive release . > Release)
for v in plain hooked; do
  mkdir -p "$work/$v/parts" "$work/$v/lists/partial" "$work/$v/cache/archives/partial" "$work/$v/state" "$work/$v/log" "$work/$v/sources.d"
  echo "deb [trusted=yes] file:$work/repo ./" > "$work/$v/sources.list"
  cat > "$work/$v/apt.conf" <<EOC
Dir::Etc::main "/dev/null"; Dir::Etc::parts "$work/$v/parts"; Dir::Etc::sourcelist "$work/$v/sources.list";
Dir::Etc::sourceparts "$work/$v/sources.d"; Dir::State "$work/$v/state/"; Dir::State::Lists "$work/$v/lists/";
Dir::State::status "/var/lib/dpkg/status"; Dir::Cache "$work/$v/cache/"; Dir::Log "$work/$v/log/";
APT::Sandbox::User "root"; DPkg::Lock::Timeout "120";
EOC
done
sed -e "s|/usr/lib/patchroll/hooks|$hooks|g" -e "s|/var/spool/patchroll|$work/spool|g" -e 's| --capture [^ ]*||' \
  "$hooks/../deploy/apt/50patchroll" > "$work/hooked/parts/50patchroll"
APT_CONFIG=$work/plain/apt.conf apt-get update -qq
APT_CONFIG=$work/hooked/apt.conf apt-get update -qq
APT_CONFIG=$work/plain/apt.conf apt-get install -y -qq "$pkg" > /dev/null
printf 'VERSION 3\nAPT::Architecture=amd64\nCommandLine::AsString=apt-get%%20install%%20%s\n\n%s 1.0 all none = 1.0 all none %s\n%s 1.0 all none = 1.0 all none **CONFIGURE**\n' \
  "$pkg" "$pkg" "$work/repo/${pkg}_1.0_all.deb" "$pkg" > "$work/payload"

ms() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.3f\n", (e - s) / 1e6 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
p90() { sort -n | awk '{ v[NR] = $1 } END { print v[int(NR * 0.9 + 0.5)] }'; }
p99() { sort -n | awk '{ v[NR] = $1 } END { i = int(NR * 0.99 + 0.999); if (i > NR) i = NR; print v[i] }'; }
bench() { printf 'BENCH\thooks\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4"; }
i=0; : > "$work/t.none"
while [ $i -lt "$n" ]; do s=$(date +%s%N); e=$(date +%s%N); ms "$s" "$e" >> "$work/t.none"; i=$((i + 1)); done
base=$(median < "$work/t.none")
for hook in apt-pre-install-pkgs apt-post-invoke; do
  i=0; : > "$work/t.$hook"
  while [ $i -lt "$n" ]; do
    s=$(date +%s%N); /bin/sh -c "$hooks/$hook --spool $work/bspool" < "$work/payload"; e=$(date +%s%N)
    ms "$s" "$e" >> "$work/t.$hook"; i=$((i + 1))
  done
  med=$(awk -v b="$base" '{ print $1 - b }' "$work/t.$hook" | median)
  hi=$(awk -v b="$base" '{ print $1 - b }' "$work/t.$hook" | p99)
  printf '%-22s alone: median %.2f ms, p99 %.2f ms (n=%d, timing overhead %.2f ms subtracted)\n' "$hook" "$med" "$hi" "$n" "$base"
  bench "$hook median (wall)" "$med" ms "< 5"
  bench "$hook p99 (wall)" "$hi" ms "< 20"
  if command -v perf > /dev/null; then
    cpu=$(perf stat -r "$n" -x, -e task-clock /bin/sh -c "$hooks/$hook --spool $work/bspool < $work/payload" 2>&1 > /dev/null | awk -F, '/task-clock/ { print $1 }')
    base_cpu=$(perf stat -r "$n" -x, -e task-clock /bin/sh -c ": < $work/payload" 2>&1 > /dev/null | awk -F, '/task-clock/ { print $1 }')
    printf '%-22s CPU:   %.2f ms (perf task-clock, mean of %d, the sh -c that apt starts anyway (%.2f ms) subtracted)\n' "$hook" "$(awk -v a="$cpu" -v b="$base_cpu" 'BEGIN { print a - b }')" "$n" "$base_cpu"
  fi
  rm -f "$work/bspool"/*.rec
done
i=0; : > "$work/t.plain"; : > "$work/t.hooked"
while [ $i -lt "$n" ]; do
  for v in plain hooked; do
    s=$(date +%s%N); APT_CONFIG=$work/$v/apt.conf apt-get install -y -qq --reinstall "$pkg" > /dev/null 2>&1; e=$(date +%s%N)
    ms "$s" "$e" >> "$work/t.$v"
  done
  i=$((i + 1))
done
a=$(median < "$work/t.plain"); b=$(median < "$work/t.hooked")
bench "apt-get --reinstall added (median)" "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", b - a }')" ms "-"
printf 'apt-get install --reinstall: median %.1f ms without hooks, %.1f ms with hooks: +%.1f ms (n=%d each, interleaved)\n' "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { print b - a }')" "$n"
printf 'spool records written by the hooked runs: %s; load average now: %s\n' "$(ls "$work/spool" | wc -l)" "$(cut -d' ' -f1-3 /proc/loadavg)"
