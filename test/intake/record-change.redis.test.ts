import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { main } from "../../src/cli/main.js";
import type { PackageChange } from "../../src/intake/apt-event.js";
import type { ChangeReport } from "../../src/intake/change-report.js";
import { EventStore } from "../../src/intake/event-store.js";
import { withIntakeLock } from "../../src/intake/intake-lock.js";
import { recordChange } from "../../src/intake/record-change.js";
import type { SpoolRecord } from "../../src/intake/spool-record.js";
import { testEnv, type TestEnv } from "../helpers/redis.js";

/** recordChange and the intake lock against the real test Redis: reports arriving together, and again. */
describe("recordChange on Redis", () => {
  let env: TestEnv;
  let clients: Redis[];
  const O = { slackMs: 5_000 };
  const T0 = Date.parse("2026-11-23T05:43:00.000Z");
  const at = (s: number): string => new Date(T0 + s * 1000).toISOString();
  const pkg = (name: string, to: string): PackageChange => ({ name, arch: "amd64", from: "1.0", to, action: "upgrade" });

  beforeAll(async () => {
    env = testEnv("rec-change");
    clients = await Promise.all(
      [0, 1, 2].map(async () => {
        const r = new Redis(env.config.redis.url!, { lazyConnect: true, maxRetriesPerRequest: 1 });
        await r.connect();
        return r;
      }),
    );
  });
  afterAll(() => {
    for (const c of clients) c.disconnect();
    env.cleanup();
  });

  it("makes one event of three sources reporting one apt run at the same moment, on three connections, twice over", async () => {
    const packages = [pkg("libssl3", "3.0.22"), pkg("openssl", "3.0.22")];
    const reports: ChangeReport[] = [
      { source: "hook", key: "b1825a29d417-8281-99118", time: at(1), endedAt: at(4), packages, unattended: true },
      {
        source: "uu-log",
        key: at(0),
        time: at(0),
        endedAt: at(6),
        packages: packages.map((p) => ({ ...p, arch: "unknown" })),
        unattended: true,
        uu: { outcome: { status: "ok" }, details: { startedAt: at(0), endedAt: at(6), origins: ["origin=Debian,label=Debian-Security"], keptBack: [], rebootRequired: false }, names: ["libssl3", "openssl"] },
      },
      { source: "reconcile", key: `${at(2)}@/var/log/dpkg.log:10`, time: at(2), endedAt: at(3), packages, steps: packages },
    ];
    for (let round = 0; round < 2; round++) {
      await Promise.all(reports.map((r, i) => recordChange(clients[i]!, new EventStore(clients[i]!, env.config), env.config, r, O)));
    }
    const events = await new EventStore(clients[0]!, env.config).listEvents();
    expect(events).toHaveLength(1);
    expect([...events[0]!.sources].sort()).toEqual(["hook", "reconcile", "uu-log"].sort());
    expect(events[0]).toMatchObject({ origin: "security", outcome: { status: "ok" }, unattended: true, packages });
  });

  it("counts a dpkg.log change a running apt run's hook records hold as pending, not new", async () => {
    const store = new EventStore(clients[0]!, env.config);
    const record: SpoolRecord = {
      v: 1, kind: "pre-install", id: "b1825a29-100-1-pre-install", runKey: "b1825a29d417-9000-1", bootId: "b1825a29-d417-4eb9-9398-fd9814117bdc",
      aptPid: 9000, aptStart: 1, aptComm: "apt-get", time: at(100), packages: [pkg("libpending", "2.0")], unattended: false,
    };
    await store.addRecord(record);
    const report: ChangeReport = { source: "reconcile", key: `${at(100)}@x:1`, time: at(100), endedAt: at(101), packages: [pkg("libpending", "2.0")] };
    expect(await recordChange(clients[0]!, store, env.config, report, O)).toEqual([]);
    expect((await store.listEvents()).filter((e) => e.packages.some((p) => p.name === "libpending"))).toEqual([]);
  });

  it("runs holders of the intake lock one at a time, and gives up with a clear error when it stays taken", async () => {
    const order: string[] = [];
    const hold = (name: string, ms: number) =>
      withIntakeLock(clients[0]!, env.config, async () => {
        order.push(`${name}+`);
        await new Promise((r) => setTimeout(r, ms));
        order.push(`${name}-`);
      });
    await Promise.all([hold("a", 50), hold("b", 10), hold("c", 10)]);
    for (let i = 0; i < order.length; i += 2) expect(order[i + 1]).toBe(order[i]!.replace("+", "-"));
    const blocked = withIntakeLock(clients[1]!, env.config, () => new Promise((r) => setTimeout(r, 400)));
    await new Promise((r) => setTimeout(r, 20));
    await expect(withIntakeLock(clients[2]!, env.config, async () => 1, { waitMs: 100 })).rejects.toThrow(/could not take the intake lock .* another patchroll process holds it/);
    await blocked;
  });

  it("patchroll events list|show show sources, origin and the unattended-upgrades verdict", async () => {
    const flags = ["--host-id", env.config.hostId, "--redis-url", env.config.redis.url!, "--state-dir", env.config.stateDir];
    const run = async (...args: string[]) => {
      let out = "";
      const code = await main([...flags, ...args], { out: (t) => (out += t.endsWith("\n") ? t : `${t}\n`), err: (t) => (out += t) }, {});
      return { code, out };
    };
    const list = await run("events", "list");
    expect(list.code).toBe(0);
    expect(list.out).toMatch(/ID\s+TIME\s+ORIGIN\s+SOURCES\s+OUTCOME\s+PACKAGES/);
    expect(list.out).toMatch(/security\s+hook,uu-log,reconcile\s+ok\s+libssl3 1.0 -> 3.0.22|security\s+\S*uu-log\S*\s+ok/);
    const json = JSON.parse((await run("--json", "events", "list")).out) as { events: { id: string; sources: string[]; uu?: unknown }[] };
    const id = json.events[0]!.id;
    expect(json.events[0]!.uu).toMatchObject({ origins: ["origin=Debian,label=Debian-Security"] });
    const show = await run("events", "show", id);
    expect(show.code).toBe(0);
    expect(show.out).toContain("run by   unattended-upgrades");
    expect(show.out).toContain("origin   security (allowed origins: origin=Debian,label=Debian-Security)");
    expect(show.out).toContain("outcome  ok");
    expect(show.out).toMatch(/sources  (hook|uu-log|reconcile), (hook|uu-log|reconcile), (hook|uu-log|reconcile)/);
    expect((await run("events", "show", "nope")).code).not.toBe(0);
  });
});
