import { describe, expect, it } from "vitest";
import { configValue, configValues, parseOverlayRootfs, renderLxcConfig } from "../../src/containers/lxc-config.js";
import { containerConfigEntries, type ContainerSpec } from "../../src/containers/provision.js";

const spec: ContainerSpec = {
  name: "web1",
  lxcPath: "/var/lib/lxc",
  hostRoot: "/var/lib/lxc/host/rootfs",
  service: ["/usr/bin/busybox", "httpd", "-f", "-p", "127.0.0.1:8080", "-h", "/srv/www"],
  env: { APP_MODE: "prod", GREETING: "hello" },
  mounts: [{ host: "/srv/data-does-not-exist", container: "/srv/data", readOnly: true }],
};

describe("containerConfigEntries", () => {
  it("builds the seed layout: overlay on the host root, host network, unconfined, SIGTERM halt, service under init.lxc", () => {
    const e = containerConfigEntries(spec);
    expect(parseOverlayRootfs(configValue(e, "lxc.rootfs.path") ?? "")).toEqual({ lowerDirs: ["/var/lib/lxc/host/rootfs"], upperDir: "/var/lib/lxc/web1/delta0" });
    expect(configValue(e, "lxc.net.0.type")).toBe("none");
    // common.conf is copied without its includes and hooks (lxcfs hooks cost 500 ms per stop): seccomp and cap drops stay.
    expect(configValue(e, "lxc.include")).toBeUndefined();
    expect(configValue(e, "lxc.seccomp.profile") ?? configValue(e, "lxc.mount.auto")).toMatch(/common\.seccomp$|^proc:mixed/);
    expect(e.some((x) => x.key.startsWith("lxc.hook."))).toBe(false);
    expect(configValue(e, "lxc.apparmor.profile")).toBe("unconfined");
    expect(configValue(e, "lxc.signal.halt")).toBe("SIGTERM");
    // The environment goes to the service alone (env(1)), not lxc.environment, which LXC also hands its host-side hooks.
    expect(configValue(e, "lxc.init.cmd")).toBe("/usr/sbin/init.lxc -n web1 -- /usr/bin/env APP_MODE=prod GREETING=hello /usr/bin/busybox httpd -f -p 127.0.0.1:8080 -h /srv/www");
    expect(configValues(e, "lxc.environment")).toEqual([]);
    expect(configValues(e, "lxc.mount.entry")).toEqual(["/srv/data-does-not-exist srv/data none bind,create=dir,ro 0 0"]);
    expect(() => renderLxcConfig(e)).not.toThrow();
  });

  it.each([
    [{ name: "../x" }, /container name/],
    [{ service: [] }, /argv is empty/],
    [{ service: ["/bin/sh", "-c", "echo hi"] }, /blank.*wrap the command in a script/],
    [{ env: { "A-B": "1" } }, /not a valid variable name/],
    [{ mounts: [{ host: "relative", container: "/x" }] }, /absolute path/],
    [{ mounts: [{ host: "/a b", container: "/x" }] }, /without blanks/],
    [{ hostRoot: "/x/../etc" }, /'\.\.'/],
    [{ hide: ["/usr/"] }, /cannot be hidden/],
    [{ hide: ["/"] }, /cannot be hidden/],
    [{ lxcPath: "/var" }, /cannot be hidden/],
  ])("refuses %j", (patch, message) => {
    expect(() => containerConfigEntries({ ...spec, ...patch } as ContainerSpec)).toThrow(message);
  });

  it("refuses an environment value that would add a config line or split the command", () => {
    expect(() => containerConfigEntries({ ...spec, env: { A: "1\nlxc.apparmor.profile=unconfined" } })).toThrow(/holds a blank/);
    expect(() => containerConfigEntries({ ...spec, env: { A: "two words" } })).toThrow(/holds a blank/);
  });
});
