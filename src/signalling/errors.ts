/** Errors of the signalling server that callers may want to tell apart. */

/** A certificate, key or PKCS#12 file cannot be used. The message names the file and the reason. */
export class TlsConfigError extends Error {
  override readonly name = "TlsConfigError";
  constructor(
    message: string,
    readonly file: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The server cannot listen (address in use, permission denied, …). */
export class ListenError extends Error {
  override readonly name = "ListenError";
}
