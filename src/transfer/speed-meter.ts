/**
 * A smoothed transfer rate: cumulative byte counts sampled over time, the rate taken over the
 * last few seconds rather than between two samples, so a bursty stream (one ack per megabyte)
 * still shows a steady number. Values are immutable so the progress reducer stays pure.
 */
export interface SpeedMeter {
  /** [time in ms, cumulative bytes], oldest first. */
  readonly samples: readonly (readonly [number, number])[];
}

export const EMPTY_METER: SpeedMeter = { samples: [] };

/** Default averaging window. */
export const SPEED_WINDOW_MS = 4000;
/** Samples closer together than this are merged, which bounds the array to window / this. */
const MIN_SAMPLE_GAP_MS = 100;
/** Below this much observed time the rate is too noisy to show. */
const MIN_ELAPSED_MS = 250;

/**
 * Records that `bytes` (cumulative) had been transferred at time `at`. A count lower than the
 * last one (a transfer that restarted from an earlier offset) starts the meter over, because
 * the rate over a rewind means nothing.
 */
export function addSample(meter: SpeedMeter, at: number, bytes: number, windowMs = SPEED_WINDOW_MS): SpeedMeter {
  const samples = meter.samples;
  const last = samples[samples.length - 1];
  if (last !== undefined && bytes < last[1]) return { samples: [[at, bytes]] };
  const kept = prune(samples, at, windowMs);
  const previous = kept[kept.length - 2];
  // Merge into the newest sample when it is very recent, but never drop the window's anchor.
  if (previous !== undefined && last !== undefined && kept[kept.length - 1] === last && at - previous[0] < MIN_SAMPLE_GAP_MS) {
    return { samples: [...kept.slice(0, -1), [at, bytes]] };
  }
  return { samples: [...kept, [at, bytes]] };
}

/**
 * Bytes per second over the window ending at `now` (default: the newest sample). Using `now`
 * lets the rate fall towards 0 while a transfer stalls. 0 until enough time has been seen.
 */
export function rateOf(meter: SpeedMeter, now?: number, windowMs = SPEED_WINDOW_MS): number {
  const newest = meter.samples[meter.samples.length - 1];
  if (newest === undefined) return 0;
  const end = now ?? newest[0];
  const samples = prune(meter.samples, end, windowMs);
  const anchor = samples[0];
  if (anchor === undefined) return 0;
  const elapsed = end - anchor[0];
  if (elapsed < MIN_ELAPSED_MS) return 0;
  return Math.max(0, ((newest[1] - anchor[1]) * 1000) / elapsed);
}

/** Seconds left for `remaining` bytes at `rate` bytes/s; null when the rate is unknown (0). */
export function etaSeconds(remaining: number, rate: number): number | null {
  if (remaining <= 0) return 0;
  if (rate <= 0) return null;
  return remaining / rate;
}

/** Drops samples older than the window but keeps the last one before it as the anchor. */
function prune(samples: SpeedMeter['samples'], now: number, windowMs: number): SpeedMeter['samples'] {
  const start = now - windowMs;
  let first = 0;
  while (first + 1 < samples.length && (samples[first + 1]?.[0] ?? Infinity) <= start) first++;
  return first === 0 ? samples : samples.slice(first);
}
