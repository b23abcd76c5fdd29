import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { discoverContainers, getContainer } from "../../src/containers/discover.js";
import { ensureHostRoot, releaseHostRoot } from "../../src/containers/host-root.js";
import { LxcDriver } from "../../src/containers/lxc-driver.js";
import { lxcTestBed, type TestBed } from "../helpers/lxc.js";

let bed: TestBed;
beforeAll(async () => {
  bed = await lxcTestBed("discover");
});
afterAll(async () => {
  await releaseHostRoot(join(bed.lxcPath, "host2", "rootfs")).catch(() => {});
  await bed.cleanup();
});

/** A hand-written container directory, as an operator or another tool might leave it. */
function handMade(name: string, config: string | null, opts: { delta?: boolean; meta?: string } = {}): void {
  const dir = join(bed.lxcPath, name);
  mkdirSync(dir, { recursive: true });
  if (config === null) mkdirSync(join(dir, "config"));
  else writeFileSync(join(dir, "config"), config);
  if (opts.delta === true) mkdirSync(join(dir, "delta0"), { recursive: true });
  if (opts.meta !== undefined) writeFileSync(join(dir, "patchroll.json"), opts.meta);
}

describe("discoverContainers", () => {
  it("lists managed containers with layers, state, pids and metadata, and says plainly why the others are not managed", async () => {
    const running = await bed.create({ group: "web", canary: true });
    const stopped = await bed.create({ start: false });
    const d = bed.lxcPath;
    handMade("u-dir", "lxc.rootfs.path = dir:/var/tmp/nowhere\nlxc.init.cmd = /bin/true\n");
    handMade("u-lower", `lxc.rootfs.path = overlayfs:/usr:${d}/u-lower/delta0\n`, { delta: true });
    handMade("u-nodelta", `lxc.rootfs.path = overlayfs:${bed.hostRoot}:${d}/u-nodelta/delta0\n`);
    handMade("u-unreadable", null);
    handMade("u-norootfs", "lxc.uts.name = x\n");
    handMade("u-badmeta", `lxc.rootfs.path = overlay:${bed.hostRoot}:${d}/u-badmeta/delta0\n`, { delta: true, meta: "{ not json" });
    handMade("-dash", "lxc.uts.name = x\n");
    // Any other bind mount of / counts as the host root too.
    const host2 = join(d, "host2", "rootfs");
    await ensureHostRoot(host2);
    handMade("m-otherbind", `lxc.rootfs.path = overlayfs:${host2}:${d}/m-otherbind/delta0\n`, { delta: true });

    const infos = await discoverContainers({ lxcPath: d, hostRoot: bed.hostRoot });
    const by = new Map(infos.map((i) => [i.name, i]));
    expect(infos.map((i) => i.name)).toEqual([...by.keys()].sort());

    const r = by.get(running.name);
    expect(r).toMatchObject({ managed: true, state: "RUNNING", deltaDir: running.deltaDir, lowerDirs: [bed.hostRoot], configPath: join(d, running.name, "config"), meta: { group: "web", canary: true } });
    expect(r?.unmanagedReason).toBeUndefined();
    expect(r?.pids).toEqual(await bed.driver.pids(running.name));
    expect(r?.pids).toContain(r?.initPid);
    expect(by.get(stopped.name)).toMatchObject({ managed: true, state: "STOPPED", pids: [] });
    expect(by.get(stopped.name)?.initPid).toBeUndefined();
    expect(by.get("m-otherbind")).toMatchObject({ managed: true, lowerDirs: [host2] });

    const reasons = Object.fromEntries(infos.filter((i) => !i.managed).map((i) => [i.name, i.unmanagedReason]));
    expect(reasons).toEqual({
      "-dash": expect.stringContaining("name not allowed"),
      "u-badmeta": expect.stringContaining("not valid JSON"),
      "u-dir": "rootfs is not an overlay (lxc.rootfs.path = dir:/var/tmp/nowhere)",
      "u-lower": expect.stringMatching(/^lowest overlay layer \/usr is not the host root/),
      "u-nodelta": `delta ${d}/u-nodelta/delta0 is missing`,
      "u-norootfs": "config has no lxc.rootfs.path",
      "u-unreadable": expect.stringContaining("config unreadable"),
    });
  });

  it("works the same through a driver without a batch listing", async () => {
    const c = await bed.create();
    const lxc = new LxcDriver(bed.lxcPath);
    const plain = { runtime: "lxc", start: lxc.start.bind(lxc), stop: lxc.stop.bind(lxc), state: lxc.state.bind(lxc), initPid: lxc.initPid.bind(lxc), pids: lxc.pids.bind(lxc), attach: lxc.attach.bind(lxc) };
    const a = await discoverContainers({ lxcPath: bed.lxcPath, hostRoot: bed.hostRoot, driver: plain });
    const b = await discoverContainers({ lxcPath: bed.lxcPath, hostRoot: bed.hostRoot });
    // Only a name patchroll refuses differs: lxc-ls reports its state, patchroll never asks for it by name.
    const valid = (infos: typeof a) => infos.filter((i) => i.name !== "-dash");
    expect(valid(a)).toEqual(valid(b));
    expect(a.find((i) => i.name === "-dash")?.state).toBe("UNKNOWN");
    expect(a.find((i) => i.name === c.name)?.state).toBe("RUNNING");
  });

  it("returns nothing for an LXC path that does not exist", async () => {
    expect(await discoverContainers({ lxcPath: join(bed.lxcPath, "nope"), hostRoot: bed.hostRoot })).toEqual([]);
  });
});

describe("getContainer", () => {
  it("gives one container, NOT_FOUND for an unknown name and CONTAINER_INVALID for a bad one", async () => {
    const c = await bed.create();
    expect(await getContainer({ lxcPath: bed.lxcPath, hostRoot: bed.hostRoot }, c.name)).toMatchObject({ name: c.name, managed: true, state: "RUNNING" });
    await expect(getContainer({ lxcPath: bed.lxcPath, hostRoot: bed.hostRoot }, "prt-discover-nosuch")).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(getContainer({ lxcPath: bed.lxcPath, hostRoot: bed.hostRoot }, "a/../b")).rejects.toMatchObject({ code: "CONTAINER_INVALID" });
  });
});
