/** A package version as the fleet knows it: `NAME=VERSION`, e.g. `libssl3=3.0.22-1~deb12u1`. */
export interface PackageVersion {
  pkg: string;
  version: string;
}

export const versionKey = (v: PackageVersion): string => `${v.pkg}=${v.version}`;

/** `NAME=VERSION` as typed by an operator, or an error message naming what is wrong with it. */
export function parseVersionKey(text: string): PackageVersion | string {
  const eq = text.indexOf("=");
  const pkg = text.slice(0, eq);
  const version = text.slice(eq + 1);
  if (eq <= 0 || version === "" || !/^[a-z0-9][a-z0-9+.-]+$/.test(pkg) || /\s/.test(version)) return `${JSON.stringify(text)} is not PACKAGE=VERSION (e.g. libssl3=3.0.22-1~deb12u1)`;
  return { pkg, version };
}

/** How one host's rollout of a version stands; `absent`: it will never have one (not installed there). */
export type HostVersionState = "waiting" | "running" | "passed" | "failed" | "inconclusive" | "absent";

export interface HostVersion {
  state: HostVersionState;
  rollout: string;
  /** When it got into this state, ms by the Redis server's clock. */
  at: number;
  /** passed: containers restarted (0: no container used the version, which proves nothing). */
  restarted?: number;
}

/** Why a version is held: a host's failed or undecided rollout, with its evidence. */
export interface Verdict {
  state: "failed" | "inconclusive";
  host: string;
  rollout: string;
  container?: string;
  reason: string;
  at: number;
}

/** An operator's hold or release: who, why, when (ms, Redis clock). */
export interface HumanMark {
  who: string;
  why: string;
  at: number;
}

/** The waves of a version, fixed when the first host reported it. */
export interface WavePlan {
  /** Host ids by wave, first wave first. */
  waves: string[][];
  at: number;
}

/** Everything the fleet knows of one version. */
export interface VersionView extends PackageVersion {
  plan: WavePlan | null;
  hosts: Record<string, HostVersion>;
  verdict: Verdict | null;
  hold: HumanMark | null;
  release: HumanMark | null;
}
