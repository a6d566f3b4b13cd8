/**
 * Simulation progress: a cli-progress bar on a terminal, a plain line every
 * few seconds otherwise (CI logs), nothing when quiet.
 */
import cliProgress from "cli-progress";
import type { SimProgress } from "../sim/simulate.js";
import { formatDuration } from "../sim/scenario.js";
import type { Io } from "./io.js";

export interface Progress {
  update(p: SimProgress): void;
  stop(): void;
}

const num = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(0)}k` : String(Math.round(n)));

export function createProgress(io: Io, mode: "auto" | "quiet", label = "simulate", intervalMs = 2000): Progress {
  if (mode === "quiet") return { update: () => {}, stop: () => {} };
  if (io.isTTY && io.ttyStream) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% | {vt} virtual | {nodes} nodes | {pods} pods | {rate} events/s | ETA {eta_formatted}`,
        stream: io.ttyStream,
        hideCursor: true,
        clearOnComplete: false,
        fps: 10,
        barsize: 30,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(p) {
        const payload = { vt: formatDuration(p.t), nodes: num(p.nodes), pods: num(p.pods), rate: num(p.elapsedMs > 0 ? (p.events * 1000) / p.elapsedMs : 0) };
        if (!started) {
          bar.start(p.epochs, p.epoch, payload);
          started = true;
        } else bar.update(p.epoch, payload);
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  let last = -Infinity;
  let lastEpoch = 0;
  return {
    update(p) {
      lastEpoch = p.epoch;
      if (p.elapsedMs - last < intervalMs && p.epoch < p.epochs) return;
      last = p.elapsedMs;
      const rate = p.elapsedMs > 0 ? (p.events * 1000) / p.elapsedMs : 0;
      io.err(`${label}: ${Math.floor((p.epoch / p.epochs) * 100)}% (${formatDuration(p.t)} virtual), ${num(p.nodes)} nodes, ${num(p.pods)} pods, ${num(p.events)} events (${num(rate)}/s)\n`);
    },
    stop() {
      void lastEpoch;
    },
  };
}
