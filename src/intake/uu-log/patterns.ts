/**
 * Every unattended-upgrades log message patchroll recognises, in ONE table.
 *
 * The English strings are those of unattended-upgrades 2.9.1 (`/usr/bin/unattended-upgrade`, the
 * `logging.*(_("..."))` calls; the function named in each comment). They are translated to the system
 * language (gettext domain `unattended-upgrades`) and worded differently in other versions: a message
 * that matches nothing here is surfaced as `unknown`, never an error. To support another version or
 * language, add rows.
 */

/** What a recognised message means for a run. */
export type UuMessageKind =
  | "start" // run(): the run begins
  | "allowed-origins"
  | "blacklist"
  | "whitelist"
  | "will-upgrade" // packages the run is about to install
  | "dry-run"
  | "writing-dpkg-log"
  | "all-installed" // verdict: success
  | "nothing-to-do" // verdict: success, nothing upgradable
  | "install-failed" // verdict: failure (details follow)
  | "error-message"
  | "dpkg-error"
  | "exception"
  | "fatal" // verdict: the run gave up (lock, apt, broken cache, download)
  | "error"
  | "interrupted" // signal, battery or metered connection: the run stops early
  | "kept-back"
  | "not-upgraded"
  | "conffile-prompt"
  | "mark-failed"
  | "auto-removed"
  | "autoremove-kept"
  | "autoremove-failed"
  | "removing-kernels"
  | "dpkg-unclean"
  | "reboot-required"
  | "skipped" // not a patch day / development release: no run
  | "notice"; // recognised, no bearing on the outcome

/** Values a pattern pulls out of a message. */
export interface UuFields {
  packages?: string[];
  origins?: string[];
  pkg?: string;
  reason?: string;
  detail?: string;
}

/** One row of the table: a message shape and the fields it yields. */
export interface UuPattern {
  kind: UuMessageKind;
  re: RegExp;
  fields?: (m: RegExpExecArray) => UuFields;
}

const words = (s: string | undefined): string[] => (s ?? "").split(/\s+/).filter((w) => w.length > 0);
const pkgs = (i: number) => (m: RegExpExecArray): UuFields => ({ packages: words(m[i]) });
const pkg = (i: number, reason?: string) => (m: RegExpExecArray): UuFields => ({ pkg: m[i]!, ...(reason === undefined ? {} : { reason }) });
const detail = (i: number) => (m: RegExpExecArray): UuFields => ({ detail: m[i]! });

