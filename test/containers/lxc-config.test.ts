import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { configValue, configValues, parseLxcConfig, parseOverlayRootfs, renderLxcConfig, renderOverlayRootfs, rootfsValue } from "../../src/containers/lxc-config.js";
import { isPatchrollError } from "../../src/errors/patchroll-error.js";

const SEED = `# For additional config options, please look at lxc.container.conf(5)
lxc.include = /usr/share/lxc/config/ubuntu.common.conf
lxc.arch = amd64
lxc.mount.auto = proc sys cgroup

lxc.rootfs = overlayfs:/var/lib/lxc/host/rootfs:/var/lib/lxc/mytestcontainer/delta0
lxc.utsname = mytestcontainer
   lxc.environment=A=1
lxc.environment = B = two words
not a config line
`;

describe("parseLxcConfig", () => {
  it("reads the seed text's config: comments, blanks, legacy rootfs key, repeated keys", () => {
    const e = parseLxcConfig(SEED);
    expect(configValue(e, "lxc.arch")).toBe("amd64");
    expect(rootfsValue(e)).toBe("overlayfs:/var/lib/lxc/host/rootfs:/var/lib/lxc/mytestcontainer/delta0");
    expect(configValues(e, "lxc.environment")).toEqual(["A=1", "B = two words"]);
    expect(e.some((x) => x.key.startsWith("not"))).toBe(false);
  });

  it("lets the last occurrence win, and prefers lxc.rootfs.path over lxc.rootfs", () => {
    const e = parseLxcConfig("lxc.rootfs = dir:/a\nlxc.rootfs.path = dir:/b\nlxc.rootfs.path = dir:/c\n");
    expect(rootfsValue(e)).toBe("dir:/c");
  });
});

describe("parseOverlayRootfs", () => {
  it("reads overlayfs: and overlay: forms with one or more lower dirs, top first", () => {
    expect(parseOverlayRootfs("overlayfs:/var/lib/lxc/host/rootfs:/var/lib/lxc/c/delta0")).toEqual({ lowerDirs: ["/var/lib/lxc/host/rootfs"], upperDir: "/var/lib/lxc/c/delta0" });
    expect(parseOverlayRootfs("overlay:/mnt/pin:/h/rootfs:/l/c/delta0")).toEqual({ lowerDirs: ["/mnt/pin", "/h/rootfs"], upperDir: "/l/c/delta0" });
  });

  it("refuses other backends and relative or missing parts", () => {
    for (const v of ["dir:/var/lib/lxc/c/rootfs", "/var/lib/lxc/c/rootfs", "overlayfs:/only-one", "overlayfs:rel:/up", "btrfs:/x:/y", "overlayfs:/a::/b"]) expect(parseOverlayRootfs(v)).toBeUndefined();
  });

  it("round-trips through renderOverlayRootfs", () => {
    const seg = fc.stringMatching(/^\/[a-z0-9._-]{1,12}(\/[a-z0-9._-]{1,12}){0,3}$/);
    fc.assert(fc.property(fc.array(seg, { minLength: 1, maxLength: 4 }), seg, (lowerDirs, upperDir) => {
      expect(parseOverlayRootfs(renderOverlayRootfs({ lowerDirs, upperDir }))).toEqual({ lowerDirs, upperDir });
    }));
  });
});

describe("renderLxcConfig", () => {
  it("round-trips through parseLxcConfig", () => {
    const key = fc.stringMatching(/^lxc\.[a-z][a-z0-9_.]{0,20}$/);
    const value = fc.string({ maxLength: 40 }).filter((v) => !/[\r\n\0]/.test(v) && v === v.trim());
    fc.assert(fc.property(fc.array(fc.record({ key, value }), { maxLength: 10 }), (entries) => {
      expect(parseLxcConfig(renderLxcConfig(entries, "header\nline two"))).toEqual(entries);
    }));
  });

  it("refuses a value that would smuggle in another config line", () => {
    let caught: unknown;
    try {
      renderLxcConfig([{ key: "lxc.environment", value: "A=1\nlxc.apparmor.profile = unconfined" }]);
    } catch (err) {
      caught = err;
    }
    expect(isPatchrollError(caught, "CONTAINER_INVALID")).toBe(true);
    expect(() => renderLxcConfig([{ key: "lxc.x = y\nz", value: "1" }])).toThrow(/not a valid key/);
  });
});
