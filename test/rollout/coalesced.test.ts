import { describe, expect, it } from "vitest";
import { coalesced } from "../../src/rollout/run-rollout.js";

describe("coalesced progress reports", () => {
  it("runs once for many calls within the interval, and settle runs what is pending at once", async () => {
    let runs = 0;
    const c = coalesced(async () => {
      runs++;
    }, 50);
    for (let i = 0; i < 100; i++) c.soon();
    expect(runs).toBe(0);
    await new Promise((r) => setTimeout(r, 120));
    expect(runs).toBe(1);
    c.soon();
    await c.settle();
    expect(runs).toBe(2);
    await c.settle();
    expect(runs).toBe(2);
  });

  it("never runs two reports at once, and hands a failure to the next settle", async () => {
    let active = 0;
    let most = 0;
    let fail = true;
    const c = coalesced(async () => {
      active++;
      most = Math.max(most, active);
      await new Promise((r) => setTimeout(r, 30));
      active--;
      if (fail) throw new Error("redis went away");
    }, 5);
    c.soon();
    await new Promise((r) => setTimeout(r, 10));
    c.soon();
    await expect(c.settle()).rejects.toThrow("redis went away");
    expect(most).toBe(1);
    fail = false;
    c.soon();
    await expect(c.settle()).resolves.toBeUndefined();
  });
});
