/**
 * The project's certificate authority on disk: one CA, and server certificates it signs, in a
 * directory. Each server identity is written as PEM (certificate, key, chain) and as PKCS#12 with a
 * password, so gst-webrtc-signalling-server (PEM since 0.14.2, PKCS#12 before), our own server and
 * browsers' import dialogs can all use the same files. Private keys are written with mode 0600.
 */
import { randomBytes, X509Certificate } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { hostname, networkInterfaces } from "node:os";
import { join } from "node:path";
import {
  caPermittedNames,
  createCertificateAuthority,
  ipv6Groups,
  issueServerCertificate,
  type KeyAndCertificate,
  permits,
  toPkcs12,
} from "./certificates.ts";

export interface ServerIdentityPaths {
  certificate: string;
  key: string;
  /** The server certificate followed by the CA's: what a TLS server should send. */
  chain: string;
  pkcs12: string;
  /** The PKCS#12 password, in a file readable by its owner only. */
  pkcs12Password: string;
}

export interface PkiPaths {
  dir: string;
  caCertificate: string;
  caKey: string;
  server: ServerIdentityPaths;
}

/** The PKI already exists and `force` was not given. */
export class PkiExistsError extends Error {
  override readonly name = "PkiExistsError";
}

/** No CA in the directory (run `device-rtc pki init` first). */
export class PkiMissingError extends Error {
  override readonly name = "PkiMissingError";
}

export function serverIdentityPaths(dir: string, base: string): ServerIdentityPaths {
  return {
    certificate: join(dir, `${base}.crt`),
    key: join(dir, `${base}.key`),
    chain: join(dir, `${base}-chain.pem`),
    pkcs12: join(dir, `${base}.p12`),
    pkcs12Password: join(dir, `${base}.p12.password`),
  };
}

export function pkiPaths(dir: string): PkiPaths {
  return {
    dir,
    caCertificate: join(dir, "ca.crt"),
    caKey: join(dir, "ca.key"),
    server: serverIdentityPaths(dir, "server"),
  };
}

/** This machine's LAN addresses (IPv4 and global IPv6, no loopback or link-local). */
export function lanAddresses(): string[] {
  const found: string[] = [];
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.internal) continue;
      if (address.family === "IPv6" && /^fe80:/i.test(address.address)) continue;
      found.push(address.address);
    }
  }
  return found;
}

/** The names a server certificate covers: the given ones, this host (and its mDNS name), localhost, loopback and the LAN addresses. */
export function defaultServerNames(extra: readonly string[] = []): string[] {
  const host = hostname();
  const names = [...extra, host, `${host}.local`, "localhost", "127.0.0.1", "::1", ...lanAddresses()];
  return [...new Set(names.filter((name) => name.length > 0))];
}

