import type { Config } from "../config/schema.js";

/** The dashboard's base URL for this configuration (a wildcard listen address is reached on loopback). */
export function dashboardUrl(http: Config["http"]): string {
  const host = http.listen === "0.0.0.0" || http.listen === "::" ? "127.0.0.1" : http.listen;
  return `http://${host.includes(":") ? `[${host}]` : host}:${http.port}`;
}

/**
 * Asks the daemon's dashboard whether it runs for this host (`GET /healthz`). False on any failure,
 * including a daemon of another host id answering on that port.
 */
export async function probeDaemon(config: Pick<Config, "http" | "hostId">, timeoutMs = 1000): Promise<boolean> {
  try {
    const res = await fetch(`${dashboardUrl(config.http)}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return false;
    const body = (await res.json()) as { host?: unknown };
    return body.host === config.hostId;
  } catch {
    return false;
  }
}
