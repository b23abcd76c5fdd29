import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isHostRootMounted } from "../../src/containers/host-root.js";
import { lxcTestBed, type TestBed } from "../helpers/lxc.js";
import { freePort } from "../helpers/redis-server.js";
import { recap, runRole } from "./ansible-run.js";
import { frozenCheckout } from "./frozen-checkout.js";

const run = (file: string, args: string[], env: Record<string, string>) =>
  execa(file, args, { reject: false, all: true, timeout: 600_000, forceKillAfterDelay: 5_000, env, extendEnv: false });

interface Listed {
  name: string;
  state: string;
  managed: boolean;
  meta: { group: string; canary: boolean; health: { type: string; url: string }[] };
}

/**
 * deploy/ansible/roles/patchroll for real: ansible-playbook with connection local against this machine, in
 * check mode (nothing changes) and in real mode (patchroll installed from this checkout into a staging
 * root, the host root bind-mounted and written to a private fstab, two overlay containers provisioned with
 * hidden paths and health checks, all in a private LXC path), then again to show it is idempotent.
 */
describe("the patchroll Ansible role", () => {
  const tag = randomBytes(3).toString("hex");
  const names = [`pra-${tag}-a`, `pra-${tag}-b`];
  let bed: TestBed;
  let work: string;
  let destdir: string;
  let checkout: string;
  let fstab: string;
  let ports: number[];

  const vars = (containers: Record<string, unknown>[]) => ({
    patchroll_install_method: "source",
    patchroll_source_dir: checkout,
    patchroll_install_args: ["--destdir", destdir],
    patchroll_bin: join(destdir, "usr/bin/patchroll"),
    patchroll_config_file: join(destdir, "etc/patchroll/config.yaml"),
    patchroll_config: {
      stateDir: join(destdir, "var/lib/patchroll"),
      spoolDir: join(destdir, "var/spool/patchroll"),
      journalDir: join(destdir, "var/log/patchroll"),
      rollout: { batches: [1, "100%"], bakeMs: 500 },
    },
    patchroll_manage_service: false,
    patchroll_lxc_path: bed.lxcPath,
    patchroll_host_root: bed.hostRoot,
    patchroll_fstab: fstab,
    patchroll_health_delay: 0.2,
    patchroll_containers: containers,
  });
  const container = (i: number, extra: Record<string, unknown> = {}) => ({
    name: names[i],
    // busybox serves a directory every host root has; the health URL is one of its files.
    service: `/bin/busybox httpd -f -p 127.0.0.1:${ports[i]} -h /usr/share/common-licenses`,
    health: [`http://127.0.0.1:${ports[i]}/GPL-3`],
    group: "web",
    canary: i === 0,
    hide: ["/srv", "/etc/ansible"],
    ...extra,
  });
  const ansible = (v: Record<string, unknown>, ...args: string[]) => runRole(join(work, "ansible"), v, ...args);
  const list = async (): Promise<Listed[]> => {
    const r = await run(join(destdir, "usr/bin/patchroll"), ["--config", join(destdir, "etc/patchroll/config.yaml"), "--lxc-path", bed.lxcPath, "--set", `lxc.hostRoot=${bed.hostRoot}`, "--json", "containers", "list"], { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" });
    expect(r.exitCode, r.all).toBe(0);
    return (JSON.parse(r.stdout) as { containers: Listed[] }).containers;
  };

  beforeAll(async () => {
    bed = await lxcTestBed("ansible");
    work = mkdtempSync("/var/tmp/patchroll-test-ansible-work-");
    destdir = join(work, "root");
    checkout = frozenCheckout(work);
    fstab = join(work, "fstab");
    writeFileSync(fstab, "# test fstab\n");
    ports = [await freePort(), await freePort()];
  });

  afterAll(async () => {
    await bed?.cleanup();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it("in check mode reports what it would do and changes nothing", async () => {
    const r = await ansible(vars([container(0), container(1)]), "--check");
    expect(r.exitCode, r.all).toBe(0);
    expect(recap(r.all).changed).toBeGreaterThan(0);
    expect(r.all).toContain("is not installed yet: would provision");
    expect(existsSync(join(destdir, "usr/lib/patchroll"))).toBe(false);
    expect(readdirSync(bed.lxcPath).filter((e) => names.includes(e))).toEqual([]);
    expect(isHostRootMounted(bed.hostRoot)).toBe(false);
    expect(readFileSync(fstab, "utf8")).toBe("# test fstab\n");
  });

  it("installs patchroll, mounts the host root for good and provisions healthy overlay containers with hidden paths", async () => {
    const r = await ansible(vars([container(0), container(1)]));
    expect(r.exitCode, r.all).toBe(0);
    expect(recap(r.all)).toMatchObject({ failed: 0, unreachable: 0 });
    expect(existsSync(join(destdir, "usr/lib/patchroll/bin/patchroll"))).toBe(true);
    expect(readFileSync(join(destdir, "etc/patchroll/config.yaml"), "utf8")).toContain("bakeMs: 500");
    expect(readFileSync(fstab, "utf8")).toContain(`/ ${bed.hostRoot} none bind,private 0 0`);
    expect(isHostRootMounted(bed.hostRoot)).toBe(true);

    const listed = (await list()).filter((c) => names.includes(c.name)).sort((a, b) => a.name.localeCompare(b.name));
    expect(listed.map((c) => [c.name, c.state, c.managed, c.meta.group, c.meta.canary])).toEqual([
      [names[0], "RUNNING", true, "web", true],
      [names[1], "RUNNING", true, "web", false],
    ]);
    expect(listed[0]!.meta.health).toEqual([expect.objectContaining({ type: "http", url: `http://127.0.0.1:${ports[0]}/GPL-3` })]);
    for (const port of ports) expect((await fetch(`http://127.0.0.1:${port}/GPL-3`)).status).toBe(200);
    // Hidden inside: the seed's opaque dirs (/root, /home, /tmp) and the role's extra ones.
    for (const dir of ["root", "home", "tmp", "srv", "etc/ansible"]) {
      const attr = await run("getfattr", ["--only-values", "-n", "trusted.overlay.opaque", join(bed.lxcPath, names[0]!, "delta0", dir)], { PATH: "/usr/bin:/bin" });
      expect(attr.stdout, `${dir}: ${attr.all}`).toBe("y");
    }
  });

  it("is idempotent: a second run changes nothing, and check mode agrees", async () => {
    const file = vars([container(0), container(1)]);
    const again = await ansible(file);
    expect(again.exitCode, again.all).toBe(0);
    expect(recap(again.all)).toMatchObject({ changed: 0, failed: 0 });
    const check = await ansible(file, "--check");
    expect(check.exitCode, check.all).toBe(0);
    expect(recap(check.all)).toMatchObject({ changed: 0, failed: 0 });
  });

  it("stops, starts and removes containers as declared", async () => {
    const stop = await ansible(vars([container(0), container(1, { state: "stopped" })]));
    expect(stop.exitCode, stop.all).toBe(0);
    expect((await list()).find((c) => c.name === names[1])?.state).toBe("STOPPED");
    const start = await ansible(vars([container(0), container(1)]));
    expect(start.exitCode, start.all).toBe(0);
    expect((await list()).find((c) => c.name === names[1])?.state).toBe("RUNNING");
    expect((await fetch(`http://127.0.0.1:${ports[1]}/GPL-3`)).status).toBe(200);
    const absent = await ansible(vars([container(0), container(1, { state: "absent" })]));
    expect(absent.exitCode, absent.all).toBe(0);
    expect(existsSync(join(bed.lxcPath, names[1]!))).toBe(false);
    expect((await list()).find((c) => c.name === names[0])?.state).toBe("RUNNING");
  });

  it("uninstalling patchroll leaves the containers running", async () => {
    const r = await run(join(destdir, "usr/lib/patchroll/deploy/uninstall.sh"), ["--destdir", destdir, "--purge"], { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" });
    expect(r.exitCode, r.all).toBe(0);
    expect(existsSync(join(destdir, "usr/lib/patchroll"))).toBe(false);
    expect((await bed.driver.state(names[0]!))).toBe("RUNNING");
    expect((await fetch(`http://127.0.0.1:${ports[0]}/GPL-3`)).status).toBe(200);
    expect(isHostRootMounted(bed.hostRoot)).toBe(true);
  });
});
