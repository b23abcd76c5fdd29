import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { runDpkg } from "../helpers/dpkg-lock.js";
import { IntakeHarness } from "../intake/intake-harness.js";

/**
 * Every package change becomes exactly one event and one rollout, whichever sources report it: real
 * apt-get and unattended-upgrade through patchroll's hooks (test/intake/intake-harness.ts), the daemon
 * in-process following unattended-upgrades' log and reconciling a dpkg.log of its own.
 */
// apt and dpkg calls take turns with every other test that drives them (test/helpers/dpkg-lock.ts).
describe("intake: one event and one rollout per apt run, from every source", { timeout: 300_000 }, () => {
  let h: IntakeHarness | undefined;
  afterEach(async () => {
    await h?.cleanup();
    h = undefined;
  });

  const upgradeOf = (name: string) => (p: { name: string; action: string }) => p.name === name && p.action === "upgrade";

  it("apt-get through the hook: one event, one rollout; reconciliation adds itself as a source, not an event", async () => {
    h = await IntakeHarness.create("in-aptget");
    await h.publish("1.0", "1.1");
    await h.startDaemon();
    expect((await h.apt.install([`${h.name}=1.0`])).exitCode).toBe(0);
    const upgrade = await h.apt.install([`${h.name}=1.1`]);
    expect(upgrade.exitCode, upgrade.stderr).toBe(0);
    expect(upgrade.stderr).not.toMatch(/^patchroll:/m);

    const events = await h.until("two events (install, upgrade)", () => h!.events(), (e) => e.length === 2);
    const event = events.find((e) => e.packages.some(upgradeOf(h!.name)))!;
    expect(event).toMatchObject({ sources: ["hook"], unattended: false, origin: "unknown", packages: [{ name: h.name, arch: "all", from: "1.0", to: "1.1", action: "upgrade" }] });
    expect(event.commandLine).toContain(`${h.name}=1.1`);
    const rollouts = await h.until("its rollout", () => h!.rollouts(), (r) => r.length === 1);
    expect(rollouts[0]!.eventId).toBe(event.id);

    const pass = await h.daemon!.intake!.reconcileNow();
    expect(pass.created).toEqual([]);
    const after = await h.events();
    expect(after.map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(after.map((e) => e.sources)).toEqual([
      ["hook", "reconcile"],
      ["hook", "reconcile"],
    ]);
    expect(await h.daemon!.intake!.reconcileNow()).toMatchObject({ groups: 0, created: [] });
    expect(await h.rollouts()).toEqual(rollouts);
  });

  it("unattended-upgrade through the hook: its log brings verdict, origin and uu-log to the same event", async () => {
    h = await IntakeHarness.create("in-uu");
    await h.publish("1.0");
    await h.startDaemon();
    expect((await h.apt.install([`${h.name}=1.0`])).exitCode).toBe(0);
    await h.publish("1.1");
    const uu = await h.unattendedUpgrade();
    expect(uu.exitCode, `${uu.stdout}\n${uu.stderr}`).toBe(0);

    const events = await h.until("the upgrade with its unattended-upgrades account", () => h!.events(), (e) => e.some((x) => x.packages.some(upgradeOf(h!.name)) && x.sources.includes("uu-log")));
    const event = events.find((e) => e.packages.some(upgradeOf(h!.name)))!;
    expect(event).toMatchObject({
      sources: ["hook", "uu-log"],
      unattended: true,
      origin: "security",
      outcome: { status: "ok" },
      uu: { origins: ["origin=prtest,label=prtest-security"], keptBack: [], rebootRequired: expect.any(Boolean) },
      packages: [{ name: h.name, arch: "all", from: "1.0", to: "1.1", action: "upgrade" }],
    });
    expect(event.id).toMatch(/^apt-/); // the hook's account made it
    expect(Date.parse(event.time)).toBeLessThanOrEqual(Date.parse(event.uu!.startedAt));

    expect((await h.daemon!.intake!.reconcileNow()).created).toEqual([]);
    expect((await h.events()).length).toBe(events.length);
    const rollouts = await h.until("its one rollout", () => h!.rollouts(), (r) => r.some((x) => x.eventId === event.id));
    expect(rollouts.filter((r) => r.eventId === event.id)).toHaveLength(1);
    expect(rollouts).toHaveLength(1);
  });

  it("an unattended-upgrade run without the hook: its log makes the event (versions from its dpkg output, architecture from dpkg.log), once", async () => {
    h = await IntakeHarness.create("in-uu-nohook");
    await h.publish("1.0");
    await h.startDaemon();
    expect((await h.apt.install([`${h.name}=1.0`])).exitCode).toBe(0);
    await h.publish("1.1");
    h.removeHooks();
    const spoolBefore = readdirSync(h.env.config.spoolDir).filter((f) => f.endsWith(".rec"));
    const uu = await h.unattendedUpgrade();
    expect(uu.exitCode, `${uu.stdout}\n${uu.stderr}`).toBe(0);
    expect(readdirSync(h.env.config.spoolDir).filter((f) => f.endsWith(".rec"))).toEqual(spoolBefore);

    const events = await h.until("the upgrade, from the unattended-upgrades log", () => h!.events(), (e) => e.some((x) => x.packages.some(upgradeOf(h!.name))));
    const event = events.find((e) => e.packages.some(upgradeOf(h!.name)))!;
    expect(event).toMatchObject({ sources: ["uu-log"], unattended: true, origin: "security", outcome: { status: "ok" }, packages: [{ name: h.name, arch: "all", from: "1.0", to: "1.1", action: "upgrade" }] });
    expect(event.id).toMatch(/^uu-/);

    expect((await h.daemon!.intake!.reconcileNow()).created).toEqual([]);
    const after = await h.events();
    expect(after).toHaveLength(events.length);
    expect(after.find((e) => e.id === event.id)!.sources).toEqual(["uu-log", "reconcile"]);
    const rollouts = await h.until("its rollout", () => h!.rollouts(), (r) => r.length === 1);
    expect(rollouts[0]!.eventId).toBe(event.id);
  });

  it("an upgrade done with dpkg while the daemon was stopped is reconciled from dpkg.log when it starts", async () => {
    h = await IntakeHarness.create("in-stopped");
    await h.publish("1.0", "1.1");
    await h.startDaemon(); // first start: dpkg.log's end becomes the checkpoint
    expect((await h.apt.install([`${h.name}=1.0`])).exitCode).toBe(0);
    await h.until("the install", () => h!.events(), (e) => e.length === 1);
    await h.daemon!.intake!.reconcileNow();
    await h.stopDaemon();

    await runDpkg([`--log=${h.dpkgLog}`, "-i", join(h.repo.dir, `${h.name}_1.1_all.deb`)]);
    const daemon = await h.startDaemon();
    const events = await h.until("the upgrade, from dpkg.log", () => h!.events(), (e) => e.length === 2);
    const event = events.find((e) => e.packages.some(upgradeOf(h!.name)))!;
    expect(event).toMatchObject({ sources: ["reconcile"], origin: "unknown", packages: [{ name: h.name, arch: "all", from: "1.0", to: "1.1", action: "upgrade" }] });
    expect(event.id).toMatch(/^dpkg-/);
    const rollouts = await h.until("its rollout", () => h!.rollouts(), (r) => r.length === 1);
    expect(rollouts[0]!.eventId).toBe(event.id);
    expect((await daemon.intake!.reconcileNow()).created).toEqual([]);
    expect(await h.events()).toHaveLength(2);
  });

  it.each([
    ["read-only", "ro,size=1m", /spool dir .* is not writable/],
    ["full", "size=16k", /could not write the spool record .* \(disk full\?\)/],
  ])("a spool dir that is %s: apt exits 0 and says so, and periodic reconciliation makes the one event", async (_what, mountOptions, reason) => {
    h = await IntakeHarness.create("in-spool", { intake: { reconcileIntervalSec: 1, reconcileSettleSec: 1 } });
    await h.publish("1.0", "1.1");
    await h.startDaemon();
    expect((await h.apt.install([`${h.name}=1.0`])).exitCode).toBe(0);
    await h.until("the install", () => h!.events(), (e) => e.length === 1);
    const spool = h.env.config.spoolDir;
    await execa("mount", ["-t", "tmpfs", "-o", mountOptions, "patchroll-test-spool", spool]);
    try {
      if (!mountOptions.startsWith("ro")) {
        writeFileSync(join(spool, "spool-filler"), Buffer.alloc(12 * 1024));
        await execa("sh", ["-c", 'dd if=/dev/zero of="$1/spool-filler2" bs=1k 2>/dev/null || true', "sh", spool]);
      }
      const upgrade = await h.apt.install([`${h.name}=1.1`]);
      expect(upgrade.exitCode, upgrade.stderr).toBe(0);
      const lines = upgrade.stderr.split("\n").filter((l) => l.startsWith("patchroll:"));
      expect(lines).toHaveLength(2);
      for (const line of lines) expect(line).toMatch(reason);

      const events = await h.until("the upgrade, from dpkg.log", () => h!.events(), (e) => e.length === 2);
      const event = events.find((e) => e.packages.some(upgradeOf(h!.name)))!;
      expect(event).toMatchObject({ sources: ["reconcile"], packages: [{ name: h.name, from: "1.0", to: "1.1", action: "upgrade" }] });
      const rollouts = await h.until("its rollout", () => h!.rollouts(), (r) => r.length === 1);
      expect(rollouts[0]!.eventId).toBe(event.id);
      await h.daemon!.intake!.reconcileNow();
      await h.daemon!.intake!.reconcileNow();
      expect(await h.events()).toHaveLength(2);
      expect(await h.rollouts()).toHaveLength(1);
    } finally {
      await execa("umount", [spool], { reject: false });
    }
  });
});
