import { connectRedis, describeRedis } from "../queue/connection.js";
import { explainTlsError } from "../queue/redis-tls.js";
import { parseRedisInfo, redisHealth, redisHealthProblems } from "../queue/redis-health.js";
import type { DoctorCheck, Finding } from "./check.js";

/** Redis for durable queues: reachable, persistent (AOF), `noeviction`, memory not nearly full. */
export const redisCheck: DoctorCheck = {
  id: "redis",
  title: "Redis persistence on and noeviction",
  async run(ctx) {
    const where = describeRedis(ctx.config);
    let redis;
    try {
      redis = await connectRedis(ctx.config, "client");
    } catch (err) {
      const tls = explainTlsError((err as Error).cause ?? err, ctx.config.redis.tls);
      if (tls !== undefined) {
        return [{ severity: "error", problem: `Redis at ${where} refused the TLS connection: ${tls}`, fix: `look at what the server presents: openssl s_client -connect HOST:PORT${ctx.config.redis.tls?.caFile !== undefined ? ` -CAfile ${ctx.config.redis.tls.caFile}` : ""} -showcerts </dev/null; then fix redis.tls (caFile, certFile, keyFile, servername) or the server's certificate`, runbook: "redis-down" }];
      }
      return [{ severity: "error", problem: `Redis at ${where} is unreachable: ${(err as Error).message.split(". ")[0]}`, fix: "start the daemon (systemctl start patchroll), or fix redis.url", runbook: "redis-down" }];
    }
    try {
      const health = await redisHealth(redis);
      const findings: Finding[] = redisHealthProblems(health).map((problem) => ({
        severity: "error",
        problem: `${where}: ${problem}`,
        fix: health.persistence.aof
          ? "redis-cli CONFIG SET maxmemory-policy noeviction, and the same in redis.conf (CONFIG REWRITE)"
          : "redis-cli CONFIG SET appendonly yes; CONFIG SET appendfsync everysec; CONFIG SET maxmemory-policy noeviction; then CONFIG REWRITE so a restart keeps them (the embedded Redis has them already)",
        runbook: "redis-down",
      }));
      const maxMemory = Number(parseRedisInfo(await redis.info("memory"))["maxmemory"] ?? 0);
      if (maxMemory > 0 && health.usedMemory / maxMemory > 0.8) {
        findings.push({ severity: "warning", problem: `${where} uses ${Math.round((100 * health.usedMemory) / maxMemory)}% of maxmemory: when full, every write fails (noeviction)`, fix: "raise maxmemory (CONFIG SET maxmemory ...), or remove old jobs: patchroll jobs --state completed", runbook: "redis-down" });
      }
      return findings;
    } finally {
      redis.disconnect();
    }
  },
};
