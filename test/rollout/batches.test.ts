import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { cutBatches, resolveBatchSizes } from "../../src/rollout/batches.js";

describe("resolveBatchSizes (Ansible serial semantics)", () => {
  it("puts one canary first and the rest after", () => {
    expect(resolveBatchSizes([1, "100%"], 5)).toEqual([1, 4]);
  });
  it("takes percentages of the whole plan, rounded down, at least one", () => {
    expect(resolveBatchSizes([1, "10%", "50%", "100%"], 20)).toEqual([1, 2, 10, 7]);
    expect(resolveBatchSizes(["10%"], 5)).toEqual([1, 1, 1, 1, 1]);
  });
  it("repeats the last size until every container is placed", () => {
    expect(resolveBatchSizes([2], 5)).toEqual([2, 2, 1]);
  });
  it("places every container exactly once for any sizes and totals", () => {
    const size = fc.oneof(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 100 }).map((n) => `${n}%`));
    fc.assert(
      fc.property(fc.array(size, { minLength: 1, maxLength: 6 }), fc.integer({ min: 0, max: 300 }), (sizes, total) => {
        const items = Array.from({ length: total }, (_, i) => i);
        const batches = cutBatches(items, sizes);
        expect(batches.flat()).toEqual(items);
        expect(batches.every((b) => b.length > 0)).toBe(true);
      }),
    );
  });
});
