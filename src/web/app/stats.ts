/**
 * Live statistics of what is being watched: bitrate, frames per second, round-trip time and packets
 * lost, from RTCPeerConnection.getStats() once a second, with a one-minute bitrate graph.
 */
const HISTORY = 60;

export interface StatsSample {
  kbps: number;
  fps: number;
  rttMs: number | undefined;
  lost: number;
}

export class StatsPanel {
  readonly #peerConnection: () => RTCPeerConnection | null;
  readonly #history: number[] = [];
  #lastBytes = 0;
  #lastTime = 0;
  #timer: number | undefined;
  latest: StatsSample | undefined;

  constructor(peerConnection: () => RTCPeerConnection | null) {
    this.#peerConnection = peerConnection;
  }

  start(): void {
    this.#timer = window.setInterval(() => void this.#sample(), 1000);
  }

  stop(): void {
    window.clearInterval(this.#timer);
  }

  async #sample(): Promise<void> {
    const pc = this.#peerConnection();
    if (!pc) {
      this.#show(undefined);
      return;
    }
    const report = await pc.getStats();
    let bytes = 0;
    let fps = 0;
    let lost = 0;
    let rtt: number | undefined;
    let timestamp = 0;
    report.forEach((entry) => {
      if (entry.type === "inbound-rtp") {
        bytes += entry.bytesReceived ?? 0;
        lost += Math.max(0, entry.packetsLost ?? 0);
        if (entry.kind === "video") fps = entry.framesPerSecond ?? 0;
        timestamp = Math.max(timestamp, entry.timestamp);
      }
      if (entry.type === "candidate-pair" && entry.nominated && entry.state === "succeeded") {
        rtt = entry.currentRoundTripTime === undefined ? undefined : entry.currentRoundTripTime * 1000;
      }
    });
    const kbps =
      this.#lastTime && timestamp > this.#lastTime
        ? ((bytes - this.#lastBytes) * 8) / (timestamp - this.#lastTime)
        : 0;
    this.#lastBytes = bytes;
    this.#lastTime = timestamp;
    this.#show({ kbps: Math.max(0, kbps), fps, rttMs: rtt, lost });
  }

  #show(sample: StatsSample | undefined): void {
    this.latest = sample;
    const set = (id: string, text: string) => {
      const element = document.getElementById(id);
      if (element) element.textContent = text;
    };
    set("stat-bitrate", sample ? `${Math.round(sample.kbps)} kbit/s` : "–");
    set("stat-fps", sample ? `${Math.round(sample.fps)}` : "–");
    set("stat-rtt", sample?.rttMs === undefined ? "–" : `${Math.round(sample.rttMs)} ms`);
    set("stat-lost", sample ? `${sample.lost}` : "–");
    this.#history.push(sample?.kbps ?? 0);
    if (this.#history.length > HISTORY) this.#history.shift();
    this.#draw();
  }

  #draw(): void {
    const canvas = document.getElementById("graph") as HTMLCanvasElement | null;
    const context = canvas?.getContext("2d");
    if (!canvas || !context) return;
    const { width, height } = canvas;
    context.clearRect(0, 0, width, height);
    const max = Math.max(100, ...this.#history);
    context.strokeStyle = "#4c8fd6";
    context.lineWidth = 2;
    context.beginPath();
    this.#history.forEach((value, i) => {
      const x = (i / (HISTORY - 1)) * width;
      const y = height - (value / max) * (height - 4) - 2;
      if (i === 0) context.moveTo(x, y);
      else context.lineTo(x, y);
    });
    context.stroke();
    context.fillStyle = "#aaa";
    context.font = "10px system-ui";
    context.fillText(`${Math.round(max)} kbit/s`, 4, 12);
  }
}
