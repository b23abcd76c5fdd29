import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isPatchrollError } from "../../src/errors/patchroll-error.js";
import { PackageChange } from "../../src/intake/apt-event.js";
import { decodeAptValue, parseActionLine } from "../../src/intake/hook-payload.js";

describe("parseActionLine (apt hook protocol v3)", () => {
  it("reads a fresh install, its configure line agreeing", () => {
    const unpack = parseActionLine("prdemo - - none < 1.0 amd64 none /var/cache/apt/archives/prdemo_1.0_amd64.deb");
    expect(unpack).toEqual({
      change: { name: "prdemo", arch: "amd64", from: null, to: "1.0", action: "install" },
      operation: "unpack",
      deb: "/var/cache/apt/archives/prdemo_1.0_amd64.deb",
    });
    expect(parseActionLine("prdemo - - none < 1.0 amd64 none **CONFIGURE**").change).toEqual(unpack.change);
  });

  it("tells upgrade, downgrade, reinstall, configure and remove apart by comparing the versions", () => {
    const action = (line: string): string => parseActionLine(line).change.action;
    expect(action("libssl3 3.0.17-1~deb12u2 amd64 same < 3.0.22-1~deb12u1 amd64 same /x/libssl3.deb")).toBe("upgrade");
    expect(action("libssl3 3.0.17-1~deb12u2 amd64 same < 3.0.22-1~deb12u1 amd64 same **CONFIGURE**")).toBe("upgrade");
    expect(action("prdemo 1.2 amd64 none > 1.0 amd64 none /x/prdemo_1.0_amd64.deb")).toBe("downgrade");
    expect(action("prdemo 1.0 amd64 none = 1.0 amd64 none /x/prdemo_1.0_amd64.deb")).toBe("reinstall");
    expect(action("prdemo 1.0 amd64 none = 1.0 amd64 none **CONFIGURE**")).toBe("configure");
  });

  it("reads a removal with the old architecture and no new version", () => {
    expect(parseActionLine("prdemo 1.0 all none > - - none **REMOVE**").change).toEqual({ name: "prdemo", arch: "all", from: "1.0", to: null, action: "remove" });
  });

  it("compares epochs and tildes as dpkg does", () => {
    expect(parseActionLine("p1 2.0 amd64 none < 1:1.0 amd64 none /x.deb").change.action).toBe("upgrade");
    expect(parseActionLine("p1 1.0 amd64 none > 1.0~rc1 amd64 none /x.deb").change.action).toBe("downgrade");
  });

  it.each([
    ["too few fields", "prdemo 1.0 amd64 none < 1.1 amd64 /x.deb", /9 space-separated fields/],
    ["bad name", "Pr_demo 1.0 amd64 none < 1.1 amd64 none /x.deb", /package name/],
    ["bad operator", "prdemo 1.0 amd64 none ? 1.1 amd64 none /x.deb", /comparison field/],
    ["bad version", "prdemo 1.0 amd64 none < v1.1 amd64 none /x.deb", /new version "v1.1"/],
    ["bad target", "prdemo 1.0 amd64 none < 1.1 amd64 none **ERROR**", /neither a .deb path/],
    ["unpack without version", "prdemo 1.0 amd64 none < - - none /x.deb", /needs a new version/],
    ["bad multi-arch", "prdemo 1.0 amd64 nope < 1.1 amd64 none /x.deb", /multi-arch/],
  ])("refuses a line with %s", (_what, line, reason) => {
    expect(() => parseActionLine(line)).toThrow(reason);
  });

  it("never crashes on garbage: a valid PackageChange or a SPOOL_RECORD_INVALID error", () => {
    const token = fc.oneof(fc.constantFrom("-", "<", "=", ">", "none", "same", "amd64", "1.0", "2:1.0-1", "**CONFIGURE**", "**REMOVE**", "/x.deb", "prdemo"), fc.string({ maxLength: 12 }));
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 400 }), fc.array(token, { maxLength: 12 }).map((t) => t.join(" "))), (line) => {
        try {
          expect(PackageChange.safeParse(parseActionLine(line).change).success).toBe(true);
        } catch (err) {
          expect(isPatchrollError(err, "SPOOL_RECORD_INVALID")).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("decodeAptValue", () => {
  it("decodes apt's %-encoding, multi-byte characters included, and keeps malformed escapes", () => {
    expect(decodeAptValue("apt-get%20install%20-y%20prdemo=1.0")).toBe("apt-get install -y prdemo=1.0");
    expect(decodeAptValue("caf%c3%a9%25%2")).toBe("café%%2");
  });

  it("undoes any %-encoding of any text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 60 }), (text) => {
        const encoded = [...Buffer.from(text, "utf8")].map((b) => (b === 0x25 || b <= 0x20 || b >= 0x7f ? `%${b.toString(16).padStart(2, "0")}` : String.fromCharCode(b))).join("");
        expect(decodeAptValue(encoded)).toBe(text);
      }),
    );
  });
});
