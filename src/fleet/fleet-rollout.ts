import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import type { Config } from "../config/schema.js";
import type { AptEvent } from "../intake/apt-event.js";
import type { RolloutJournal } from "../journal/journal.js";
import type { Logger } from "../log/logger.js";
import { type GateDecision, type RolloutGate, RolloutReleased, type Wait } from "../rollout/gates.js";
import { readControls } from "../rollout/controls.js";
import type { RolloutProgress } from "../rollout/run-rollout.js";
import { decideAll, type FleetDecision, decideVersion, judgeRollout } from "./decide.js";
import { FleetLease } from "./fleet-lease.js";
import { LeaseStore } from "./lease-store.js";
import { type Installed, installedHere } from "./absent-versions.js";
import { supersededBy } from "./superseded.js";
import { FleetRegistry, redisNowMs } from "./registry.js";
import { type PackageVersion, versionKey, type WavePlan } from "./version-state.js";
import { VersionStore } from "./version-store.js";
import { planWaves, waveOf } from "./waves.js";

/** The versions a rollout brings: each changed package at the version it went to, once. */
export function versionsOf(event: Pick<AptEvent, "packages">, changed: readonly string[]): PackageVersion[] {
  const out = new Map<string, PackageVersion>();
  for (const p of event.packages) if (p.to !== null && changed.includes(p.name)) out.set(versionKey({ pkg: p.name, version: p.to }), { pkg: p.name, version: p.to });
  return [...out.values()];
}

/** Fleet mode's part in the rollouts of this host (`WorkerContext.fleet`). */
export class FleetRollouts {
  constructor(
    private readonly redis: Redis,
    private readonly config: Config,
    private readonly logger: Logger,
    /** What this host has of a package (dpkg; tests pass their own). */
    private readonly installed: (pkg: string) => Promise<Installed> = installedHere,
  ) {}

  /** The fleet's part in one rollout of these versions. */
  rollout(rolloutId: string, versions: readonly PackageVersion[], journal: RolloutJournal): FleetRollout {
    return new FleetRollout(this.redis, this.config, this.logger.child({ fleet: true }), rolloutId, versions, journal, this.installed);
  }
}

/** How often, at most, a held rollout looks whether a later version superseded it (a dpkg-query each). */
const SUPERSEDED_CHECK_MS = 30_000;

/**
 * One rollout in a fleet. Before each batch it asks the fleet, and waits (saying why, in the journal and
 * the rollout's state) while a version it brings is held, failed or inconclusive somewhere, or its wave is
 * not open; a hold that comes while it runs stops it at the next batch boundary. It tells the fleet when
 * it starts restarting, when a container of it failed (at once, so others hold before it even halts), and
 * how it ended.
 */
export class FleetRollout {
  private readonly store: VersionStore;
  private readonly registry: FleetRegistry;
  private readonly lease: FleetLease;
  private joined = false;
  private running = false;
  private failedMarked = false;
  private readonly plans = new Map<string, WavePlan>();

  constructor(
    private readonly redis: Redis,
    private readonly config: Config,
    private readonly logger: Logger,
    readonly rolloutId: string,
    readonly versions: readonly PackageVersion[],
    private readonly journal: RolloutJournal,
    private readonly installed: (pkg: string) => Promise<Installed> = installedHere,
  ) {
    this.store = new VersionStore(redis, config);
    this.registry = new FleetRegistry(redis, config);
    this.lease = new FleetLease(new LeaseStore(redis, config), this.registry, config, rolloutId, journal, logger);
  }

  private get host(): string {
    return this.config.hostId;
  }

  private async join(): Promise<void> {
    if (this.joined) return;
    const waves = async () => {
      const up = (await this.registry.list(this.config.fleet.lostAfterMs)).filter((h) => h.status === "up").map((h) => h.host);
      return planWaves([...new Set([...up, this.host])], this.config.fleet.waves, this.config.fleet.canaryHosts);
    };
    for (const v of this.versions) await this.store.join(v, this.host, this.rolloutId, waves);
    this.joined = true;
    this.journal.append("fleet.joined", { versions: this.versions.map(versionKey) });
  }

