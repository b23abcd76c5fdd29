import { randomBytes } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createContainer, DEFAULT_HIDDEN_DIRS, destroyContainer } from "../../src/containers/provision.js";
import { readOpaque } from "../../src/containers/overlay-markers.js";
import { lxcTestBed, type TestBed } from "../helpers/lxc.js";

let bed: TestBed;
let secrets: string;
const sshKey = `/etc/ssh/ssh_host_prt${randomBytes(3).toString("hex")}_key`;

beforeAll(async () => {
  bed = await lxcTestBed("provision");
  // Host content that must not reach containers: a private dir, a secret file, an SSH host key.
  secrets = mkdtempSync("/var/tmp/patchroll-test-secrets-");
  mkdirSync(join(secrets, "private"));
  writeFileSync(join(secrets, "private", "token"), "s3cret\n");
  writeFileSync(join(secrets, "secret.txt"), "s3cret\n");
  writeFileSync(join(secrets, "public.txt"), "hello\n");
  mkdirSync("/etc/ssh", { recursive: true });
  writeFileSync(sshKey, "-----BEGIN OPENSSH PRIVATE KEY-----\n", { mode: 0o600 });
});
afterAll(async () => {
  rmSync(sshKey, { force: true });
  rmSync(secrets, { recursive: true, force: true });
  await bed.cleanup();
});

async function sh(name: string, script: string): Promise<{ exitCode: number; stdout: string }> {
  return bed.driver.attach(name, ["/bin/sh", "-c", script], 10_000);
}

describe("createContainer", () => {
  it("hides host secrets from inside a running container: opaque dirs, whiteouts, the LXC path itself", async () => {
    const neighbour = await bed.create();
    const c = await bed.create({ hide: [join(secrets, "private"), join(secrets, "secret.txt")] });
    // The host really has content in these places...
    expect(existsSync(join(secrets, "secret.txt")) && existsSync(sshKey) && existsSync(join(neighbour.deltaDir, "srv/www/health"))).toBe(true);
    // ...which the container does not see.
    for (const dir of [...DEFAULT_HIDDEN_DIRS, bed.lxcPath, join(secrets, "private")]) {
      const r = await sh(c.name, `ls -A ${dir}`);
      expect({ dir, exitCode: r.exitCode, stdout: r.stdout }).toEqual({ dir, exitCode: 0, stdout: "" });
    }
    expect(existsSync("/etc/shadow")).toBe(true);
    for (const file of [join(secrets, "secret.txt"), sshKey, join(neighbour.deltaDir, "srv/www/health"), "/etc/shadow"]) {
      expect({ file, exitCode: (await sh(c.name, `cat ${file}`)).exitCode }).toEqual({ file, exitCode: 1 });
    }
    // What is not hidden is the host's: shared files, the neighbouring file, /tmp still usable.
    expect((await sh(c.name, `cat ${join(secrets, "public.txt")} /etc/os-release | head -1`)).stdout).toBe("hello");
    // A name of this test's own: a host /tmp that already holds some other "x" says nothing about a leak.
    const probe = `patchroll-probe-${randomBytes(4).toString("hex")}`;
    expect((await sh(c.name, `stat -c %a /tmp && touch /tmp/${probe} && echo wrote`)).stdout).toBe("1777\nwrote");
    expect(existsSync(join("/tmp", probe)) ? "leaked" : "kept in delta").toBe("kept in delta");
    expect(lstatSync(join(c.deltaDir, "tmp", probe)).isFile()).toBe(true);
  });

  it("writes markers the kernel honours: xattr on dirs, 0/0 char devices for files", async () => {
    const c = await bed.create({ start: false, hide: [join(secrets, "secret.txt")] });
    const opaque = await readOpaque(DEFAULT_HIDDEN_DIRS.map((d) => join(c.deltaDir, d)));
    expect(opaque.size).toBe(DEFAULT_HIDDEN_DIRS.length);
    const wo = lstatSync(join(c.deltaDir, secrets, "secret.txt"));
    expect(wo.isCharacterDevice() && wo.rdev === 0).toBe(true);
    expect(lstatSync(join(c.deltaDir, "root")).mode & 0o7777).toBe(lstatSync("/root").mode & 0o7777);
  });

  it("is idempotent: a second run keeps the delta and the config as they are", async () => {
    const c = await bed.create();
    const info = await c.info();
    const config = readFileSync(info.configPath, "utf8");
    writeFileSync(join(c.deltaDir, "srv/www/extra"), "mine\n");
    const again = await createContainer({
      name: c.name, lxcPath: bed.lxcPath, hostRoot: bed.hostRoot,
      service: ["/bin/busybox", "httpd", "-f", "-p", `127.0.0.1:${c.port}`, "-h", "/srv/www"],
      meta: { v: 1, health: [{ type: "http", url: c.healthUrl }] },
    }, bed.driver);
    expect(readFileSync(again.configPath, "utf8")).toBe(config);
    expect(readFileSync(join(c.deltaDir, "srv/www/extra"), "utf8")).toBe("mine\n");
    expect(again).toMatchObject({ managed: true, state: "RUNNING", meta: { group: "default", canary: false } });
    expect((await fetch(c.healthUrl.replace("health", "extra"))).status).toBe(200);
  });

  it("writes the sidecar metadata and bind-mounts host directories, read-only when asked", async () => {
    const c = await bed.create({ group: "api", canary: true });
    expect((await c.info()).meta).toEqual({ v: 1, group: "api", canary: true, health: [{ type: "http", url: c.healthUrl, expectStatus: 200, timeoutMs: 2000 }] });
    const name = `prt-provision-m${randomBytes(3).toString("hex")}`;
    await createContainer({
      name, lxcPath: bed.lxcPath, hostRoot: bed.hostRoot, service: ["/bin/busybox", "sleep", "600"],
      mounts: [{ host: secrets, container: "/srv/shared", readOnly: true }],
    }, bed.driver);
    await bed.driver.start(name);
    expect((await sh(name, "cat /srv/shared/public.txt")).stdout).toBe("hello");
    expect((await sh(name, "touch /srv/shared/nope")).exitCode).not.toBe(0);
  });
});

describe("destroyContainer", () => {
  it("stops a running container, removes its directory, and is a no-op the second time", async () => {
    const c = await bed.create();
    const pids = await bed.driver.pids(c.name);
    await destroyContainer(bed.lxcPath, c.name, { driver: bed.driver });
    expect(existsSync(join(bed.lxcPath, c.name))).toBe(false);
    for (const p of pids) expect(existsSync(`/proc/${p}`)).toBe(false);
    await destroyContainer(bed.lxcPath, c.name, { driver: bed.driver });
    expect(existsSync(bed.hostRoot + "/etc/os-release")).toBe(true);
  });
});
