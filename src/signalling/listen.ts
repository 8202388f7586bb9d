/**
 * Listening and closing, the same for each of our HTTP(S) servers: the signalling server's own port,
 * the web app's and the metrics listener.
 */
import type { Server as HttpServer } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { Logger } from "../common/logger.ts";
import { ListenError } from "./errors.ts";

/**
 * Listens on `host`:`port`, or fails with a {@link ListenError} that names `what` listens and the
 * address. Once listening, an accept() error (e.g. EMFILE) is logged and the server goes on: sturdier
 * than the Rust signalling server, which exits on the first one.
 */
export async function listen(
  server: HttpServer | HttpsServer,
  address: { host: string; port: number; what?: string },
  logger: Logger,
): Promise<void> {
  const { host, port } = address;
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) =>
      reject(
        new ListenError(
          `cannot listen${address.what ? ` for ${address.what}` : ""} on ${host}:${port}: ${error.code ?? error.message}`,
          { cause: error },
        ),
      );
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  server.on("error", (error) => logger.error({ err: error.message }, "accept failed; still serving"));
}

/** Stops listening and ends every connection, idle keep-alive ones included; resolves once closed. */
export function closeServer(server: HttpServer | HttpsServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
