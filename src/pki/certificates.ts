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

/** Creates a certificate authority valid for ten years. */
export function createCertificateAuthority(commonName: string): KeyAndCertificate {
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
