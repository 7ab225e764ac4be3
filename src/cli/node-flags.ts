/**
 * The V8 options every ferry process runs with: bin/ferry passes them (it must repeat them
 * literally; test/node-flags.test.ts checks it does), and so do `npm start`, `npm run bench`,
 * the tests' ava workers and every ferry process a test or benchmark starts.
 *
 * Why: Node 20's V8 starts a full mark-compact whenever the old generation's headroom is smaller
 * than the young generation, and a small heap (ferry's is ~11 MB) has ~15 MB of headroom against
 * a 16 MB young generation. The external memory of the Buffers a socket and ws allocate per
 * received megabyte fills that at once, so a receiver at 400 MB/s ran ~15 full collections a
 * second (a quarter of its CPU, on both cores). A 64 MiB initial old-generation limit, which V8
 * keeps as a floor, ends that: 0-1 full collections per GiB, receiver CPU 2.5 → 1.3 ms/MiB, and
 * ws:// 1 GiB up 360 → 470 MB/s, wss:// down 330 → 400 (docs/benchmarks.md). 40 MiB is not
 * enough; the cost is at most that much garbage held before a collection.
 */
export const NODE_FLAGS: readonly string[] = ['--initial-old-space-size=64'];

/** Whether this process was started with NODE_FLAGS (a server says so in its log when not). */
export function hasNodeFlags(): boolean {
  return NODE_FLAGS.every((flag) => process.execArgv.includes(flag));
}
