import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { isHostRootMounted } from "../../src/containers/host-root.js";
import { LxcDriver } from "../../src/containers/lxc-driver.js";
import { mountsUnder, readMountInfo } from "../../src/containers/mountinfo.js";
import { createContainer } from "../../src/containers/provision.js";
import { lxcTestBed } from "../helpers/lxc.js";

describe("lxcTestBed", () => {
  it("gives unique names and free ports, and cleanup() leaves no container, process, mount or directory", async () => {
    const bed = await lxcTestBed("bed");
    const a = await bed.create();
    const b = await bed.create({ healthy: false, group: "g" });
    expect(a.name).toMatch(/^prt-bed-[0-9a-f]{6}$/);
    expect(a.name).not.toBe(b.name);
    expect(a.port).not.toBe(b.port);
    expect((await fetch(a.healthUrl)).status).toBe(200);
    expect((await fetch(b.healthUrl)).status).toBe(404);
    expect((await b.info()).meta).toMatchObject({ group: "g", health: [{ type: "http", url: b.healthUrl }] });
    expect(bed.lxcPath.startsWith("/var/tmp/patchroll-test-bed-")).toBe(true);
    expect(isHostRootMounted(bed.hostRoot)).toBe(true);
    const pids = [...(await bed.driver.pids(a.name)), ...(await bed.driver.pids(b.name))];

    await bed.cleanup();
    expect(existsSync(bed.lxcPath)).toBe(false);
    expect(mountsUnder(readMountInfo(), bed.lxcPath)).toEqual([]);
    for (const p of pids) expect(existsSync(`/proc/${p}`)).toBe(false);
    for (const h of ["pids", "memory", "unified", "systemd"]) {
      for (const n of [a.name, b.name]) expect(existsSync(`/sys/fs/cgroup/${h}/lxc.payload.${n}`) || existsSync(`/sys/fs/cgroup/${h}/lxc.monitor.${n}`)).toBe(false);
    }
  });

  it("sweeps a bed whose owner process died before its cleanup ran", async () => {
    // What a test process killed mid-run leaves behind: a running container and a host root bind mount.
    const orphan = mkdtempSync("/var/tmp/patchroll-test-orphan-");
    const dead = execa("/bin/true");
    await dead;
    writeFileSync(join(orphan, ".lxc-test-bed"), String(dead.pid));
    const hostRoot = join(orphan, "host", "rootfs");
    const name = `prt-orphan-${process.pid}`;
    await createContainer({ name, lxcPath: orphan, hostRoot, service: ["/bin/busybox", "sleep", "600"] });
    const driver = new LxcDriver(orphan);
    await driver.start(name);
    const pids = await driver.pids(name);
    expect(pids.length).toBeGreaterThan(0);

    const bed = await lxcTestBed("sweeper");
    try {
      expect(existsSync(orphan)).toBe(false);
      expect(mountsUnder(readMountInfo(), orphan)).toEqual([]);
      for (const p of pids) expect(existsSync(`/proc/${p}`)).toBe(false);
    } finally {
      await bed.cleanup();
    }
  });
});
