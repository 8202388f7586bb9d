/**
 * Attack: the CA that users trust on every phone could sign a certificate for any domain — whoever
 * copies `ca.key` off the device could intercept all of that phone's HTTPS. Now the CA carries
 * nameConstraints (the device's names and addresses), pathLen 0 and serverAuth only; verification by
 * Node's TLS (OpenSSL) refuses anything else it signs.
 */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import forge from "node-forge";
import { describe, expect, it } from "vitest";
import { createCertificateAuthority, issueServerCertificate } from "../../src/pki/certificates.ts";
import { ensurePki, initPki, pkiPaths } from "../../src/pki/PkiStore.ts";
import { onCleanup } from "../helpers/cleanup.ts";

const NAMES = ["porch", "porch.local", "localhost", "127.0.0.1", "::1", "192.168.1.20"];

/** Serves `certificate` on a loopback port and connects as a client trusting only `ca`, for `servername`. */
async function verify(
  ca: string,
  leaf: { certificate: string; key: string },
  servername: string,
): Promise<string> {
  const server = createServer({ cert: leaf.certificate + ca, key: leaf.key }, (_request, response) =>
    response.end(),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as { port: number }).port;
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1", ca, servername });
    socket.once("secureConnect", () => {
      resolve(socket.authorized ? "trusted" : `untrusted: ${socket.authorizationError}`);
      socket.destroy();
    });
    socket.once("error", (error) =>
      resolve(`refused: ${(error as NodeJS.ErrnoException).code} ${error.message}`),
    );
  });
}

describe("the certificate authority cannot be used against other sites", () => {
  const ca = createCertificateAuthority("device-rtc test CA", NAMES);

  it("carries critical nameConstraints with the device's names and addresses, pathLen 0, serverAuth only", () => {
    const cert = forge.pki.certificateFromPem(ca.certificate);
    const constraints = cert.getExtension("nameConstraints") as {
      critical: boolean;
      permittedSubtrees: Array<{ type: number; value: string }>;
    };
    expect(constraints.critical).toBe(true);
    expect(constraints.permittedSubtrees.filter((t) => t.type === 2).map((t) => t.value)).toEqual([
      "porch",
      "porch.local",
      "localhost",
    ]);
    expect(constraints.permittedSubtrees.filter((t) => t.type === 7)).toHaveLength(3);
    const basic = cert.getExtension("basicConstraints") as { cA: boolean; pathLenConstraint: number };
    expect(basic).toMatchObject({ cA: true, pathLenConstraint: 0 });
    expect(cert.getExtension("extKeyUsage")).toMatchObject({ serverAuth: true });
  });

  it("a certificate it signs for the device's names is trusted", async () => {
    for (const name of ["porch.local", "localhost", "cam.porch.local"]) {
      expect(await verify(ca.certificate, issueServerCertificate(ca, [name]), name), name).toBe("trusted");
    }
  });

  it.each([
    ["example.com", ["example.com"]],
    ["a bank", ["www.bank.example"]],
    ["a look-alike suffix", ["evilporch.local"]],
    ["another LAN address", ["192.168.1.1"]],
    ["a public address", ["203.0.113.7"]],
    ["a name hidden among the device's", ["localhost", "example.com"]],
  ])("a certificate it signs for %s is refused by Node's TLS verification", async (_what, names) => {
    const leaf = issueServerCertificate(ca, names);
    const target = names.at(-1) as string;
    const result = await verify(ca.certificate, leaf, target);
    expect(result).not.toBe("trusted");
    expect(result).toMatch(/PERMITTED_VIOLATION|permitted subtree|subtree violation|not permitted/i);
  });
});

describe("files on disk", () => {
  it("keys are 0600 in a 0700 directory; the server certificate covers only names the CA permits", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "device-rtc-pki-")), "pki");
    const paths = initPki(dir, ["localhost", "127.0.0.1"]);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const key of [paths.caKey, paths.server.key, paths.server.pkcs12, paths.server.pkcs12Password]) {
      expect(statSync(key).mode & 0o777, key).toBe(0o600);
    }
    // A new address appears: the server certificate keeps to what the CA permits, and says why.
    const { warnings, reissued } = ensurePki(dir, ["localhost", "127.0.0.1", "10.9.8.7"]);
    expect(reissued).toBe(false);
    expect(warnings.join("\n")).toMatch(
      /10\.9\.8\.7 is not among the names the certificate authority may certify/,
    );
  });

  it("warns about a CA made before name constraints existed", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "device-rtc-pki-")), "pki");
    initPki(dir, ["localhost", "127.0.0.1"]);
    // An old CA: same layout, no nameConstraints.
    const keys = forge.pki.rsa.generateKeyPair(1024);
    const old = forge.pki.createCertificate();
    old.publicKey = keys.publicKey;
    old.serialNumber = "01";
    old.validity.notBefore = new Date(Date.now() - 1000);
    old.validity.notAfter = new Date(Date.now() + 86_400_000);
    old.setSubject([{ name: "commonName", value: "old" }]);
    old.setIssuer([{ name: "commonName", value: "old" }]);
    old.setExtensions([{ name: "basicConstraints", cA: true }]);
    old.sign(keys.privateKey, forge.md.sha256.create());
    writeFileSync(pkiPaths(dir).caCertificate, forge.pki.certificateToPem(old));
    writeFileSync(pkiPaths(dir).caKey, forge.pki.privateKeyToPem(keys.privateKey));
    const { warnings } = ensurePki(dir, ["localhost", "127.0.0.1"]);
    expect(warnings.join("\n")).toMatch(/without name constraints.*pki init --force/s);
    expect(readFileSync(pkiPaths(dir).caCertificate, "utf8")).toBe(forge.pki.certificateToPem(old));
  });
});
