import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assertContainerName, isContainerName } from "../../src/containers/name.js";
import { isPatchrollError } from "../../src/errors/patchroll-error.js";

describe("assertContainerName", () => {
  it("accepts ordinary names up to 64 characters", () => {
    for (const n of ["web1", "a", "api-2.prod_x", "9lives", "x".repeat(64)]) expect(assertContainerName(n)).toBe(n);
  });

  it.each(["", "..", "a..b", "../etc", "a/b", "a b", "-lead", ".hidden", "_x", "x".repeat(65), "a;rm", "a$(id)", "a`id`", "a|b", "a&b", "a\nb", "a*", "ä"])(
    "rejects %j with CONTAINER_INVALID naming the input and the rule",
    (bad) => {
      let caught: unknown;
      try {
        assertContainerName(bad);
      } catch (err) {
        caught = err;
      }
      expect(isPatchrollError(caught, "CONTAINER_INVALID")).toBe(true);
      expect((caught as Error).message).toContain(JSON.stringify(bad));
      expect((caught as Error).message).toContain("letters, digits");
    },
  );

  it("never lets a path separator, blank or shell metacharacter through", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        if (isContainerName(s)) {
          expect(s).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/);
          expect(s.includes("..")).toBe(false);
          expect(s.length).toBeLessThanOrEqual(64);
        }
      }),
    );
  });
});
