import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LineSplitter } from "../../../src/intake/tail/line-splitter.js";

describe("LineSplitter", () => {
  it("holds a partial line, counts lines and keeps the resume offset at the last newline", () => {
    const s = new LineSplitter({ startOffset: 100, linesBefore: 9 });
    expect(s.push(Buffer.from("ab\ncd"))).toEqual([{ text: "ab", endOffset: 103, lineNo: 10, droppedBytes: 0, partial: false }]);
    expect(s.committedOffset).toBe(103);
    expect(s.pendingBytes).toBe(2);
    expect(s.push(Buffer.from("e\n"))).toEqual([{ text: "cde", endOffset: 107, lineNo: 11, droppedBytes: 0, partial: false }]);
    expect(s.tail.toString()).toBe("ab\ncde\n");
    s.push(Buffer.from("tail"));
    expect(s.flush()).toMatchObject({ text: "tail", partial: true, endOffset: 111 });
  });

  it("line splitter: any byte stream cut anywhere gives the same lines as cutting it whole", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat({ max: 2000 }), { maxLength: 10 }), (bytes, cuts) => {
        const data = Buffer.from(bytes);
        const whole = new LineSplitter({ startOffset: 0, linesBefore: 0, maxLineBytes: 64 }).push(data);
        const s = new LineSplitter({ startOffset: 0, linesBefore: 0, maxLineBytes: 64 });
        const points = [...new Set(cuts.map((c) => Math.min(c, data.length)))].sort((a, b) => a - b);
        let at = 0;
        const pieces = [];
        for (const p of [...points, data.length]) {
          pieces.push(...s.push(data.subarray(at, p)));
          at = p;
        }
        expect(pieces).toEqual(whole);
        expect(s.committedOffset).toBe(data.lastIndexOf(0x0a) + 1);
        for (const l of whole) expect(Buffer.byteLength(l.text)).toBeLessThanOrEqual(64 * 3);
      }),
      { numRuns: 300 },
    );
  });
});
