import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decideVerdict } from "../../src/detect/decide-verdict.js";
import { devString, isPseudoPath, parseMaps } from "../../src/detect/maps.js";

// From a container process on this machine after a host update: the old libcrypto, no "(deleted)" marker.
const MAPS = `55e6d256d000-55e6d2579000 r--p 00000000 00:28 2170941                    /usr/bin/busybox
55e6d2579000-55e6d2609000 r-xp 0000c000 00:28 2170941                    /usr/bin/busybox
55e6d3000000-55e6d3021000 rw-p 00000000 00:00 0                          [heap]
7f1c2a000000-7f1c2a100000 r--p 00000000 00:28 339406                     /usr/lib/x86_64-linux-gnu/libcrypto.so.3
7f1c2b000000-7f1c2b001000 rw-s 00000000 00:05 1234                       /SYSV00000000 (deleted)
7f1c2c000000-7f1c2c001000 r--p 00000000 00:28 777                        /opt/my app/lib x.so (deleted)
7f1c2d000000-7f1c2d001000 rw-s 00000000 00:01 55                         /memfd:pulse (deleted)
7ffd5a9f1000-7ffd5a9f3000 r-xp 00000000 00:00 0                          [vdso]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
`;

describe("parseMaps", () => {
  it("returns each file-backed mapping once, with dev, inode and the deleted marker; drops anonymous ones", () => {
    expect(parseMaps(MAPS)).toEqual([
      { path: "/usr/bin/busybox", inode: 2170941, dev: "00:28", deleted: false },
      { path: "/usr/lib/x86_64-linux-gnu/libcrypto.so.3", inode: 339406, dev: "00:28", deleted: false },
      { path: "/SYSV00000000", inode: 1234, dev: "00:05", deleted: true },
      { path: "/opt/my app/lib x.so", inode: 777, dev: "00:28", deleted: true },
      { path: "/memfd:pulse", inode: 55, dev: "00:01", deleted: true },
    ]);
  });

  it("never throws and only returns absolute paths with a non-zero inode", () => {
    fc.assert(fc.property(fc.string({ maxLength: 400 }), (text) => {
      for (const m of parseMaps(text)) {
        expect(m.path.startsWith("/")).toBe(true);
        expect(m.inode).toBeGreaterThan(0);
      }
    }));
  });

  it("marks pseudo files", () => {
    expect(["/memfd:x", "/SYSV0001", "/dev/zero", "/usr/lib/libc.so.6"].map(isPseudoPath)).toEqual([true, true, true, false]);
  });
});

describe("devString", () => {
  it("prints stat() device numbers as maps does", () => {
    expect(devString(40)).toBe("00:28");
    expect(devString(65024)).toBe("fe:00");
    expect(devString(2049)).toBe("08:01");
    expect(devString(0x10300)).toBe("103:00");
  });
});

describe("decideVerdict", () => {
  const none = { running: true, stale: 0, shadowed: 0, pinned: 0, ownDpkg: false };
  it("puts stale first, then shadowed, own-dpkg, pinned, stopped, patched", () => {
    expect(decideVerdict({ ...none, stale: 1, shadowed: 1, ownDpkg: true })).toBe("stale");
    expect(decideVerdict({ ...none, shadowed: 2, pinned: 1, ownDpkg: true })).toBe("shadowed");
    expect(decideVerdict({ ...none, ownDpkg: true, pinned: 1 })).toBe("own-dpkg");
    expect(decideVerdict({ ...none, pinned: 1, running: false })).toBe("pinned");
    expect(decideVerdict({ ...none, running: false })).toBe("stopped");
    expect(decideVerdict(none)).toBe("patched");
  });
});