  /**
   * The fleet's word on every version of this rollout, now. A version's waves never change once made, so
   * they are read once; each look then reads only the records of the hosts of earlier waves.
   */
  async decide(): Promise<FleetDecision> {
    await this.join();
    const earlier = (plan: WavePlan) => plan.waves.slice(0, waveOf(plan.waves, this.host) - 1).flat();
    const views = await Promise.all(this.versions.map(async (v) => {
      const key = versionKey(v);
      const plan = this.plans.get(key) ?? (await this.store.plan(v));
      if (plan === null) return this.store.read(v);
      this.plans.set(key, plan);
      return this.store.readFor(v, plan, earlier(plan));
    }));
    // Every host of an earlier wave, reported or not: one not heard from blocks no wave.
    const hosts = [...new Set(views.flatMap((v) => (v.plan === null ? [] : earlier(v.plan))))];
    const [alive, nowMs] = await Promise.all([this.registry.aliveAmong(hosts, this.config.fleet.lostAfterMs), redisNowMs(this.redis)]);
    return decideAll(views.map((view) => decideVersion({ view, host: this.host, nowMs, alive, bakeMs: this.config.fleet.bakeMs })));
  }

  /** Waits until the fleet lets this rollout restart containers; says why while it waits. */
  private async clearance(onWait: (w: Wait) => Promise<void>, signal?: AbortSignal): Promise<GateDecision> {
    let last: FleetDecision | undefined;
    /** When it was first held (a hold or a verdict, not a wave), by the Redis server's clock. */
    let heldSince: number | undefined;
    let supersededCheckedAt = 0;
    for (;;) {
      if (signal?.aborted === true) throw new RolloutReleased(`released: ${String(signal.reason ?? "the worker is stopping")}`);
      // An operator may end a rollout while the fleet holds it (e.g. once a fixed version is installed).
      if (last !== undefined) {
        const { aborted } = await readControls(this.redis, this.config, this.rolloutId).catch(() => ({ aborted: undefined }));
        if (aborted !== undefined) return { go: false, abort: aborted };
      }
      let d: FleetDecision;
      try {
        d = await this.decide();
      } catch (err) {
        // Without the fleet's word nothing restarts: ask again.
        d = { go: false, kind: "wave", reason: `waiting for the fleet: its Redis did not answer (${(err as Error).message})` };
      }
      if (d.go) {
        if (heldSince !== undefined) await this.journalReleases(heldSince);
        return { go: true };
      }
      if (d.kind !== "wave" && heldSince === undefined) heldSince = await redisNowMs(this.redis).catch(() => 0);
      // Held before it restarted anything, and a later version of every package it brings is installed
      // since: it ends, and the later version's rollout (queued behind it) takes over.
      if (d.kind !== "wave" && !this.running && Date.now() - supersededCheckedAt >= SUPERSEDED_CHECK_MS) {
        supersededCheckedAt = Date.now();
        const why = await supersededBy(this.versions, this.installed).catch(() => undefined);
        if (why !== undefined) return { go: false, abort: { who: "patchroll (fleet)", why, rollBackCompleted: false } };
      }
      // A rollout held between two batches gives its fleet slot back: it restarts nothing meanwhile.
      if (last === undefined) await this.lease.release().catch(() => undefined);
      if (last === undefined || last.go || d.reason !== last.reason) await onWait({ status: "waiting", reason: d.reason });
      last = d;
      await sleep(this.config.fleet.pollMs);
    }
  }

  /** A hold or a verdict this rollout waited on was released: who let it go, and why, in its journal. */
  private async journalReleases(since: number): Promise<void> {
    for (const v of this.versions) {
      const { release } = await this.store.read(v);
      if (release !== null && release.at >= since) this.journal.append("fleet.released", { version: versionKey(v), who: release.who, why: release.why, at: new Date(release.at).toISOString() });
    }
  }

