/**
 * UDP on 127.0.0.1 between Node and its gst-launch-1.0 children. Nothing binds a wildcard address, and
 * every socket Node reads from is connected to the one port its pipeline sends from, so the kernel
 * drops datagrams from anyone else (another local user who read a port from /proc).
 */
import { createSocket, type Socket } from "node:dgram";

export const LOOPBACK = "127.0.0.1";

/** A UDP socket bound to 127.0.0.1 on an ephemeral port. */
export function bindLoopbackSocket(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    socket.once("error", reject);
    socket.bind(0, LOOPBACK, () => {
      socket.off("error", reject);
      resolve(socket);
    });
  });
}

/** Connects `socket` to 127.0.0.1:`port` (datagrams from any other address or port are dropped). */
export function connectLoopback(socket: Socket, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.connect(port, LOOPBACK, () => {
      socket.off("error", reject);
      resolve();
    });
  });
}

/**
 * A port on 127.0.0.1 that is free now, for a pipeline to bind (`udpsrc port=`, `udpsink bind-port=`).
 * GStreamer binds with SO_REUSEPORT, which Linux grants only to sockets of the same user, so another
 * user cannot share the port once the pipeline has it.
 */
export async function reserveLoopbackPort(): Promise<number> {
  const socket = await bindLoopbackSocket();
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

export function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}
