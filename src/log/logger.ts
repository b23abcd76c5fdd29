import { pino, type Logger } from "pino";

export type { Logger };

/** JSON logs to stdout (journald keeps them); secrets are redacted wherever they appear. */
export function createLogger(level: string, destination: NodeJS.WritableStream | number = 1): Logger {
  const dest = typeof destination === "number" ? pino.destination({ fd: destination, sync: true }) : destination;
  return pino(
    {
      name: "patchroll",
      level,
      redact: { paths: ["password", "*.password", "*.*.password", "redis.url", "config.redis.url"], censor: "[redacted]" },
      base: { pid: process.pid },
    },
    dest,
  );
}

/** A logger that writes nothing, for library calls made from tests and the CLI's quiet paths. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
