import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JournalEntry } from "../../src/journal/entry.js";
import { startManualRollout } from "../../src/rollout/manual-rollout.js";
import { eventually, type FleetBed, fleetBed, type FleetHost } from "./fleet-bed.js";

const LEASE_MS = 2000;

/**
 * Waves [1, "100%"] and fleet.maxHostsInFlight 1 on three real daemons (the built binary), one real Redis,
 * real containers, one package version: the canary host is killed with kill -9 mid-wave, holding the
 * slot; once it is lost and its lease expired the fleet goes on, one host at a time; started again, it
 * gives back what it held, resumes its rollout from its journal under a new fencing token and finishes.
 */
describe("fleet lease: the canary host killed mid-wave, its lease expires and the fleet goes on (real LXC, Redis, built binary)", () => {
  let fleet: FleetBed;

  beforeAll(async () => {
    const spec = [{}, {}];
    fleet = await fleetBed("flse", [spec, spec, spec], () => ({
      rollout: { batches: [1, "100%"], healthyAfter: 3, healthIntervalMs: 250 },
      fleet: { maxHostsInFlight: 1, leaseMs: LEASE_MS, waves: [1, "100%"], bakeMs: 0, canaryHosts: ["flse-0"] },
    }));
    for (const host of fleet.hosts) host.start();
    await eventually("three hosts up", async () => ((await fleet.client.zcard(`{${fleet.prefix}:fleet}:seen`)) === 3 ? true : undefined));
  });
  afterAll(async () => {
    await fleet?.cleanup();
  });

  const at = (e: JournalEntry | undefined) => Date.parse(e?.ts ?? "NaN");
  const leases = (j: JournalEntry[]) => j.filter((e) => e.type === "fleet.lease");

  it("the canary killed mid-rollout: once lost and its lease run out the others go on, one at a time; restarted, it finishes", async () => {
    // The same version reaches every host (an operator's rollout naming it: select "all" restarts every container).
    const change = { name: `prf-${randomBytes(3).toString("hex")}`, arch: "all", from: "1.0", to: "1.1", action: "upgrade" as const };
    const ids = new Map<FleetHost, string>();
    for (const host of fleet.hosts) ids.set(host, (await startManualRollout(host.h.redis, host.h.queues, host.h.env.config, [change])).rolloutId);
    const journal = (host: FleetHost) => host.h.journal(ids.get(host)!);

    // The canary host, alone in wave 1, is killed once its first container is on its way.
    const holder = fleet.hosts[0]!;
    await eventually("the canary host restarting under the fleet slot", async () => (journal(holder).some((e) => e.type === "step.begin") ? true : undefined));
    const others = fleet.hosts.filter((h) => h !== holder);
    expect(others.every((h) => !journal(h).some((e) => e.type === "step.begin"))).toBe(true);
    const killedAt = Date.now(); // taken before the kill: its lease ran at least this long after
    await holder.stop("SIGKILL");
    const killedToken = Number(leases(journal(holder))[0]!.data["token"]);

    const done = await Promise.all(others.map((h) => h.h.waitFor(ids.get(h)!, ["completed", "halted", "aborted"], 90_000)));
    expect(done.map((d) => d.status)).toEqual(["completed", "completed"]);
    const [j1, j2] = others.map(journal) as [JournalEntry[], JournalEntry[]];
    // Nobody restarted beside the dead holder: the next slot came after its lease ran out.
    const firstAcquired = Math.min(...[j1, j2].map((j) => at(leases(j).find((e) => e.data["state"] === "acquired"))));
    expect(firstAcquired - killedAt).toBeGreaterThanOrEqual((LEASE_MS * 2) / 3 - 200);
    // One at a time, each under a higher fencing token, every restart inside its own slot.
    const windows = [j1, j2].map((j) => {
      const l = leases(j);
      return { from: at(l.find((e) => e.data["state"] === "acquired")), to: at(l.find((e) => e.data["state"] === "released")), token: Number(l[0]!.data["token"]), steps: j.filter((e) => e.type === "step.begin").map(at) };
    }).sort((a, b) => a.from - b.from);
    // (The first gives its slot back in Redis, then journals it: the second may journal its slot first.)
    expect(Math.max(...windows[0]!.steps)).toBeLessThan(windows[1]!.from);
    expect(windows[0]!.token).toBeGreaterThan(killedToken);
    expect(windows[1]!.token).toBeGreaterThan(windows[0]!.token);
    for (const w of windows) for (const s of w.steps) expect(s >= w.from && s <= w.to).toBe(true);
    // They said why they waited: for the canary's wave, then (one of them) for the slot.
    for (const j of [j1, j2]) expect(j.filter((e) => e.type === "rollout.waiting").map((e) => e.data["reason"])).toContain(`waiting for wave 2 of ${change.name} 1.1: canary host flse-0 is rolling it out`);
    expect([j1, j2].some((j) => j.some((e) => e.type === "rollout.waiting" && /^waiting for a fleet slot: 1 of 1 host\(s\) restart containers now \(flse-[12]; fleet.maxHostsInFlight 1\)$/.test(String(e.data["reason"]))))).toBe(true);

    // The killed host comes back: it gives back its old slot, resumes under a new token and finishes.
    holder.start();
    const resumed = await holder.h.waitFor(ids.get(holder)!, ["completed", "halted", "aborted"], 90_000);
    expect(resumed.status).toBe("completed");
    const again = leases(journal(holder)).filter((e) => e.data["state"] === "acquired");
    expect(again.length).toBeGreaterThanOrEqual(2);
    expect(Number(again.at(-1)!.data["token"])).toBeGreaterThan(windows[1]!.token);
    expect(journal(holder).map((e) => e.type)).toContain("rollout.resumed");
  });
});
