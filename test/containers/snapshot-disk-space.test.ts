import { describe, expect, it } from "vitest";
import { formatBytes, spaceShortfall } from "../../src/containers/disk-space.js";

const MiB = 1024 * 1024;

describe("spaceShortfall", () => {
  it("accepts a copy that fits with the margin to spare", () => {
    expect(spaceShortfall({ bytes: 10 * MiB, files: 100 }, { availableBytes: 75 * MiB, availableInodes: 2000, totalBytes: 1e9 }, { bytes: 64 * MiB, inodes: 1024 })).toBeUndefined();
  });

  it("says how much is needed and how much is free", () => {
    const why = spaceShortfall({ bytes: 10 * MiB, files: 100 }, { availableBytes: 70 * MiB, availableInodes: 2000, totalBytes: 1e9 }, { bytes: 64 * MiB, inodes: 1024 });
    expect(why).toBe("needs 74.0 MiB (10.0 MiB of data + 64.0 MiB margin) but only 70.0 MiB is free");
  });

  it("counts inodes where the filesystem has a fixed number", () => {
    const free = { availableBytes: 1e12, availableInodes: 500, totalBytes: 1e12 };
    expect(spaceShortfall({ bytes: 0, files: 100 }, free, { bytes: 0, inodes: 401 })).toMatch(/needs 501 inodes .* only 500 are free/);
    expect(spaceShortfall({ bytes: 0, files: 100 }, { ...free, availableInodes: undefined }, { bytes: 0, inodes: 401 })).toBeUndefined();
  });

  it("formats sizes for people", () => {
    expect([formatBytes(0), formatBytes(1536), formatBytes(5 * MiB), formatBytes(3 * 1024 * MiB)]).toEqual(["0 B", "1.5 KiB", "5.0 MiB", "3.0 GiB"]);
  });
});
