/**
 * Certificates for HTTPS/WSS on a LAN: a private certificate authority that the user trusts once, and
 * server certificates it signs for the device's names and addresses.
 *
 * Built with node-forge (X.509 and PKCS#12 in one well-kept library); keys come from Node's own crypto.
 * The server certificates meet what browsers and Apple platforms demand of certificates from a
 * user-installed root (https://support.apple.com/en-us/103769): RSA 2048, SHA-256, every name in
 * subjectAltName (RFC 5280 §4.2.1.6), extendedKeyUsage serverAuth, and at most 825 days of validity.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { isIP } from "node:net";
import forge from "node-forge";

export interface KeyAndCertificate {
  /** PEM certificate. */
  certificate: string;
  /** PEM private key (PKCS#8). */
  key: string;
}

const CA_VALIDITY_YEARS = 10;
/** Apple's limit for TLS server certificates; Chrome accepts it for private roots too. */
const SERVER_VALIDITY_DAYS = 825;

function newKeyPair(): {
  privateKey: forge.pki.rsa.PrivateKey;
  publicKey: forge.pki.rsa.PublicKey;
  pem: string;
} {
  const { privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  const forgeKey = forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey;
  const publicKey = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e);
  return { privateKey: forgeKey, publicKey, pem: privateKey };
}

/** A positive 128-bit serial (RFC 5280 §4.1.2.2: unique per CA, at most 20 octets, positive). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString("hex");
}

/**
 * The nameConstraints extension (RFC 5280 §4.2.1.10) limiting a CA to `names`: each DNS name covers
 * itself and its subdomains (so `pi.local` covers `x.pi.local`), each IP address itself only. With at
 * least one DNS and one IP subtree present, no other DNS name or address can be certified: verifiers
 * (OpenSSL, BoringSSL/Chromium, NSS, Apple) refuse a chain whose leaf names fall outside them.
 */
function nameConstraints(names: readonly string[]): Record<string, unknown> {
  const { asn1 } = forge;
  const dns = [...new Set(names.filter((name) => isIP(name) === 0).map((name) => name.toLowerCase()))];
  const ips = [...new Set(names.filter((name) => isIP(name) !== 0))];
  // Without a subtree of a type, that type is unconstrained: always constrain both.
  if (dns.length === 0) dns.push("invalid");
  if (!ips.includes("127.0.0.1")) ips.push("127.0.0.1");
  const subtree = (generalName: forge.asn1.Asn1) =>
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [generalName]);
  const subtrees = [
    ...dns.map((name) => subtree(asn1.create(asn1.Class.CONTEXT_SPECIFIC, 2, false, name))),
    ...ips.map((ip) => {
      const bytes = ipBytes(ip);
      const mask = String.fromCharCode(...Array(bytes.length).fill(0xff));
      return subtree(
        asn1.create(asn1.Class.CONTEXT_SPECIFIC, 7, false, String.fromCharCode(...bytes) + mask),
      );
    }),
  ];
  const value = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, subtrees),
  ]);
  return { name: "nameConstraints", id: "2.5.29.30", critical: true, value } as Record<string, unknown>;
}

/** The eight groups of an IPv6 address (hex, lower case, as written), `::` expanded to its zeros. */
export function ipv6Groups(ip: string): string[] {
  const [head = "", tail = ""] = ip.toLowerCase().split("::");
  const left = head ? head.split(":") : [];
  const right = ip.includes("::") ? (tail ? tail.split(":") : []) : [];
  return ip.includes("::") ? [...left, ...Array(8 - left.length - right.length).fill("0"), ...right] : left;
}

/** The bytes of an IPv4 or IPv6 address. */
function ipBytes(ip: string): number[] {
  if (isIP(ip) === 4) return ip.split(".").map(Number);
  return ipv6Groups(ip).flatMap((group) => {
    const value = Number.parseInt(group, 16);
    return [value >> 8, value & 0xff];
  });
}

/**
 * The names a CA may certify (its nameConstraints' permitted DNS names and IP addresses), or undefined
 * when it has no constraints (a CA made before they were added: it could certify any site).
 */
