import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JournalEntry } from "../../src/journal/entry.js";
import type { VerdictsDocument } from "../../src/fleet/verdicts.js";
import { startManualRollout } from "../../src/rollout/manual-rollout.js";
import { eventually, type FleetBed, fleetBed, type FleetHost } from "./fleet-bed.js";

const BAKE_MS = 800;

/**
 * Two package versions in flight at once on three real daemons (the built binary), one real Redis, real
 * containers: each version has its own waves (the same canary host first), and each host restarts for a
 * version only after the canary host passed that very version and it baked, whatever the other does.
 */
describe("two versions in flight at once, each through its own waves (real LXC, Redis, built binary)", () => {
  let fleet: FleetBed;

  beforeAll(async () => {
    fleet = await fleetBed("ftwo", [[{}], [{}], [{}]], () => ({ fleet: { waves: [1, "100%"], bakeMs: BAKE_MS, canaryHosts: ["ftwo-0"] } }));
    for (const host of fleet.hosts) host.start();
    await eventually("three hosts up", async () => ((await fleet.client.zcard(`{${fleet.prefix}:fleet}:seen`)) === 3 ? true : undefined));
  });
  afterAll(async () => {
    await fleet?.cleanup();
  });

  it("each host rolls each version out after the canary host passed it and it baked", async () => {
    const tag = randomBytes(2).toString("hex");
    const x = { name: `prx-${tag}`, arch: "all", from: "1", to: "2", action: "upgrade" as const };
    const y = { name: `pry-${tag}`, arch: "all", from: "7", to: "8", action: "upgrade" as const };
    const ids = new Map<string, string>();
    // Version x reaches every host, then version y: two rollouts per host, each of one version.
    for (const change of [x, y]) {
      for (const host of fleet.hosts) ids.set(`${host.h.env.config.hostId}/${change.name}`, (await startManualRollout(host.h.redis, host.h.queues, host.h.env.config, [change])).rolloutId);
      // Planned before the next version comes, so the two are not folded into one rollout.
      await eventually(`every host planned ${change.name}`, async () => (fleet.hosts.every((h) => h.h.journal(ids.get(`${h.h.env.config.hostId}/${change.name}`)!).some((e) => e.type === "rollout.planned")) ? true : undefined));
    }
    const journal = (host: FleetHost, pkg: string): JournalEntry[] => host.h.journal(ids.get(`${host.h.env.config.hostId}/${pkg}`)!);
    for (const host of fleet.hosts) for (const c of [x, y]) await host.h.waitFor(ids.get(`${host.h.env.config.hostId}/${c.name}`)!, ["completed"], 90_000);

    const ts = (j: JournalEntry[], type: string) => Date.parse(j.find((e) => e.type === type)?.ts ?? "NaN");
    const [canary, ...others] = fleet.hosts;
    for (const c of [x, y]) {
      const passed = ts(journal(canary!, c.name), "rollout.completed");
      for (const h of others) {
        const j = journal(h, c.name);
        expect(ts(j, "step.begin") - passed, `${h.h.env.config.hostId} ${c.name}`).toBeGreaterThanOrEqual(BAKE_MS - 100);
        expect(j.filter((e) => e.type === "fleet.joined").map((e) => e.data["versions"])).toEqual([[`${c.name}=${c.to}`]]);
      }
    }
    const verdicts = JSON.parse((await canary!.cli("fleet", "verdicts", "--json")).stdout) as VerdictsDocument;
    for (const c of [x, y]) {
      const v = verdicts.versions.find((r) => r.package === c.name)!;
      expect(v.status).toBe("passed");
      expect(v.waves.map((w) => w.map((h) => h.host))).toEqual([["ftwo-0"], ["ftwo-1", "ftwo-2"]]);
    }
  });
});
