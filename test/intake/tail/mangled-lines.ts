import fc from "fast-check";

export const FILE = "/var/log/some.log";

/** Lines for parser properties: real ones, then the same cut short, mangled, blown up, or replaced by noise. */
export const mangled = (real: string[]) =>
  fc.oneof(
    fc.constantFrom(...real),
    fc.tuple(fc.constantFrom(...real), fc.nat()).map(([l, n]) => l.slice(0, n % (l.length + 1))), // truncated
    fc.tuple(fc.constantFrom(...real), fc.string({ unit: "binary", maxLength: 40 })).map(([l, s]) => l + s), // trailing junk
    fc.tuple(fc.constantFrom(...real), fc.nat({ max: 200_000 })).map(([l, n]) => l + "x".repeat(n)), // huge
    fc.string({ unit: "binary", maxLength: 300 }), // any Unicode, incl. U+2028, \r, lone surrogates
    fc.string({ unit: "grapheme-ascii", maxLength: 80 }).map((s) => `2026-11-23 05:43:13 ${s}`),
    fc.string({ unit: "grapheme-ascii", maxLength: 80 }).map((s) => `2026-11-23 05:43:13,000 ${s}`),
  );

