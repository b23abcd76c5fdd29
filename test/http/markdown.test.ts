import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { html, raw } from "../../src/http/html.js";
import { anchorOf, markdownToHtml } from "../../src/http/markdown.js";

describe("markdownToHtml", () => {
  it("renders the runbooks' subset: headings with GitHub anchors, code, lists, bold, links to other runbooks", () => {
    const out = markdownToHtml("## Own dpkg\n**What.** text with `a <b>`\n\n- one\n  more\n- two [x](queue-stuck.md)\n\n```sh\npatchroll status   # <x>\n```\n");
    expect(out).toContain('<h2 id="own-dpkg">Own dpkg</h2>');
    expect(out).toContain("<p><strong>What.</strong> text with <code>a &lt;b&gt;</code></p>");
    expect(out).toContain('<ul><li>one more</li><li>two <a href="/runbooks/queue-stuck">x</a></li></ul>');
    expect(out).toContain("<pre><code>patchroll status   # &lt;x&gt;</code></pre>");
    expect(anchorOf("How to read: a report!")).toBe("how-to-read-a-report");
  });

  it("never lets markup through: any text comes out without a raw tag or a javascript: link", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("<", ">", "a", "s", "c", "r", "i", "p", "t", " ", "\n", "`", "*", "[", "]", "(", ")", "#", "-", ":", "j", "v", "\"", "'") }), (text) => {
        const out = markdownToHtml(text);
        const tags = [...out.matchAll(/<\/?([a-z0-9]+)/g)].map((m) => m[1]);
        for (const t of tags) expect(["p", "h1", "h2", "h3", "h4", "ul", "li", "pre", "code", "strong", "a"]).toContain(t);
        expect(out).not.toMatch(/href="javascript/i);
      }),
    );
  });
});

describe("html template tag", () => {
  it("escapes values, keeps Html, joins arrays and drops false, null and undefined", () => {
    const name = `<img src=x onerror="alert(1)">`;
    const out = html`<p title="${name}">${name}${[html`<b>${"&"}</b>`, "<i>"]}${false}${null}${undefined}${raw("<hr>")}</p>`.text;
    expect(out).toBe(`<p title="&lt;img src=x onerror=&quot;alert(1)&quot;&gt;">&lt;img src=x onerror=&quot;alert(1)&quot;&gt;<b>&amp;</b>&lt;i&gt;<hr></p>`);
  });
});
