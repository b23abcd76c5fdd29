import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { HostRecord } from "../../src/fleet/host-record.js";
import { fleetKey } from "../../src/fleet/fleet-keys.js";
import type { FleetHostsDocument } from "../../src/fleet/render-hosts.js";
import { eventually, type FleetBed, fleetBed } from "./fleet-bed.js";

/**
 * Three real daemons (the built binary) on one real redis-server of their own, each with its own host id,
 * LXC path, state/spool/journal dirs and a real overlay container: they register and heartbeat; one
 * killed with kill -9 is shown lost with its last word; one stopped cleanly says so; a lost host is
 * forgotten with who and why journaled.
 */
describe("fleet host registry: three daemons on one shared Redis (real LXC, real Redis, built binary)", () => {
  let fleet: FleetBed;

  beforeAll(async () => {
    fleet = await fleetBed("freg", [[{}], [{}], [{}]]);
    for (const host of fleet.hosts) host.start();
  });
  afterAll(async () => {
    await fleet?.cleanup();
  });

  // docs/cli.md's `fleet hosts --json` shape, strictly: no field unlisted.
  const HostsJson = z.strictObject({
    v: z.literal(1),
    at: z.string(),
    hosts: z.array(z.strictObject({ host: z.string(), status: z.enum(["up", "stopped", "lost"]), lastSeen: z.string(), silentSec: z.number(), record: HostRecord.nullable() })),
  });
  const hostsDoc = async (): Promise<{ exitCode: number; doc: FleetHostsDocument }> => {
    const r = await fleet.hosts[0]!.cli("fleet", "hosts", "--json");
    if (r.exitCode !== 0 && r.exitCode !== 7) throw new Error(`fleet hosts: exit ${r.exitCode}: ${r.stderr}`);
    return { exitCode: r.exitCode, doc: HostsJson.parse(JSON.parse(r.stdout)) as FleetHostsDocument };
  };
  const ids = () => fleet.hosts.map((x) => x.h.env.config.hostId);

  it("every daemon registers and heartbeats its version, containers and state", async () => {
    const { doc, exitCode } = await eventually("three hosts up with their containers measured", async () => {
      const r = await hostsDoc();
      return r.doc.hosts.length === 3 && r.doc.hosts.every((x) => x.status === "up" && x.record?.containers?.managed === 1) ? r : undefined;
    });
    expect(exitCode).toBe(0);
    expect(doc.v).toBe(1);
    expect(doc.hosts.map((x) => x.host)).toEqual([...ids()].sort());
    for (const x of doc.hosts) {
      expect(x.record).toMatchObject({ v: 1, host: x.host, version: "0.1.0", state: "up", rollout: null, lastAptEvent: null, containers: { managed: 1, stale: 0, shadowed: 0, pinned: 0 } });
      expect(x.silentSec).toBeLessThan(2);
    }
    // Host keys stay under each host's own hash tag; the registry is under the fleet's.
    expect(await fleet.client.hlen(fleetKey(fleet.hosts[0]!.h.env.config, "hosts"))).toBe(3);
    expect(fleetKey(fleet.hosts[0]!.h.env.config, "hosts")).toBe(`{${fleet.prefix}:fleet}:hosts`);
    const text = await fleet.hosts[1]!.cli("fleet", "hosts");
    expect(text.stdout).toMatch(/^HOST\s+STATUS\s+VERSION/);
    for (const id of ids()) expect(text.stdout).toMatch(new RegExp(`${id}\\s+up\\s+0\\.1\\.0\\s+1/0/0/0`));
  });

  it("an idle host's record stays small and is not rewritten by each heartbeat", async () => {
    const key = fleetKey(fleet.hosts[0]!.h.env.config, "hosts");
    const before = await fleet.client.hget(key, ids()[0]!);
    await new Promise((r) => setTimeout(r, 1000)); // about five heartbeats
    expect(await fleet.client.hget(key, ids()[0]!)).toBe(before);
    const bytes = (await fleet.client.memory("USAGE", key)) ?? 0;
    expect(bytes / 3).toBeLessThan(20 * 1024);
  });

  it("a host killed with kill -9 is shown lost, with its last word; one stopped cleanly says stopped", async () => {
    const [, stopped, killed] = fleet.hosts;
    await killed!.stop("SIGKILL");
    await stopped!.stop("SIGTERM");
    const { doc, exitCode } = await eventually("the killed host shown lost", async () => {
      const r = await hostsDoc();
      return r.doc.hosts.find((x) => x.host === killed!.h.env.config.hostId)?.status === "lost" ? r : undefined;
    });
    expect(exitCode).toBe(7);
    const lost = doc.hosts.find((x) => x.host === killed!.h.env.config.hostId)!;
    expect(lost.silentSec).toBeGreaterThanOrEqual(1);
    expect(lost.record).toMatchObject({ state: "up", containers: { managed: 1 } });
    expect(doc.hosts.find((x) => x.host === stopped!.h.env.config.hostId)).toMatchObject({ status: "stopped", record: { state: "stopped" } });
    expect(doc.hosts.find((x) => x.host === ids()[0])?.status).toBe("up");
    const text = (await fleet.hosts[0]!.cli("fleet", "hosts")).stdout;
    expect(text).toMatch(new RegExp(`${killed!.h.env.config.hostId}\\s+LOST \\d+s ago.*last word: idle`));
    // The fleet's one screen says so, with the runbook, exit 7 as `status`.
    const status = await fleet.hosts[0]!.cli("fleet", "status", "--json");
    expect(status.exitCode, status.stderr).toBe(7);
    const screen = JSON.parse(status.stdout) as { hosts: { counts: Record<string, number> }; attention: { what: string; runbook: string }[] };
    expect(screen.hosts.counts).toEqual({ up: 1, stopped: 1, lost: 1 });
    expect(screen.attention).toEqual([expect.objectContaining({ runbook: "fleet-host-lost", what: expect.stringContaining(`host ${killed!.h.env.config.hostId} is lost`) })]);
  });

  it("fleet forget removes a host, journaled with who and why; an unknown host is an error naming it", async () => {
    const killed = fleet.hosts[2]!.h.env.config.hostId;
    const r = await fleet.hosts[0]!.cli("fleet", "forget", killed, "--why", "decommissioned in the test");
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await hostsDoc()).doc.hosts.map((x) => x.host)).not.toContain(killed);
    const a = fleet.hosts[0]!.h.env.config;
    const journal = join(a.journalDir, ".fleet", a.hostId, "actions.jsonl");
    expect(existsSync(journal)).toBe(true);
    const entry = JSON.parse(readFileSync(journal, "utf8").trim().split("\n").at(-1)!) as { type: string; data: Record<string, unknown> };
    expect(entry).toMatchObject({ type: "fleet.forget", data: { who: "oncall-test", why: "decommissioned in the test", subject: killed } });
    const stream = await fleet.client.xrange(fleetKey(a, "actions"), "-", "+");
    expect(stream.at(-1)?.[1]).toEqual(["action", "forget", "who", "oncall-test", "why", "decommissioned in the test", "subject", killed, "host", a.hostId]);
    const again = await fleet.hosts[0]!.cli("fleet", "forget", killed, "--why", "twice");
    expect(again.exitCode).toBe(4);
    expect(again.stderr).toContain(`host ${killed} is not registered`);
  });

  it("a running daemon that was forgotten registers again at its next heartbeat", async () => {
    const me = ids()[0]!;
    expect((await fleet.hosts[1]!.cli("fleet", "forget", me, "--why", "by mistake")).exitCode).toBe(0);
    await eventually("the forgotten host back", async () => ((await hostsDoc()).doc.hosts.some((x) => x.host === me && x.status === "up") ? true : undefined), 5000);
  });
});
