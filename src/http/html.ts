import { escapeHtml } from "../report/html-escape.js";

/** HTML that is already safe (built by {@link html} or deliberately raw). */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}


/** Trusted markup (an SVG we built, a constant). Never pass user or job data here. */
export const raw = (text: string): Html => new Html(text);

function render(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join("");
  if (value === undefined || value === null || value === false) return "";
  return escapeHtml(String(value));
}

/**
 * A template tag that escapes every interpolated value unless it is {@link Html}; arrays are joined and
 * `undefined`, `null` and `false` render as nothing, so `${cond && html`...`}` works.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1]!;
  });
  return new Html(out);
}
