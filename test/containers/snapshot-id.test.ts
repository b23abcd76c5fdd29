import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assertSnapshotId, compactUtc, isSnapshotId, snapshotIdFor } from "../../src/containers/snapshot-id.js";
import { isPatchrollError } from "../../src/errors/patchroll-error.js";

describe("snapshot ids", () => {
  it("sort by time", () => {
    expect(snapshotIdFor("rollout-42", new Date("2026-11-23T06:15:00.999Z"))).toBe("20261123T061500Z-rollout-42");
    fc.assert(
      fc.property(fc.date({ min: new Date("2000-01-01"), max: new Date("2099-12-31"), noInvalidDate: true }), fc.date({ min: new Date("2000-01-01"), max: new Date("2099-12-31"), noInvalidDate: true }), (a, b) => {
        const [x, y] = [snapshotIdFor("r", a), snapshotIdFor("r", b)];
        if (Math.floor(a.getTime() / 1000) < Math.floor(b.getTime() / 1000)) expect(x < y).toBe(true);
      }),
    );
  });

  it("are always safe path components, whatever the label", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (label) => {
        const id = snapshotIdFor(label, new Date(0));
        expect(isSnapshotId(id)).toBe(true);
        expect(id).not.toMatch(/\/|\.\./);
        expect(id.startsWith(compactUtc(new Date(0)))).toBe(true);
      }),
    );
  });

  it.each(["", ".", "..", "../x", "a/b", ".tmp-x", "-x", "a..b", "x".repeat(129), "a b", "a\nb"])("rejects %j", (id) => {
    expect(isSnapshotId(id)).toBe(false);
    let err: unknown;
    try {
      assertSnapshotId(id);
    } catch (e) {
      err = e;
    }
    expect(isPatchrollError(err, "USAGE")).toBe(true);
  });
});
