import { SECRET_KEYS } from "./schema.js";

/** A copy of `value` with every secret replaced by "[redacted]", including passwords inside URLs. */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, SECRET_KEYS.has(k) && v !== undefined ? "[redacted]" : redact(v)]),
    );
  }
  if (typeof value === "string") return redactUrl(value);
  return value;
}

/** `redis://user:secret@host` -> `redis://user:[redacted]@host`. */
export function redactUrl(text: string): string {
  return text.replace(/^(rediss?:\/\/[^:/@]*:)[^@/]+@/, "$1[redacted]@");
}
