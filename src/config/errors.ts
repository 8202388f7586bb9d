/** Errors in a configuration layer (file or environment): the message names the key and where it came from. */

/** Exit status of a configuration error; the systemd unit does not restart on it (RestartPreventExitStatus). */
export const CONFIG_ERROR_EXIT_CODE = 2;

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly exitCode = CONFIG_ERROR_EXIT_CODE;
}