function writePrivate(path: string, content: string | Buffer): void {
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

function loadCa(paths: PkiPaths): KeyAndCertificate {
  if (!existsSync(paths.caCertificate) || !existsSync(paths.caKey)) {
    throw new PkiMissingError(
      `no certificate authority in ${paths.dir} (create one with: device-rtc pki init --dir ${paths.dir})`,
    );
  }
  return { certificate: readFileSync(paths.caCertificate, "utf8"), key: readFileSync(paths.caKey, "utf8") };
}

function writeServer(ca: KeyAndCertificate, names: readonly string[], identity: ServerIdentityPaths): void {
  const server = issueServerCertificate(ca, names);
  const password = randomBytes(12).toString("base64url");
  writeFileSync(identity.certificate, server.certificate);
  writePrivate(identity.key, server.key);
  writeFileSync(identity.chain, server.certificate + ca.certificate);
  writePrivate(identity.pkcs12, toPkcs12(server, ca, password));
  writePrivate(identity.pkcs12Password, `${password}\n`);
}

/** Creates a CA and a server certificate for `names`. Refuses to overwrite an existing CA without `force`. */
export function initPki(dir: string, names: readonly string[], options: { force?: boolean } = {}): PkiPaths {
  const paths = pkiPaths(dir);
  if (!options.force && (existsSync(paths.caCertificate) || existsSync(paths.caKey))) {
    throw new PkiExistsError(
      `${paths.caCertificate} already exists; use --force to replace the CA (browsers that trusted it will have to trust the new one)`,
    );
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const ca = createCertificateAuthority(`device-rtc CA (${hostname()})`, names);
  writeFileSync(paths.caCertificate, ca.certificate);
  writePrivate(paths.caKey, ca.key);
  writeServer(ca, names, paths.server);
  return paths;
}

/** Issues another server certificate from the existing CA, written as `<base>.crt` and friends. */
export function issueServer(
  dir: string,
  names: readonly string[],
  base: string,
  options: { force?: boolean } = {},
): ServerIdentityPaths {
  const paths = pkiPaths(dir);
  const ca = loadCa(paths);
  const identity = serverIdentityPaths(dir, base);
  if (!options.force && existsSync(identity.certificate)) {
    throw new PkiExistsError(`${identity.certificate} already exists; use --force to replace it`);
  }
  writeServer(ca, names, identity);
  return identity;
}

/** A name in one spelling: lower case, IPv6 addresses written out in full (as Node prints them). */
function canonicalName(name: string): string {
  if (isIP(name) !== 6) return name.toLowerCase();
  return ipv6Groups(name)
    .map((group) => group.replace(/^0+(?=.)/, ""))
    .join(":");
}

/** The DNS names and IP addresses a certificate covers. */
export function certificateNames(certificatePem: string): string[] {
  const san = new X509Certificate(certificatePem).subjectAltName ?? "";
  return san
    .split(", ")
    .map((entry) => entry.replace(/^(DNS|IP Address):/, ""))
    .filter(Boolean);
}

/**
 * What `serve` needs on every start: the PKI, created on first run; and a server certificate that
 * covers today's names — reissued from the same CA (so nothing needs trusting again) when the LAN
 * address changed or it is about to expire.
 */
export function ensurePki(
  dir: string,
  names: readonly string[],
): { paths: PkiPaths; created: boolean; reissued: boolean; warnings: string[] } {
  const paths = pkiPaths(dir);
  const warnings: string[] = [];
  if (!existsSync(paths.caCertificate))
    return { paths: initPki(dir, names), created: true, reissued: false, warnings };
  // Installs from before: the directory 0700, the keys 0600.
  chmodSync(dir, 0o700);
  for (const key of [paths.caKey, paths.server.key, paths.server.pkcs12, paths.server.pkcs12Password]) {
    if (existsSync(key)) chmodSync(key, 0o600);
  }
  const ca = loadCa(paths);
  // The CA can only certify the names it was made for: today's other names are left out, with a warning.
  const permitted = caPermittedNames(ca.certificate);
  let covered = [...names];
  if (!permitted) {
    warnings.push(
      `the certificate authority in ${dir} was made without name constraints: whoever copies its key could ` +
        "impersonate any web site to the phones and computers that trust it. Replace it with " +
        `\`device-rtc pki init --force --dir ${dir}\` and trust the new one (docs/SECURITY.md "PKI").`,
    );
  } else {
    const outside = names.filter((name) => !permits(permitted, name));
    covered = names.filter((name) => permits(permitted, name));
    if (outside.length > 0) {
      warnings.push(
        `this machine's ${outside.join(", ")} ${outside.length === 1 ? "is" : "are"} not among the names the ` +
          `certificate authority may certify (${[...permitted.dns, ...permitted.ips].join(", ")}): browsers reach the ` +
          "device by those names only. To add them, make a new CA with `device-rtc pki init --force` " +
          '(and trust it again), or give the device a fixed address (docs/SECURITY.md "PKI").',
      );
    }
  }
  let reissue = !existsSync(paths.server.certificate) || !existsSync(paths.server.key);
  if (!reissue) {
    const pem = readFileSync(paths.server.certificate, "utf8");
    const have = new Set(certificateNames(pem).map(canonicalName));
    const missing = covered.filter((name) => !have.has(canonicalName(name)));
    const expiresSoon = Date.parse(new X509Certificate(pem).validTo) - Date.now() < 30 * 24 * 3600 * 1000;
    reissue = missing.length > 0 || expiresSoon;
  }
  if (reissue) writeServer(ca, covered.length > 0 ? covered : names, paths.server);
  return { paths, created: false, reissued: reissue, warnings };
}
