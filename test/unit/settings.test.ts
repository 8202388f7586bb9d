/** Small parsers of user settings: ICE server URLs and the log level from the environment. */
import { describe, expect, it } from "vitest";
import { levelFromEnvironment } from "../../src/common/logger.ts";
import { parseIceServer } from "../../src/device/webrtc.ts";

describe("parseIceServer", () => {
  it.each([
    ["stun:stun.example.org:3478", { urls: "stun:stun.example.org:3478" }],
    ["stun://stun.example.org:3478", { urls: "stun:stun.example.org:3478" }],
    [
      "turn:user:pass@turn.example.org:3478",
      { urls: "turn:turn.example.org:3478", username: "user", credential: "pass" },
    ],
    [
      "turns://us%40er:p%3Ass@turn.example.org:5349",
      { urls: "turns:turn.example.org:5349", username: "us@er", credential: "p:ss" },
    ],
    ["turn:turn.example.org:3478?transport=tcp", { urls: "turn:turn.example.org:3478?transport=tcp" }],
  ])("%s", (url, expected) => {
    expect(parseIceServer(url)).toEqual(expected);
  });

  it("refuses what is not a STUN or TURN URL, naming it", () => {
    expect(() => parseIceServer("http://example.org")).toThrow(
      /not a STUN or TURN URL: http:\/\/example.org/,
    );
  });
});

describe("levelFromEnvironment", () => {
  it.each([
    [{}, "info"],
    [{ LOG_LEVEL: "debug" }, "debug"],
    [{ LOG_LEVEL: " WARN " }, "warn"],
    [{ LOG_LEVEL: "nonsense" }, "info"],
    [{ WEBRTCSINK_SIGNALLING_SERVER_LOG: "debug" }, "debug"],
    [{ WEBRTCSINK_SIGNALLING_SERVER_LOG: "info,gst_plugin_webrtc_signalling=trace" }, "trace"],
    [{ WEBRTCSINK_SIGNALLING_SERVER_LOG: "warning" }, "warn"],
    [{ WEBRTCSINK_SIGNALLING_SERVER_LOG: "off" }, "silent"],
    [{ LOG_LEVEL: "error", WEBRTCSINK_SIGNALLING_SERVER_LOG: "trace" }, "error"],
  ])("%o → %s", (env, level) => {
    expect(levelFromEnvironment(env as NodeJS.ProcessEnv)).toBe(level);
  });
});
