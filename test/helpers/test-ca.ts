import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";

/** Files of a CA made for one test, and certificates it signed (PEM, keys mode 0600). */
export interface TestCa {
  dir: string;
  ca: string;
  /** Server certificate for 127.0.0.1 and localhost. */
  serverCert: string;
  serverKey: string;
  /** Server certificate for the name localhost only (no IP address): found only when connecting by name. */
  namedCert: string;
  namedKey: string;
  /** Client certificate (for `tls-auth-clients yes`). */
  clientCert: string;
  clientKey: string;
  /** Another CA, which signed none of the above. */
  otherCa: string;
  cleanup(): void;
}

const openssl = (args: string[], cwd: string) => execa("openssl", args, { cwd, timeout: 30_000 });

/** A CA of the test's own with `openssl`: a server certificate for loopback and a client certificate. */
export async function makeTestCa(): Promise<TestCa> {
  const dir = mkdtempSync(join(tmpdir(), "patchroll-test-ca-"));
  chmodSync(dir, 0o700);
  try {
    const selfSigned = (name: string, cn: string) => openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.crt`, "-days", "2", "-subj", `/CN=${cn}`], dir);
    await selfSigned("ca", "patchroll test CA");
    await selfSigned("other-ca", "some other CA");
    writeFileSync(join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    writeFileSync(join(dir, "named.ext"), "subjectAltName=DNS:localhost\n");
    writeFileSync(join(dir, "client.ext"), "extendedKeyUsage=clientAuth\n");
    for (const [name, cn] of [["server", "127.0.0.1"], ["named", "localhost"], ["client", "patchroll"]] as const) {
      await openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", `/CN=${cn}`], dir);
      await openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", `${name}.crt`, "-days", "2", "-extfile", `${name}.ext`], dir);
      chmodSync(join(dir, `${name}.key`), 0o600);
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const f = (name: string) => join(dir, name);
  return {
    dir,
    ca: f("ca.crt"),
    serverCert: f("server.crt"),
    serverKey: f("server.key"),
    namedCert: f("named.crt"),
    namedKey: f("named.key"),
    clientCert: f("client.crt"),
    clientKey: f("client.key"),
    otherCa: f("other-ca.crt"),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
