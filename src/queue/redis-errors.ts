/** Error codes of a connection that failed or went away (the socket's, not Redis' answer). */
const CONNECTION_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);

/** What ioredis and BullMQ say when a command could not be answered (not a bug of the caller's). */
const REDIS_MESSAGES = [
  /^Connection is closed/,
  /^Command timed out/,
  /^Stream isn't writeable/,
  /^Too many Cluster redirections/,
  /^Failed to refresh slots cache/,
  /^All sentinels are unreachable/,
  // BullMQ: the job's keys or lock are gone (a Redis that came back empty, a lock that expired meanwhile).
  /^Missing (key|lock) for job /,
];

/**
 * True when `err` comes from Redis or the way to it, not from patchroll's own code: an error reply (OOM,
 * READONLY after a failover, CLUSTERDOWN, MISCONF, NOPERM, LOADING, BUSY), a command that got no answer,
 * a connection that failed. Such an error says nothing about the rollout: it is held and tried again once
 * Redis answers, never failed for good.
 */
export function isRedisError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === "ReplyError" || err.name === "MaxRetriesPerRequestError" || err.name === "ClusterAllFailedError") return true;
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined && CONNECTION_CODES.has(code)) return true;
  return REDIS_MESSAGES.some((re) => re.test(err.message));
}
