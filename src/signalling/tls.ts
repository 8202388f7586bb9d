/**
 * Loads the server's TLS identity the two ways gst-webrtc-signalling-server has accepted it:
 * PEM certificate chain + PEM key (`--cert` + `--key`, 0.14.2 and later) or a PKCS#12 bundle with a
 * password (`--cert` + `--cert-password`, up to 0.14.1). Any failure is a {@link TlsConfigError} naming
 * the file — never a silent fallback to plain ws:// as the Rust server does (docs/PROTOCOL.md §8).
 */
import { readFileSync } from "node:fs";
import { createSecureContext, type SecureContextOptions } from "node:tls";
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
