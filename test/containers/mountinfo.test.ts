import { describe, expect, it } from "vitest";
import { payloadCgroupDir } from "../../src/containers/cgroup-pids.js";
import { mountAt, mountsUnder, parseMountInfo, rootBindMounts } from "../../src/containers/mountinfo.js";

const TEXT = `22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 27 254:0 / /var/lib/lxc/host/rootfs rw,relatime - ext4 /dev/vda rw,discard
51 27 254:0 /srv /var/lib/lxc/web/srv rw,relatime shared:5 - ext4 /dev/vda rw
52 27 254:0 / /var/tmp/with\\040space/host/rootfs rw,relatime - ext4 /dev/vda rw
53 27 0:40 / /var/lib/lxc/host/rootfs rw,relatime - tmpfs tmpfs rw
54 27 0:41 / /var/tmp/bed/host/rootfs rw,relatime - ext4 /dev/vdb rw
garbage line
`;

describe("mountinfo", () => {
  const entries = parseMountInfo(TEXT);

  it("parses fields after the optional-field separator and decodes octal escapes", () => {
    expect(entries).toHaveLength(8);
    expect(entries[4]).toMatchObject({ root: "/srv", mountPoint: "/var/lib/lxc/web/srv", fsType: "ext4", source: "/dev/vda" });
    expect(entries[5]?.mountPoint).toBe("/var/tmp/with space/host/rootfs");
  });

  it("finds bind mounts of / (same device, root /), ignoring subdirectory binds, other filesystems and over-mounted ones", () => {
    expect([...rootBindMounts(entries)]).toEqual(["/var/tmp/with space/host/rootfs"]);
    expect(mountAt(entries, "/var/lib/lxc/host/rootfs")?.fsType).toBe("tmpfs");
  });

  it("lists mounts at or below a directory, not siblings sharing a prefix", () => {
    expect(mountsUnder(entries, "/var/tmp/bed").map((m) => m.mountPoint)).toEqual(["/var/tmp/bed/host/rootfs"]);
    expect(mountsUnder(entries, "/var/tmp/be")).toEqual([]);
  });
});

describe("payloadCgroupDir", () => {
  const mounts = { v1Pids: "/sys/fs/cgroup/pids", v2: "/sys/fs/cgroup/unified" };

  it("uses the v1 pids hierarchy when there is one", () => {
    expect(payloadCgroupDir("9:name=systemd:/lxc.payload.c1\n8:pids:/lxc.payload.c1\n0::/lxc.payload.c1\n", mounts)).toBe("/sys/fs/cgroup/pids/lxc.payload.c1");
  });

  it("uses the unified hierarchy otherwise, cut back to the payload cgroup", () => {
    expect(payloadCgroupDir("0::/lxc.payload.web-1/init.scope\n", { v1Pids: "/x", v2: "/sys/fs/cgroup" })).toBe("/sys/fs/cgroup/lxc.payload.web-1");
  });

  it("gives up when neither hierarchy is known", () => {
    expect(payloadCgroupDir("0::/lxc.payload.c1\n", { v1Pids: "/x", v2: null })).toBeUndefined();
  });
});