/** The table. Patterns are anchored and free of nested quantifiers (linear on huge lines). */
export const UU_MESSAGE_PATTERNS: readonly UuPattern[] = [
  // run()
  { kind: "start", re: /^Starting unattended upgrades script$/ },
  { kind: "skipped", re: /^Skipping update check: today is (.*)$/s, fields: detail(1) },
  { kind: "skipped", re: /^Not running on (?:this development release before .*|the development release\.)$/s },
  { kind: "dpkg-unclean", re: /^Unclean dpkg state detected, trying to correct$/ },
  { kind: "notice", re: /^dpkg --configure -a output:/ },
  { kind: "fatal", re: /^Lock could not be acquired \(another package manager running\?\)$/, fields: () => ({ reason: "lock could not be acquired (another package manager running?)" }) },
  { kind: "fatal", re: /^Apt returned an error, exiting$/, fields: () => ({ reason: "apt returned an error" }) },
  { kind: "fatal", re: /^Cache has broken packages, exiting$/, fields: () => ({ reason: "apt cache has broken packages" }) },
  { kind: "fatal", re: /^The URI (.*) failed to download, aborting$/s, fields: (m) => ({ reason: `download of ${m[1]} failed` }) },
  { kind: "fatal", re: /^Download finished, but file (.*) not there\?!\?$/s, fields: (m) => ({ reason: `downloaded file ${m[1]} missing` }) },
  { kind: "error", re: /^GetArchives\(\) failed: (.*)$/s, fields: detail(1) },
  { kind: "error", re: /^An error occurred: (.*)$/s, fields: detail(1) },
  { kind: "error", re: /^fetch\.run\(\) result: (.*)$/s, fields: detail(1) },
  { kind: "will-upgrade", re: /^Packages that will be upgraded:(.*)$/s, fields: pkgs(1) },
  { kind: "dry-run", re: /^Option --dry-run given, \*not\* performing real actions$/ },
  { kind: "nothing-to-do", re: /^No packages found that can be upgraded unattended and no pending auto-removals$/ },
  { kind: "removing-kernels", re: /^Removing unused kernel packages:(.*)$/s, fields: pkgs(1) },
  { kind: "not-upgraded", re: /^package (\S+) not upgraded$/, fields: pkg(1, "conffile prompt") },
  { kind: "conffile-prompt", re: /^Package (\S+) has conffile prompt and needs to be upgraded manually$/, fields: pkg(1, "conffile prompt") },
  // UnattendedUpgradesCache.__init__
  { kind: "allowed-origins", re: /^Allowed origins are:(.*)$/s, fields: (m) => ({ origins: (m[1] ?? "").split(", ").map((o) => o.trim()).filter((o) => o.length > 0) }) },
  { kind: "blacklist", re: /^Initial blacklist:(.*)$/s, fields: pkgs(1) },
  { kind: "whitelist", re: /^Initial whitelist \((?:strict|not strict)\):(.*)$/s, fields: pkgs(1) },
  // kept_package_excuse() / find_kept_packages()
  { kind: "kept-back", re: /^Package (\S+) is marked to be held back\.$/, fields: pkg(1, "held") },
  { kind: "kept-back", re: /^Package (\S+) is blacklisted\.$/, fields: pkg(1, "blacklisted") },
  { kind: "kept-back", re: /^Package (\S+) is not on the strict whitelist\.$/, fields: pkg(1, "not on the strict whitelist") },
  { kind: "kept-back", re: /^Package (\S+) is not whitelisted and it is not a dependency of a whitelisted package\.$/, fields: pkg(1, "not whitelisted") },
  { kind: "kept-back", re: /^Package (\S+)'s origin is not trusted\.$/, fields: pkg(1, "origin not trusted") },
  { kind: "kept-back", re: /^Package (\S+) is kept back because a related package is kept back or due to local apt_preferences\(5\)\.$/, fields: pkg(1, "related package kept back or apt_preferences") },
  { kind: "notice", re: /^The list of kept packages can't be calculated in dry-run mode\.$/ },
  // try_to_upgrade() / upgrade_in_minimal_steps()
  { kind: "mark-failed", re: /^package (\S+) upgradable but fails to be marked for upgrade \((.*)\)$/s, fields: (m) => ({ pkg: m[1]!, reason: m[2]! }) },
  { kind: "notice", re: /^While building minimal partition: cache has not allowed changes$/ },
  // do_install() / upgrade_normal() / upgrade_in_minimal_steps()
  { kind: "writing-dpkg-log", re: /^Writing dpkg log to (.*)$/s, fields: detail(1) },
  { kind: "all-installed", re: /^All upgrades installed$/ },
  { kind: "install-failed", re: /^Installing the upgrades failed!$/ },
  { kind: "error-message", re: /^[Ee]rror message: (.*)$/s, fields: detail(1) },
  { kind: "dpkg-error", re: /^dpkg returned an? error! See (.*) for details$/s, fields: detail(1) },
  { kind: "exception", re: /^Exception happened during upgrade\.$/ },
  // do_auto_remove() / is_autoremove_valid()
  { kind: "auto-removed", re: /^Packages that were successfully auto-removed:(.*)$/s, fields: pkgs(1) },
  { kind: "autoremove-kept", re: /^Packages that are kept back:(.*)$/s, fields: pkgs(1) },
  { kind: "autoremove-kept", re: /^Keeping (?:the following auto-removable package\(s\)|auto-removable \S+ package\(s\)|\d+ auto-removable package\(s\)) because /s },
  { kind: "autoremove-failed", re: /^Auto-removing the packages failed!$/ },
  { kind: "error", re: /^The following packages are marked for installation or upgrade which is not allowed when performing autoremovals: (.*)$/s, fields: detail(1) },
  // should_stop() / signal_handler()
  { kind: "interrupted", re: /^(SIGTERM received, will stop|SIGNAL received, stopping|System is on battery power, stopping|System is on metered connection, stopping)$/, fields: detail(1) },
  { kind: "notice", re: /^Checking if (?:system is running on battery|connection is metered) is skipped\. / },
  // reboot_if_requested_and_needed(): only logged with Unattended-Upgrade::Automatic-Reboot
  { kind: "reboot-required", re: /^Found (\S+), rebooting$/, fields: detail(1) },
  { kind: "reboot-required", re: /^Found (\S+), but not rebooting because .* (?:is|are) logged in\.$/s, fields: detail(1) },
  { kind: "notice", re: /^Shutdown msg: /s },
  { kind: "error", re: /^Failed to issue shutdown: (.*)$/s, fields: detail(1) },
  // main(), logging and mail set-up, configuration
  // A second instance gives up before its run starts; the line lands inside the first instance's run.
  { kind: "skipped", re: /^Lock file is already taken, exiting$/ },
  { kind: "notice", re: /^(?:Enabled logging to syslog via \S+ facility|Syslog facility \S+ was not found)/ },
  { kind: "notice", re: /^No \/usr\/bin\/mail or \/usr\/sbin\/sendmail, can not send mail\./ },
  { kind: "notice", re: /^Could not open .* for saving list of packages kept back\.$/s },
  { kind: "notice", re: /^Could not figure out development release: /s },
  { kind: "error", re: /^Unable to parse (.*)\.$/s, fields: detail(1) },
  { kind: "error", re: /^failed to read deb file (.*)$/s, fields: detail(1) },
  { kind: "notice", re: /^apt_pkg\.pkgsystem_unlock\(\) failed due to not holding the lock but trying to continue$/ },
  { kind: "notice", re: /^empty match string matches nothing$/ },
];
