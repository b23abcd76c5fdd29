import type { ContainerScan } from "../detect/scan.js";

/** What the rollout records of a verification: the verdict in words and the scan's evidence. */
export interface Verification {
  ok: boolean;
  detail: string;
  evidence: Pick<ContainerScan, "verdict" | "stale" | "interpreted" | "shadowed">;
}

const list = (items: readonly string[], max = 3): string => `${items.slice(0, max).join("; ")}${items.length > max ? ` (+${items.length - max} more)` : ""}`;

/** The first shadowed file in words, with what would fix it (a restart cannot): for plans, verifications and reports. */
export function shadowInWords(scan: Pick<ContainerScan, "shadowed">): string | undefined {
  const s = scan.shadowed[0];
  if (s === undefined) return undefined;
  const more = scan.shadowed.length > 1 ? ` (+${scan.shadowed.length - 1} more file(s))` : "";
  const pkg = s.package !== undefined ? ` of ${s.package}${s.hostVersion !== undefined ? ` ${s.hostVersion}` : ""}` : "";
  return `${s.kind} ${s.path}${pkg}: the delta holds ${s.deltaHolds ?? "something else"}${more}; to fix: ${s.fix ?? "remove it from the delta, then restart the container"}`;
}

/**
 * Judges a container after its restart from the same scan `patchroll scan` makes (maps, open files,
 * interpreted code, shadow check), pure: patched only when nothing is stale and nothing is shadowed.
 */
export function judgeVerification(scan: ContainerScan): Verification {
  const evidence = { verdict: scan.verdict, stale: scan.stale, interpreted: scan.interpreted, shadowed: scan.shadowed };
  if (scan.verdict === "patched") return { ok: true, detail: "no process maps, holds open or loaded an outdated file of the changed packages, and its delta shadows none", evidence };
  const parts: string[] = [];
  if (scan.stale.length > 0) parts.push(`still runs outdated files: ${list(scan.stale.map((s) => `pid ${s.pid} (${s.comm}) ${s.via === "fd" ? `holds ${s.path} open on fd ${s.fd ?? "?"}` : `maps ${s.path}`}`))}`);
  if (scan.interpreted.length > 0) parts.push(`still runs outdated interpreted code: ${list(scan.interpreted.map((i) => i.evidence), 2)}`);
  const shadow = shadowInWords(scan);
  if (shadow !== undefined) parts.push(`shadowed, which a restart cannot fix: ${shadow}`);
  if (parts.length === 0) parts.push(`its verdict is ${scan.verdict}: ${scan.notes.join("; ")}`);
  return { ok: false, detail: parts.join("; "), evidence };
}
