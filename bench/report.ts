import { cpus } from 'node:os';

export interface Measurement {
  name: string;
  bytes: number;
  /** Seconds of each run. */
  seconds: number[];
  /** The server's peak RSS during this workload's runs, in bytes. */
  peakRss?: number;
}

const MB = 1e6;

function sorted(values: number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

export function median(values: number[]): number {
  const s = sorted(values);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Throughput of each run in MB/s (10^6 bytes per second). */
export function rates(m: Measurement): number[] {
  return m.seconds.map((s) => m.bytes / MB / s);
}

export function machineLine(): string {
  const cpu = cpus();
  return `${cpu.length} cores, ${cpu[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}`;
}

/** The table for the terminal and for docs/benchmarks.md (Markdown reads well in both). */
export function formatTable(measurements: Measurement[]): string {
  const rows = measurements.map((m) => {
    const r = rates(m);
    const s = sorted(r);
    const rss = m.peakRss === undefined ? '' : `${(m.peakRss / 1024 / 1024).toFixed(0)} MiB`;
    return `| ${m.name} | ${(m.bytes / MB).toFixed(0)} MB | **${median(r).toFixed(0)}** | ${s[0]!.toFixed(0)} | ${s[s.length - 1]!.toFixed(0)} | ${m.seconds.length} | ${rss} |`;
  });
  return ['| workload | size | median MB/s | min | max | runs | server peak RSS |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |', ...rows].join('\n');
}
