/** wss:// with PEM (0.14.2+) and PKCS#12 (≤0.14.1) identities, and clear failures for bad ones. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createCertificateAuthority, issueServerCertificate, toPkcs12 } from "../../src/pki/certificates.ts";
import { startCli } from "../helpers/processes.ts";
import { TestPeer } from "../helpers/signalling.ts";

const dir = mkdtempSync(join(tmpdir(), "device-rtc-tls-"));
const files = {
  ca: join(dir, "ca.crt"),
  cert: join(dir, "server.crt"),
  key: join(dir, "server.key"),
  p12: join(dir, "server.p12"),
};
let caPem = "";

beforeAll(() => {
  const ca = createCertificateAuthority("device-rtc test CA", ["localhost", "127.0.0.1"]);
  const server = issueServerCertificate(ca, ["localhost", "127.0.0.1"]);
  caPem = ca.certificate;
  writeFileSync(files.ca, ca.certificate);
  writeFileSync(files.cert, server.certificate + ca.certificate);
  writeFileSync(files.key, server.key);
  writeFileSync(files.p12, toPkcs12(server, ca, "s3cret"));
});

let nextPort = 21000 + Math.floor(Math.random() * 20000);

async function serverAnswersOverWss(args: string[]): Promise<void> {
  const port = nextPort++;
  const server = startCli(["signalling", "--host", "127.0.0.1", "-p", String(port), ...args]);
  await server.waitFor(/listening on wss:\/\//);
  // The client trusts only the test CA: a plain ws:// fallback or a wrong chain would fail here.
  const peer = await TestPeer.connect(`wss://127.0.0.1:${port}`, { ca: caPem });
  peer.send(`{"type":"list"}`);
  expect(await peer.next()).toBe(`{"type":"list","producers":[]}`);
  await expect(TestPeer.connect(`ws://127.0.0.1:${port}`)).rejects.toThrow();
  server.signal("SIGINT");
  expect(await server.exited()).toBe(0);
}

async function failsNaming(args: string[], named: string, reason: RegExp): Promise<void> {
  const server = startCli(["signalling", "--host", "127.0.0.1", "-p", String(nextPort++), ...args]);
  expect(await server.exited()).toBe(1);
  expect(server.output()).toContain(named);
  expect(server.output()).toMatch(reason);
  expect(server.output()).not.toMatch(/listening on/);
}

describe("TLS", () => {
  it("serves wss:// with a PEM certificate chain and key", async () => {
    await serverAnswersOverWss(["--cert", files.cert, "--key", files.key]);
  });

  it("serves wss:// with a PKCS#12 bundle and its password", async () => {
    await serverAnswersOverWss(["-c", files.p12, "--cert-password", "s3cret"]);
  });

  it("exits 1 naming a certificate file that does not exist", async () => {
    await failsNaming(
      ["--cert", join(dir, "missing.crt"), "--key", files.key],
      "missing.crt",
      /no such file/,
    );
  });

  it("exits 1 naming a key that does not match", async () => {
    const other = issueServerCertificate(createCertificateAuthority("other", ["localhost"]), ["localhost"]);
    const wrongKey = join(dir, "wrong.key");
    writeFileSync(wrongKey, other.key);
    await failsNaming(["--cert", files.cert, "--key", wrongKey], "wrong.key", /cannot be used for TLS/);
  });

  it("exits 1 naming a PKCS#12 bundle opened with the wrong password", async () => {
    await failsNaming(
      ["--cert", files.p12, "--cert-password", "nope"],
      "server.p12",
      /cannot be used for TLS/,
    );
  });

  it("exits 1 when a PEM certificate comes without its key", async () => {
    await failsNaming(["--cert", files.cert], "server.crt", /--key/);
  });
});
