/**
 * Loads the server's TLS identity the two ways gst-webrtc-signalling-server has accepted it:
 * PEM certificate chain + PEM key (`--cert` + `--key`, 0.14.2 and later) or a PKCS#12 bundle with a
 * password (`--cert` + `--cert-password`, up to 0.14.1). Any failure is a {@link TlsConfigError} naming
 * the file — never a silent fallback to plain ws:// as the Rust server does (docs/PROTOCOL.md §8).
 */
import { readFileSync } from "node:fs";
import { createSecureContext, type SecureContextOptions, type TlsOptions } from "node:tls";
import { TlsConfigError } from "./errors.ts";

export interface TlsFiles {
  /** PEM certificate chain, or a PKCS#12 bundle when no key is given. */
  cert: string;
  /** PEM private key. */
  key?: string | undefined;
  /** Password of the PKCS#12 bundle (default: empty, as upstream). */
  certPassword?: string | undefined;
}

export type TlsCredentials = Pick<SecureContextOptions, "cert" | "key" | "pfx" | "passphrase">;

export function loadTlsCredentials(files: TlsFiles): TlsCredentials {
  const cert = readTlsFile(files.cert, "certificate");
  const certIsPem = cert.includes("-----BEGIN");
  let credentials: TlsCredentials;
  if (files.key !== undefined) {
    const key = readTlsFile(files.key, "private key");
    if (!certIsPem) throw new TlsConfigError(`${files.cert}: not a PEM certificate`, files.cert);
    if (!key.includes("-----BEGIN") || !/PRIVATE KEY-----/.test(key.toString("latin1"))) {
      throw new TlsConfigError(`${files.key}: not a PEM private key`, files.key);
    }
    credentials = { cert, key };
  } else {
    if (certIsPem) {
      throw new TlsConfigError(
        `${files.cert} is a PEM certificate: give its private key with --key (or pass a PKCS#12 file)`,
        files.cert,
      );
    }
    credentials = { pfx: cert, passphrase: files.certPassword ?? "" };
  }
  try {
    createSecureContext(credentials);
  } catch (error) {
    const file = files.key !== undefined && /key/i.test(String(error)) ? files.key : files.cert;
    const reason = (error as Error).message.replace(/^error:[0-9A-F]+:/i, "");
    throw new TlsConfigError(`${file}: cannot be used for TLS: ${reason}`, file, { cause: error });
  }
  return credentials;
}

function readTlsFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : String(error);
    throw new TlsConfigError(`cannot read the ${what} file ${path}: ${reason}`, path, { cause: error });
  }
}

/**
 * TLS 1.2 and 1.3 only, and for 1.2 only forward-secret AEAD suites (Mozilla's "intermediate"
 * configuration, https://wiki.mozilla.org/Security/Server_Side_TLS): every browser of the last years,
 * webrtcsink/webrtcsrc (rustls or OpenSSL) and Node connect; TLS 1.0/1.1 and CBC suites do not.
 */
export const HARDENED_TLS: Pick<TlsOptions, "minVersion" | "ciphers" | "honorCipherOrder"> = Object.freeze({
  minVersion: "TLSv1.2",
  ciphers: [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
  ].join(":"),
  honorCipherOrder: true,
});

/** Timeouts and sizes against slow or oversized request heads (slowloris), for every HTTP(S) server. */
export const HTTP_LIMITS = Object.freeze({
  /** Largest request head; more is refused with 431. */
  maxHeaderSize: 16 * 1024,
  /** A request head (including a WebSocket upgrade) must arrive within this. */
  headersTimeout: 10_000,
  /** A whole request must arrive within this. */
  requestTimeout: 30_000,
  keepAliveTimeout: 5_000,
  /** How often the two timeouts above are checked. */
  connectionsCheckingInterval: 1_000,
  /** A TLS client must finish its handshake within this. */
  handshakeTimeout: 5_000,
});
