import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isPatchrollError } from "../../src/errors/patchroll-error.js";
import { lxcTestBed, type TestBed, waitForHttp } from "../helpers/lxc.js";

let bed: TestBed;
beforeAll(async () => {
  bed = await lxcTestBed("driver");
});
afterAll(async () => {
  await bed.cleanup();
});

describe("LxcDriver on real overlay containers", () => {
  it("starts a container, reports RUNNING, its init pid and every pid from its cgroup", async () => {
    const c = await bed.create({ start: false });
    expect(await bed.driver.state(c.name)).toBe("STOPPED");
    expect(await bed.driver.initPid(c.name)).toBeUndefined();
    expect(await bed.driver.pids(c.name)).toEqual([]);

    await bed.driver.start(c.name);
    expect(await bed.driver.state(c.name)).toBe("RUNNING");
    const init = await bed.driver.initPid(c.name);
    expect(init).toBeGreaterThan(1);
    // RUNNING means init runs; the service itself may still be between fork and exec: wait for it to answer.
    await waitForHttp(c.healthUrl, 10_000);
    const pids = await bed.driver.pids(c.name);
    expect(pids).toContain(init);
    const comms = pids.map((p) => readFileSync(`/proc/${p}/comm`, "utf8").trim());
    expect(comms).toContain("busybox");
    for (const p of pids) expect(readFileSync(`/proc/${p}/cgroup`, "utf8")).toContain(`lxc.payload.${c.name}`);
  });

  it("serves its health file, and start on a running container is a no-op", async () => {
    const c = await bed.create();
    const before = await bed.driver.initPid(c.name);
    await bed.driver.start(c.name);
    expect(await bed.driver.initPid(c.name)).toBe(before);
    const res = await fetch(c.healthUrl);
    expect(res.status).toBe(200);
    expect((await res.text()).trim()).toBe("ok");
  });

  it("stops cleanly (SIGTERM through init.lxc), and stop on a stopped container is a no-op", async () => {
    const c = await bed.create();
    const pids = await bed.driver.pids(c.name);
    await bed.driver.stop(c.name, 10);
    expect(await bed.driver.state(c.name)).toBe("STOPPED");
    for (const p of pids) expect(() => readFileSync(`/proc/${p}/comm`)).toThrow();
    await bed.driver.stop(c.name, 10);
    expect(await bed.driver.state(c.name)).toBe("STOPPED");
    await expect(fetch(c.healthUrl)).rejects.toThrow();
  });

  it("runs commands inside with lxc-attach, with a cleared environment", async () => {
    const c = await bed.create({ env: { GREETING: "hello" } });
    process.env["PATCHROLL_TEST_SECRET"] = "must-not-leak";
    try {
      const r = await bed.driver.attach(c.name, ["/bin/sh", "-c", "echo \"[$PATCHROLL_TEST_SECRET]\"; hostname; exit 3"], 10_000);
      expect(r.exitCode).toBe(3);
      expect(r.stdout.trim().split("\n")).toEqual(["[]", c.name]);
    } finally {
      delete process.env["PATCHROLL_TEST_SECRET"];
    }
    // The service sees its configured environment.
    const [init] = await bed.driver.pids(c.name);
    const svc = (await bed.driver.pids(c.name)).find((p) => p !== init);
    expect(readFileSync(`/proc/${svc}/environ`, "utf8").split("\0")).toContain("GREETING=hello");
  });

  it("fails a start that LXC cannot carry out (its lower layer is gone), with LXC's reason and what to do", async () => {
    const c = await bed.create({ start: false });
    const config = join(bed.lxcPath, c.name, "config");
    writeFileSync(config, readFileSync(config, "utf8").replace(`overlayfs:${bed.hostRoot}:`, `overlayfs:${bed.lxcPath}/no-such-lower:`));
    let caught: unknown;
    try {
      await bed.driver.start(c.name);
    } catch (err) {
      caught = err;
    }
    expect(isPatchrollError(caught, "CONTAINER_FAILED")).toBe(true);
    expect((caught as Error).message).toContain(`lxc-start -F -P ${bed.lxcPath} -n ${c.name}`);
    expect(await bed.driver.state(c.name)).toBe("STOPPED");
  });

  it("lists every container with state and init pid in one call", async () => {
    const list = await bed.driver.list();
    expect(list.length).toBeGreaterThanOrEqual(5);
    for (const s of list) {
      expect(["RUNNING", "STOPPED"]).toContain(s.state);
      expect(s.initPid === undefined).toBe(s.state === "STOPPED");
      if (s.initPid !== undefined) expect(s.initPid).toBe(await bed.driver.initPid(s.name));
    }
  });

  it("knows the init pid of a container it started from the monitor's pid file, and never trusts a stale one", async () => {
    const c = await bed.create();
    const fromLxc = Number((await execa("lxc-info", ["-P", bed.lxcPath, "-n", c.name, "-pH"])).stdout.trim());
    expect(fromLxc).toBeGreaterThan(1);
    const file = bed.driver.monitorPidFile(c.name);
    expect(existsSync(file)).toBe(true);
    expect(bed.driver.monitoredInit(c.name)).toBe(fromLxc);
    // A pid file naming some other process (a reused pid): not a monitor of this container, so lxc-info decides.
    writeFileSync(file, `${process.pid}\n`);
    expect(bed.driver.monitoredInit(c.name)).toBeUndefined();
    expect(await bed.driver.initPid(c.name)).toBe(fromLxc);
    rmSync(file);
    expect(await bed.driver.initPid(c.name)).toBe(fromLxc);
    // LXC removes the file when the container stops.
    await bed.driver.start(c.name);
    await bed.driver.stop(c.name, 10);
    await bed.driver.start(c.name);
    expect(bed.driver.monitoredInit(c.name)).toBe(await bed.driver.initPid(c.name));
    await bed.driver.stop(c.name, 10);
    expect(existsSync(file)).toBe(false);
    expect(await bed.driver.initPid(c.name)).toBeUndefined();
  });

  it("refuses names that are not container names, and unknown containers", async () => {
    await expect(bed.driver.state("../etc")).rejects.toMatchObject({ code: "CONTAINER_INVALID" });
    await expect(bed.driver.start("prt-driver-nosuch")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
