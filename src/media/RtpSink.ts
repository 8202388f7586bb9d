/**
 * The one way RTP packets are handed on inside the device: from a shared encoder to each viewer, and
 * from a received stream to the speaker, a recording or an echo.
 *
 * The contract, for every implementation:
 * - **`write` borrows the packet.** The caller hands the same Buffer to every sink in turn, so a sink
 *   never modifies it and never keeps it beyond the call. A sink that must change a header (payload
 *   type, SSRC, sequence numbers, timestamps) changes its own copy: {@link LoopbackRtpPort} copies
 *   before it rewrites, and werift's `writeRtp` parses the packet into a new object.
 * - **`write` does not block.** It queues or sends and returns; it never awaits the network.
 * - A sink that throws only loses that packet itself: {@link RtpFanOut} isolates sinks from each other.
 */
export interface RtpSink {
  write(packet: Buffer): void;
}
