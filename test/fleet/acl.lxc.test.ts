import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { eventually, type FleetBed, fleetBed } from "./fleet-bed.js";

/**
 * Least privilege, on real Redis ACLs and real daemons (the built binary) with real containers: each host
 * connects as the ACL user `patchroll fleet acl HOST` prints; its daemon works (heartbeats, a rollout, the
 * status screen), and it cannot read or delete another host's queues.
 */
describe("each host its own Redis ACL user (real Redis, real daemons)", () => {
  let fleet: FleetBed;
  const scratch = mkdtempSync("/var/tmp/patchroll-test-facl-");

  beforeAll(async () => {
    fleet = await fleetBed("facl", [[{}], [{}]], async (i, { url, prefix }) => {
      const host = `facl-${i}`;
      const passwordFile = join(scratch, `${host}.password`);
      // As an operator: print the host's ACL user, and apply it as the Redis administrator.
      const out: string[] = [];
      const code = await main(["--config", "/dev/null", "--set", `redis.prefix=${prefix}`, "--json", "fleet", "acl", host, "--password-file", passwordFile], { out: (t) => void out.push(t), err: (t) => void out.push(t) }, {});
      expect(code, out.join("")).toBe(0);
      const { user, command } = JSON.parse(out.join("")) as { user: string; command: string };
      const admin = new Redis(url);
      try {
        await admin.call(...(command.split(" ") as [string, ...string[]]));
      } finally {
        admin.disconnect();
      }
      const withUser = new URL(url);
      withUser.username = user;
      return { redis: { url: withUser.toString(), password: readFileSync(passwordFile, "utf8").trim(), prefix } };
    });
    for (const host of fleet.hosts) host.start();
  });
  afterAll(async () => {
    await fleet?.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("the password file is the host's alone, and the ACL holds only its hash", () => {
    const file = join(scratch, "facl-0.password");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8").trim()).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  it("a daemon under its ACL user registers, rolls out and shows its status", async () => {
    await eventually("both hosts registered", async () => {
      const r = await fleet.hosts[0]!.cli("fleet", "hosts", "--json");
      return r.exitCode === 0 && (JSON.parse(r.stdout) as { hosts: unknown[] }).hosts.length === 2 ? true : undefined;
    });
    const [a] = fleet.hosts;
    const id = await a!.h.trigger();
    expect((await a!.h.waitFor(id, ["completed", "halted", "aborted"])).status).toBe("completed");
    const status = await a!.cli("status", "--json");
    const doc = JSON.parse(status.stdout) as { redis: { reachable: boolean }; daemon: { up: boolean } };
    expect(doc.redis.reachable, status.stdout).toBe(true);
    expect(doc.daemon.up).toBe(true);
  });

  it("host A cannot read or delete host B's queues", async () => {
    const [a, b] = fleet.hosts;
    const theirs = `{${fleet.prefix}:${b!.h.env.config.hostId}}:rollouts:meta`;
    const admin = new Redis(fleet.redis.url);
    try {
      expect(await admin.exists(theirs)).toBe(1);
      const mine = a!.h.redis;
      await expect(mine.hgetall(theirs)).rejects.toThrow(/NOPERM/);
      await expect(mine.del(theirs)).rejects.toThrow(/NOPERM/);
      await expect(mine.keys(`{${fleet.prefix}:${b!.h.env.config.hostId}}:*`)).rejects.toThrow(/NOPERM/);
      await expect(mine.flushall()).rejects.toThrow(/NOPERM/);
      expect(await admin.exists(theirs)).toBe(1);
      // Its own queues and the fleet's keys are open to it.
      expect(await mine.exists(`{${fleet.prefix}:${a!.h.env.config.hostId}}:rollouts:meta`)).toBe(1);
      expect(await mine.hlen(`{${fleet.prefix}:fleet}:hosts`)).toBe(2);
    } finally {
      admin.disconnect();
    }
  });

  it("the daemons were never refused a command", async () => {
    for (const host of fleet.hosts) expect(await host.stop("SIGTERM")).not.toMatch(/NOPERM|no permissions/i);
  });
});
