/** The device's error classes for requests from its REST API (docs/ARCHITECTURE.md "REST API"). */

/** No open session has this id (it ended, or never was). */
export class UnknownSessionError extends Error {
  override readonly name = "UnknownSessionError";
}

/** The session cannot be recorded now (not negotiated yet, nothing recordable, the recorder failed). */
export class RecordingUnavailableError extends Error {
  override readonly name = "RecordingUnavailableError";
}
