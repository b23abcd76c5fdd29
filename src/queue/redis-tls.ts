import { readFileSync, statSync } from "node:fs";
import { isIP } from "node:net";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import type { Config } from "../config/schema.js";
import { PatchrollError } from "../errors/patchroll-error.js";

type TlsConfig = NonNullable<Config["redis"]["tls"]>;

/** Reads one PEM file of `redis.tls`, with an error that names the key and the file. */
function pem(key: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new PatchrollError("CONFIG_INVALID", `redis.tls.${key}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). Is the path right, and readable by the user patchroll runs as?`, { cause: err });
  }
}

/**
 * Node TLS options for `redis.tls` (files read now). The client key must not be readable by other users:
 * every container sees the host root, and a key that others can read is readable in them too.
 */
export function tlsOptions(tls: TlsConfig | undefined): ConnectionOptions {
  if (tls === undefined) return {};
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    throw new PatchrollError("CONFIG_INVALID", "redis.tls: certFile and keyFile go together (a client certificate and its key); set both or neither.");
  }
  if (tls.keyFile !== undefined) {
    const mode = statSync(tls.keyFile, { throwIfNoEntry: false })?.mode;
    if (mode !== undefined && (mode & 0o077) !== 0) {
      throw new PatchrollError("CONFIG_INVALID", `redis.tls.keyFile ${tls.keyFile} is readable by other users (mode ${(mode & 0o777).toString(8)}), and so from inside every container, which sees the host root: chmod 600 ${tls.keyFile}, and keep it under a directory containers hide (patchroll doctor checks).`);
    }
  }
  return {
    ...(tls.caFile !== undefined ? { ca: pem("caFile", tls.caFile) } : {}),
    ...(tls.certFile !== undefined ? { cert: pem("certFile", tls.certFile) } : {}),
    ...(tls.keyFile !== undefined ? { key: pem("keyFile", tls.keyFile) } : {}),
    ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
  };
}

/** OpenSSL and Node error codes of a certificate that could not be verified, in plain words. */
const CERT_WORDS: Record<string, (tls: TlsConfig | undefined) => string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: (t) => `the Redis server's certificate is not signed by the CA patchroll trusts (${caName(t)}): the CA file is not the one that signed it, or the server presents another certificate`,
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: (t) => `the Redis server's certificate is signed by a CA patchroll does not have (${caName(t)}): set redis.tls.caFile to the CA that signed it`,
  SELF_SIGNED_CERT_IN_CHAIN: (t) => `the Redis server's certificate is not signed by the CA patchroll trusts (${caName(t)}): its chain ends in another CA; set redis.tls.caFile to the CA that signed it`,
  DEPTH_ZERO_SELF_SIGNED_CERT: () => "the Redis server presents a self-signed certificate: give patchroll that certificate (or the CA that should sign it) as redis.tls.caFile",
  CERT_HAS_EXPIRED: () => "the Redis server's certificate has expired: renew it on the server (patchroll's clock is checked by patchroll doctor too)",
  CERT_NOT_YET_VALID: () => "the Redis server's certificate is not valid yet: its start date lies in the future (a clock is wrong here or on the server, or it was issued too early)",
  ERR_TLS_CERT_ALTNAME_INVALID: () => "the Redis server's certificate is for other names than the host patchroll connects to: connect by a name the certificate holds, or set redis.tls.servername to one",
  ERR_SSL_WRONG_VERSION_NUMBER: () => "the server does not speak TLS on this port: use redis:// for a plain port, or the server's tls-port",
  ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED: () => "the Redis server asks for a client certificate and patchroll has none: set redis.tls.certFile and redis.tls.keyFile",
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: () => "the Redis server refused patchroll's client certificate: it is not signed by a CA the server trusts (tls-ca-cert-file)",
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: () => "the Redis server does not know the CA of patchroll's client certificate: sign it with the CA in the server's tls-ca-cert-file",
};

const caName = (t: TlsConfig | undefined) => (t?.caFile !== undefined ? `redis.tls.caFile ${t.caFile}` : "the system's CAs; redis.tls.caFile is not set");

/**
 * What a failed connection means, in plain words, when it is about TLS (a certificate, a missing client
 * certificate, TLS spoken to a plain port); undefined otherwise. Looks through `cause` chains and, for a
 * cluster, the last node error ioredis keeps.
 */
export function explainTlsError(err: unknown, tls: TlsConfig | undefined): string | undefined {
  for (let e = err as (Error & { code?: string; cause?: unknown; lastNodeError?: unknown }) | undefined, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const words = e.code !== undefined ? CERT_WORDS[e.code] : undefined;
    if (words !== undefined) return words(tls);
    e = (e.cause ?? e.lastNodeError) as typeof e;
  }
  return undefined;
}

/**
 * A TLS handshake of its own with a Redis server, and one PING: the error that ends it (a certificate not
 * verified, a client certificate refused), or undefined when the server answers. ioredis often reports
 * only the connection reset that follows a refused handshake; this finds the reason.
 */
export function tlsHandshakeError(target: { host: string; port: number }, options: ConnectionOptions, timeoutMs = 2000): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ ...options, host: target.host, port: target.port, ...(options.servername === undefined && isIP(target.host) === 0 ? { servername: target.host } : {}) });
    const done = (err?: Error) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(err);
    };
    const timer = setTimeout(() => done(new Error(`no TLS answer within ${timeoutMs} ms`)), timeoutMs);
    socket.once("secureConnect", () => socket.write("PING\r\n"));
    // Any answer (PONG, or NOAUTH for a server with a password) means TLS itself is fine.
    socket.once("data", () => done());
    socket.once("error", done);
    socket.once("close", () => done(new Error("the server closed the connection")));
  });
}