export function caPermittedNames(caPem: string): { dns: string[]; ips: string[] } | undefined {
  const cert = forge.pki.certificateFromPem(caPem);
  const extension = cert.getExtension("nameConstraints") as
    | { permittedSubtrees?: Array<{ type: number; value: string }> }
    | undefined;
  if (!extension?.permittedSubtrees) return undefined;
  const dns: string[] = [];
  const ips: string[] = [];
  for (const tree of extension.permittedSubtrees) {
    if (tree.type === 2) dns.push(tree.value);
    if (tree.type === 7) {
      const bytes = [...tree.value].map((c) => c.charCodeAt(0)).slice(0, tree.value.length / 2);
      ips.push(bytes.length === 4 ? bytes.join(".") : ipv6Text(bytes));
    }
  }
  return { dns, ips };
}

function ipv6Text(bytes: number[]): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return groups.join(":");
}

/** Whether a CA limited to `permitted` may certify `name` (RFC 5280 §4.2.1.10 matching). */
export function permits(permitted: { dns: string[]; ips: string[] }, name: string): boolean {
  if (isIP(name) !== 0) {
    const bytes = ipBytes(name).join(".");
    return permitted.ips.some((ip) => ipBytes(ip).join(".") === bytes);
  }
  const lower = name.toLowerCase();
  return permitted.dns.some((base) => lower === base || lower.endsWith(`.${base}`));
}

/**
 * Creates a certificate authority valid for ten years, limited to `names` (its nameConstraints) and to
 * issuing TLS server certificates directly (pathLen 0, extendedKeyUsage serverAuth): the key cannot
 * sign for any other site, nor make a sub-CA that could.
 */
export function createCertificateAuthority(commonName: string, names: readonly string[]): KeyAndCertificate {
  const keys = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = new Date(Date.now() - 60 * 60 * 1000);
  cert.validity.notAfter = new Date(cert.validity.notBefore);
  cert.validity.notAfter.setFullYear(cert.validity.notAfter.getFullYear() + CA_VALIDITY_YEARS);
  const subject = [
    { name: "commonName", value: commonName },
    { name: "organizationName", value: "device-rtc" },
  ];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, pathLenConstraint: 0, critical: true },
    { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    nameConstraints(names),
    { name: "subjectKeyIdentifier" },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certificate: forge.pki.certificateToPem(cert), key: keys.pem };
}

/** Issues a server certificate for `names` (DNS names and IP addresses), signed by `ca`. */
export function issueServerCertificate(ca: KeyAndCertificate, names: readonly string[]): KeyAndCertificate {
  if (names.length === 0) throw new Error("a server certificate needs at least one name");
  const caCert = forge.pki.certificateFromPem(ca.certificate);
  const caKey = forge.pki.privateKeyFromPem(ca.key);
  const keys = newKeyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = new Date(Date.now() - 60 * 60 * 1000);
  cert.validity.notAfter = new Date(
    cert.validity.notBefore.getTime() + SERVER_VALIDITY_DAYS * 24 * 60 * 60 * 1000,
  );
  cert.setSubject([{ name: "commonName", value: names[0] as string }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: "basicConstraints", cA: false, critical: true },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    {
      name: "subjectAltName",
      altNames: names.map((name) => (isIP(name) ? { type: 7, ip: name } : { type: 2, value: name })),
    },
    { name: "subjectKeyIdentifier" },
    { name: "authorityKeyIdentifier", keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certificate: forge.pki.certificateToPem(cert), key: keys.pem };
}

/**
 * A PKCS#12 bundle of the server key, its certificate and the CA (the chain), encrypted with `password`
 * using 3DES and a SHA-1 MAC — the combination every consumer reads: OpenSSL 3 without the legacy
 * provider (Node.js, the Rust server's native-tls up to 0.14.1), Android, iOS and Windows.
 */
export function toPkcs12(server: KeyAndCertificate, ca: KeyAndCertificate, password: string): Buffer {
  const asn1 = forge.pkcs12.toPkcs12Asn1(
    forge.pki.privateKeyFromPem(server.key),
    [forge.pki.certificateFromPem(server.certificate), forge.pki.certificateFromPem(ca.certificate)],
    password,
    { algorithm: "3des", friendlyName: "device-rtc" },
  );
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), "binary");
}

/** The SHA-256 of a certificate's SubjectPublicKeyInfo, base64: what Chromium's SPKI pinning flag takes. */
export function spkiFingerprint(certificatePem: string): string {
  const cert = forge.pki.certificateFromPem(certificatePem);
  const spki = forge.asn1.toDer(forge.pki.publicKeyToAsn1(cert.publicKey)).getBytes();
  const digest = forge.md.sha256.create();
  digest.update(spki);
  return forge.util.encode64(digest.digest().getBytes());
}
