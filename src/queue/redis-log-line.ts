/**
 * redis-server's log lines, `PID:ROLE DD Mon YYYY HH:MM:SS.mmm MARK message`, where MARK is its level:
 * `.` debug, `-` verbose, `*` notice, `#` warning (redis/src/server.c, serverLogRaw). Redis also logs its
 * routine start-up and shutdown lines at warning level so that they show at any verbosity; those are not
 * warnings for whoever reads patchroll's log.
 */
const LINE = /^\d+:\w \S+ \w+ \d+ [\d:.]+ ([.\-*#]) (.*)$/;

/** The start-up and shutdown lines Redis 6 and 7 mark `#` (server.c, main and prepareForShutdown). */
const ROUTINE = [
  /^oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo$/,
  /^Redis version=/,
  /^Configuration loaded$/,
  /^Server initialized$/,
  /^Received SIG(?:TERM|INT) scheduling shutdown/,
  /^User requested shutdown/,
  /^Redis is now ready to exit, bye bye/,
];

/** The level at which patchroll logs one line of redis-server's output: warnings stay warnings. */
export function redisLineLevel(line: string): "warn" | "info" {
  const m = LINE.exec(line);
  if (m === null || m[1] !== "#") return "info";
  return ROUTINE.some((r) => r.test(m[2]!)) ? "info" : "warn";
}
