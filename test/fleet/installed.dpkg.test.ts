import { describe, expect, it } from "vitest";
import { installedHere } from "../../src/fleet/absent-versions.js";

/** dpkg-query on this machine's real package database. */
describe("what this host has of a package (real dpkg)", () => {
  it("an installed package with its version; a missing one as not installed", async () => {
    expect(await installedHere("dpkg")).toEqual({ installed: true, version: expect.stringMatching(/^\d/) });
    expect(await installedHere("prf-no-such-package")).toEqual({ installed: false });
  });
});
