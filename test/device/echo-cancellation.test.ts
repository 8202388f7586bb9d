/**
 * Echo cancellation, verified end to end: the device's microphone hears its own speaker (a PulseAudio
 * null sink and its monitor), a browser talks to the device and listens to it at the same time. With
 * webrtcdsp the browser does not hear itself back; without it (--no-echo-cancel), it does.
 */
import { describe, expect, it } from "vitest";
import {
  consumeProducer,
  deviceConsumer,
  type Inbound,
  mediaFor,
  stage,
  startDevice,
} from "../helpers/device.ts";
import { startPulseAudio } from "../helpers/pulseaudio.ts";

/** Audio energy the browser receives from the device over `ms`, once the canceller has converged. */
async function echoEnergy(extraFlags: string[]): Promise<number> {
  const { server } = await startPulseAudio();
  const s = await stage();
  await startDevice(
    s.signalling,
    [
      "--name",
      "dev",
      "--video",
      "test",
      "--audio",
      "mic:pulse:speaker.monitor",
      "--speaker",
      "pulse:speaker",
      ...extraFlags,
    ],
    { PULSE_SERVER: server },
  );
  const { page, log } = await s.openPage("phone");
  // Listen to the device…
  await consumeProducer(page, "dev", log);
  // …and talk to it.
  const consumerId = await deviceConsumer(page, log);
  await page.evaluate(`t.produce(${JSON.stringify(consumerId)}, { video: false, audio: "noise" })`);
  // The canceller adapts to the echo path within a few seconds (nothing to observe: a length of time)…
  await mediaFor(9000);
  // …then the echo energy is measured over 3 s.
  const before = (await page.evaluate("t.inbound()")) as Inbound;
  await mediaFor(3000);
  const after = (await page.evaluate("t.inbound()")) as Inbound;
  expect(after.audioBytes ?? 0).toBeGreaterThan(before.audioBytes ?? 0);
  return (after.totalAudioEnergy ?? 0) - (before.totalAudioEnergy ?? 0);
}

describe("echo cancellation", () => {
  it("the browser does not hear itself back through the device's speaker and microphone", async () => {
    const withoutCancellation = await echoEnergy(["--no-echo-cancel"]);
    const withCancellation = await echoEnergy([]);
    process.stdout.write(
      `echo energy at the browser over 3 s: ${withoutCancellation} without, ${withCancellation} with cancellation\n`,
    );
    // The echo is really there without the canceller…
    expect(withoutCancellation).toBeGreaterThan(0.01);
    // …and at least 6 dB (4× in energy) weaker with it (measured: 11 to 33 dB).
    expect(withCancellation * 4).toBeLessThan(withoutCancellation);
  });
});
