import { escapeHtml } from "../report/html-escape.js";

/** Inline markdown: `code`, **bold**, [text](link) (relative .md links become runbook pages). */
function inline(text: string): string {
  const parts = text.split(/(`[^`]+`)/);
  return parts
    .map((p) => {
      if (p.startsWith("`") && p.endsWith("`") && p.length > 1) return `<code>${escapeHtml(p.slice(1, -1))}</code>`;
      return escapeHtml(p)
        .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
        .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_m, label: string, href: string) => {
          const local = /^(?:\.\/)?([a-z0-9-]+)\.md$/.exec(href);
          const target = local !== null ? `/runbooks/${local[1]}` : /^https?:\/\//.test(href) ? href : "#";
          return `<a href="${target}">${label}</a>`;
        });
    })
    .join("");
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to '-' (`## Own dpkg` -> `own-dpkg`). */
export function anchorOf(heading: string): string {
  return heading.toLowerCase().replace(/[^a-z0-9 _-]/g, "").trim().replace(/ /g, "-");
}

/**
 * The markdown subset the runbooks use, as HTML (pure): `#` headings, fenced code, `-` lists, paragraphs,
 * and inline code, bold and links. Everything else is shown as text, escaped.
 */
export function markdownToHtml(md: string): string {
  const out: string[] = [];
  const lines = md.split("\n");
  let para: string[] = [];
  let list: string[] = [];
  const flush = () => {
    if (para.length > 0) out.push(`<p>${inline(para.join(" "))}</p>`);
    if (list.length > 0) out.push(`<ul>${list.map((l) => `<li>${inline(l)}</li>`).join("")}</ul>`);
    para = [];
    list = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith("```")) {
      flush();
      const code: string[] = [];
      while (++i < lines.length && !lines[i]!.startsWith("```")) code.push(lines[i]!);
      out.push(`<pre><code>${escapeHtml(code.join("\n"))}</code></pre>`);
      continue;
    }
    const heading = /^(#{1,4}) (.*)$/.exec(line);
    if (heading !== null) {
      flush();
      const level = heading[1]!.length;
      out.push(`<h${level} id="${anchorOf(heading[2]!)}">${inline(heading[2]!)}</h${level}>`);
    } else if (/^\s*[-*] /.test(line)) {
      if (para.length > 0) flush();
      list.push(line.replace(/^\s*[-*] /, ""));
    } else if (line.trim() === "") {
      flush();
    } else if (list.length > 0 && /^\s+/.test(line)) {
      list[list.length - 1] += ` ${line.trim()}`;
    } else {
      if (list.length > 0) flush();
      para.push(line.trim());
    }
  }
  flush();
  return out.join("\n");
}
