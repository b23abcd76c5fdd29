import { readFile } from "node:fs/promises";
import { connect } from "node:net";
import type { HealthCheck } from "../config/schema.js";
import type { ContainerDriver } from "../containers/driver.js";

/** One health check result with the evidence a reviewer needs. */
export interface HealthResult {
  ok: boolean;
  /** The check in words, e.g. `http://127.0.0.1:8080/health`. */
  target: string;
  at: string;
  latencyMs: number;
  status?: number;
  bodyExcerpt?: string;
  exitCode?: number;
  stderrExcerpt?: string;
  /** Why it failed, in plain words (`returned 503`, `connection refused`). */
  failure?: string;
}

const EXCERPT = 200;

/** Names a check the way messages and reports print it. */
export function describeCheck(check: HealthCheck): string {
  switch (check.type) {
    case "http":
      return check.url;
    case "tcp":
      return `tcp://${check.host}:${check.port}`;
    case "command":
      return `command ${check.argv.join(" ")}`;
    case "process":
      return `process ${check.comm}`;
  }
}

/** Runs one check once. Never throws: every outcome is a result. */
export async function runHealthCheck(check: HealthCheck, ctx: { container: string; driver: ContainerDriver }): Promise<HealthResult> {
  const started = performance.now();
  const base = { target: describeCheck(check), at: new Date().toISOString() };
  const done = (r: Omit<HealthResult, "target" | "at" | "latencyMs">): HealthResult => ({ ...base, latencyMs: Math.round((performance.now() - started) * 10) / 10, ...r });
  try {
    switch (check.type) {
      case "http": {
        const res = await fetch(check.url, { signal: AbortSignal.timeout(check.timeoutMs), redirect: "manual" });
        const body = (await res.text()).slice(0, EXCERPT);
        const statusOk = res.status === check.expectStatus;
        const bodyOk = check.bodyMatch === undefined || body.includes(check.bodyMatch);
        const failure = !statusOk ? `returned ${res.status}` : !bodyOk ? `body did not contain ${JSON.stringify(check.bodyMatch)}` : undefined;
        return done({ ok: statusOk && bodyOk, status: res.status, bodyExcerpt: body, ...(failure ? { failure } : {}) });
      }
      case "tcp":
        await tcpConnect(check.host, check.port, check.timeoutMs);
        return done({ ok: true });
      case "process": {
        const comms = await Promise.all((await ctx.driver.pids(ctx.container)).map((pid) => readFile(`/proc/${pid}/comm`, "utf8").then((t) => t.trim(), () => "")));
        const running = comms.includes(check.comm);
        return done({ ok: running, ...(running ? {} : { failure: `is not running (found: ${[...new Set(comms.filter(Boolean))].join(", ") || "no processes"})` }) });
      }
      case "command": {
        const r = await ctx.driver.attach(ctx.container, check.argv, check.timeoutMs);
        const failure = r.exitCode === 0 ? undefined : `exited with status ${r.exitCode}`;
        return done({ ok: r.exitCode === 0, exitCode: r.exitCode, stderrExcerpt: r.stderr.slice(0, EXCERPT), ...(failure ? { failure } : {}) });
      }
    }
  } catch (err) {
    return done({ ok: false, failure: plainFailure(err) });
  }
}

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.end();
      resolve();
    });
    socket.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** `ECONNREFUSED` -> "connection refused"; a timeout -> "no answer within N ms". */
function plainFailure(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string }; name?: string; message?: string };
  const code = e.code ?? e.cause?.code;
  if (code === "ECONNREFUSED") return "connection refused";
  if (code === "ECONNRESET") return "connection reset";
  if (e.name === "TimeoutError" || e.name === "AbortError") return "no answer in time";
  return e.message ?? String(err);
}
