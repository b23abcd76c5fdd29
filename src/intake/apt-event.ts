import { z } from "zod";

export const EVENT_VERSION = 1;

/** What dpkg did to one package in an apt run. */
export const PackageChange = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9+.-]+$/),
  /** dpkg architecture (`amd64`, `all`, ...). */
  arch: z.string().min(1),
  /** Debian source package, when known (from dpkg's status). */
  sourcePackage: z.string().optional(),
  /** Installed version before the run; null for a fresh install. */
  from: z.string().nullable(),
  /** Version after the run; null for a removal. */
  to: z.string().nullable(),
  action: z.enum(["install", "upgrade", "downgrade", "reinstall", "remove", "configure"]),
});
export type PackageChange = z.infer<typeof PackageChange>;

export const EventSource = z.enum(["hook", "uu-log", "reconcile", "manual"]);
export type EventSource = z.infer<typeof EventSource>;

/** What unattended-upgrades' log says about the run, besides its verdict (`outcome`). */
export const UuDetails = z.strictObject({
  /** When unattended-upgrade started ("Starting unattended upgrades script"), ISO 8601. */
  startedAt: z.string(),
  /** Its last log line, ISO 8601. */
  endedAt: z.string().optional(),
  /** The origin patterns it was allowed to install from ("origin=Debian,codename=bookworm,label=Debian-Security"). */
  origins: z.array(z.string()),
  /** Packages it left alone: held, blacklisted, conffile prompt, could not be marked. */
  keptBack: z.array(z.string()),
  /** The run left /run/reboot-required behind, or said it needs a reboot. */
  rebootRequired: z.boolean(),
});
export type UuDetails = z.infer<typeof UuDetails>;

/** One apt run, however many sources reported it and however often. */
export const AptEvent = z.strictObject({
  v: z.literal(EVENT_VERSION),
  /** Stable id of the apt run; the same run always gets the same id. */
  id: z.string().regex(/^[A-Za-z0-9._-]+$/),
  host: z.string(),
  /** When the run started (first record), ISO 8601. */
  time: z.string(),
  /** When dpkg finished, if known. */
  endedAt: z.string().optional(),
  packages: z.array(PackageChange),
  origin: z.enum(["security", "other", "unknown"]).default("unknown"),
  sources: z.array(EventSource).min(1),
  /** The unattended-upgrades verdict on the run, when one was logged. */
  outcome: z.strictObject({ status: z.enum(["ok", "failed", "partial"]), reason: z.string().optional() }).optional(),
  /** True when unattended-upgrades ran it (the hook saw its process, or its log reported the run). */
  unattended: z.boolean().optional(),
  /** The apt command line, as the hook saw it. */
  commandLine: z.string().optional(),
  /** unattended-upgrades' account of the run, when its log reported it. */
  uu: UuDetails.optional(),
});
export type AptEvent = z.infer<typeof AptEvent>;
