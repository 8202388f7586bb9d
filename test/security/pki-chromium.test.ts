/**
 * The CA's name constraints as Chromium applies them: a fresh NSS database (the Linux trust store
 * Chromium reads) trusting the CA, host names mapped to loopback. A certificate the CA signs for the
 * device loads; one it signs for example.com does not. The control: an unconstrained CA trusted the same
 * way makes example.com load, so the refusal comes from the constraints, not from missing trust.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import forge from "node-forge";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import {
  createCertificateAuthority,
  issueServerCertificate,
  type KeyAndCertificate,
} from "../../src/pki/certificates.ts";
import { CHROMIUM_PATH } from "../helpers/browser.ts";
import { onCleanup } from "../helpers/cleanup.ts";

/** Serves one page with `leaf` on a loopback port. */
async function site(ca: KeyAndCertificate, leaf: KeyAndCertificate): Promise<number> {
  const server = createServer(
    { cert: leaf.certificate + ca.certificate, key: leaf.key },
    (_request, response) =>
      response.writeHead(200, { "content-type": "text/html" }).end("<title>reached</title>"),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as { port: number }).port;
}

/** Opens `url` in Chromium whose only added root is `ca`; "reached" or the network error. */
async function open(ca: string, url: string): Promise<string> {
  const home = mkdtempSync(join(tmpdir(), "device-rtc-nss-"));
  onCleanup(() => rmSync(home, { recursive: true, force: true }));
  const db = join(home, ".pki", "nssdb");
  mkdirSync(db, { recursive: true });
  execFileSync("certutil", ["-N", "-d", `sql:${db}`, "--empty-password"]);
  writeFileSync(join(home, "ca.crt"), ca);
  execFileSync("certutil", [
    "-A",
    "-d",
    `sql:${db}`,
    "-n",
    "device-rtc",
    "-t",
    "C,,",
    "-i",
    join(home, "ca.crt"),
  ]);
  const browser = await chromium.launchPersistentContext(join(home, "profile"), {
    executablePath: CHROMIUM_PATH,
    headless: true,
    env: { ...process.env, HOME: home },
    args: ["--host-resolver-rules=MAP example.com 127.0.0.1, MAP porch.local 127.0.0.1"],
  });
  onCleanup(() => browser.close().catch(() => {}));
  const page = await browser.newPage();
  try {
    await page.goto(url, { timeout: 15_000 });
    return await page.title();
  } catch (error) {
    return (error as Error).message.match(/net::ERR_[A-Z_]+/)?.[0] ?? (error as Error).message;
  }
}

function unconstrainedCa(): KeyAndCertificate {
  const keys = forge.pki.rsa.generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = "01";
  cert.validity.notBefore = new Date(Date.now() - 3_600_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ name: "commonName", value: "old device-rtc CA" }]);
  cert.setIssuer([{ name: "commonName", value: "old device-rtc CA" }]);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, pathLenConstraint: 0, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certificate: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(keys.privateKey) };
}

describe("Chromium and the CA's name constraints", () => {
  it("loads the device's own site, refuses example.com signed by the same CA", async () => {
    const ca = createCertificateAuthority("device-rtc CA (porch)", [
      "porch",
      "porch.local",
      "localhost",
      "127.0.0.1",
    ]);
    const own = await site(ca, issueServerCertificate(ca, ["porch.local"]));
    const forged = await site(ca, issueServerCertificate(ca, ["example.com"]));
    expect(await open(ca.certificate, `https://porch.local:${own}/`)).toBe("reached");
    expect(await open(ca.certificate, `https://example.com:${forged}/`)).toMatch(/^net::ERR_CERT_/);
  });

  it("control: an unconstrained CA trusted the same way makes the forgery load", async () => {
    const ca = unconstrainedCa();
    const forged = await site(ca, issueServerCertificate(ca, ["example.com"]));
    expect(await open(ca.certificate, `https://example.com:${forged}/`)).toBe("reached");
  });
});