  /**
   * `inner` (the operator's controls, approvals, windows) behind the fleet's word, at every batch boundary
   * (both in one pass), and a fleet slot held (its fencing token checked) before every batch and every
   * container, taken once both said go.
   */
  gate(inner: RolloutGate, signal?: AbortSignal): RolloutGate {
    return {
      beforeContainer: async (onWait) => {
        const d = await inner.beforeContainer(onWait);
        if (d.go) await this.lease.ensure(onWait, signal);
        return d;
      },
      // The restart's pre-copy can outlast the lease: the token is checked again right before the stop.
      beforeStop: (onWait) => this.lease.ensure(onWait, signal),
      // Taking containers back restarts them too: a slot first, even if given back at a hold.
      beforeRollback: (onWait) => this.lease.ensure(onWait, signal),
      beforeBatch: async (batch, onWait): Promise<GateDecision> => {
        // The fleet and the operator's gate both say go in one pass: after a wait on the operator (a window,
        // an approval: maybe hours) the fleet is asked again, so a hold or a verdict of meanwhile is seen.
        for (;;) {
          const cleared = await this.clearance(onWait, signal);
          if (!cleared.go) return cleared;
          let waited = false;
          const d = await inner.beforeBatch(batch, async (w) => {
            // Waiting for an operator restarts nothing: the fleet slot is given back meanwhile.
            if (!waited) await this.lease.release().catch(() => undefined);
            waited = true;
            await onWait(w);
          });
          if (!d.go) return d;
          if (!waited) break;
        }
        await this.lease.ensure(onWait, signal);
        if (!this.running) {
          this.running = true;
          await this.tell("running", () => Promise.all(this.versions.map((v) => this.store.setHost(v, this.host, { state: "running", rollout: this.rolloutId }))));
        }
        return { go: true };
      },
    };
  }

  /** A failed container holds its versions fleet-wide at once, before the rollout even halts. */
  async progress(p: Pick<RolloutProgress, "status" | "outcomes">): Promise<void> {
    if (this.failedMarked) return;
    const j = judgeRollout({ status: "running", outcomes: p.outcomes });
    if (j.state !== "failed") return;
    this.failedMarked = await this.tell("a failed container", () => this.mark(j));
  }

  /**
   * Tells the fleet something; a Redis error is logged, never thrown into the rollout (whose containers
   * must not be left half-done for a report). Returns whether the fleet heard it.
   */
  private async tell(what: string, fn: () => Promise<unknown>): Promise<boolean> {
    try {
      await fn();
      return true;
    } catch (err) {
      this.logger.error({ rolloutId: this.rolloutId, err: (err as Error).message }, `could not tell the fleet of ${what}`);
      return false;
    }
  }

  /** How the rollout ended, for each of its versions. */
  /** The rollout stops here for now (it ended, or went back to the queue): its fleet slot is given back. */
  async end(): Promise<void> {
    await this.tell("the end of its restarts", () => this.lease.release());
  }

  async finished(r: Pick<RolloutProgress, "status" | "outcomes" | "haltReason">): Promise<void> {
    await this.end();
    const j = judgeRollout(r);
    // Aborted before it restarted anything (e.g. a held rollout an operator ended for a fixed version's):
    // it proves nothing of the version, so it holds nothing fleet-wide.
    const triedNothing = r.status === "aborted" && r.outcomes.length === 0;
    const told = await this.tell(`how the rollout ended (${j.state})`, async () => {
      if (!this.joined) await this.join();
      for (const v of this.versions) await this.store.setHost(v, this.host, { state: j.state, rollout: this.rolloutId, restarted: j.restarted });
      if (j.state !== "passed" && !triedNothing && !(j.state === "failed" && this.failedMarked)) await this.mark(j);
    });
    if (told) this.logger.info({ rolloutId: this.rolloutId, versions: this.versions.map(versionKey), verdict: j.state }, "fleet told how the rollout ended");
  }

  private async mark(j: ReturnType<typeof judgeRollout>): Promise<void> {
    if (j.state === "passed") return;
    const evidence = { state: j.state, host: this.host, rollout: this.rolloutId, ...(j.container !== undefined ? { container: j.container } : {}), reason: j.reason };
    this.journal.append("fleet.verdict", { versions: this.versions.map(versionKey), ...evidence });
    for (const v of this.versions) await this.store.setVerdict(v, evidence);
  }
}
