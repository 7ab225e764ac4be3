/**
 * What one metadata operation costs in the server's storage layer, without the network: stat,
 * open + close, a small put and a 1000-entry listing of files two directories deep, 16 at once
 * (what a tree copy asks of the jail). Run after a build: `node dist/bench/storage-ops.js`.
 * Prints microseconds per operation, two rounds (the first warms the caches).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalStorage } from '../server/storage/local-storage.js';

const FILES = 1000;
const AT_ONCE = 16;

async function perOp(label: string, count: number, op: (i: number) => Promise<unknown>): Promise<void> {
  const started = performance.now();
  for (let i = 0; i < count; i += AT_ONCE) await Promise.all(Array.from({ length: AT_ONCE }, (_, k) => op(i + k)));
  console.log(`  ${label.padEnd(16)} ${(((performance.now() - started) * 1000) / count).toFixed(1).padStart(8)} µs/op`);
}

async function main(): Promise<void> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'ferry-storage-ops-'));
  const storage = new LocalStorage(root);
  try {
    const space = storage.userSpace('alice', () => 0);
    await space.mkdir('/d1/d2', { parents: true });
    const dir = path.join(root, 'homes', 'alice', 'd1', 'd2');
    for (let i = 0; i < FILES; i++) await writeFile(path.join(dir, `f${i}`), 'x'.repeat(100));
    const data = Buffer.from('hello');
    const sha256 = createHash('sha256').update(data).digest('hex');
    for (let round = 1; round <= 2; round++) {
      console.log(`round ${round}`);
      await perOp('stat', 5000, (i) => space.stat(`/d1/d2/f${i % FILES}`));
      await perOp('openRead+close', 5000, async (i) => (await space.openRead(`/d1/d2/f${i % FILES}`)).close());
      await perOp('putFile', 2000, (i) => space.putFile(`/d1/p${round}-${i}`, data, { mtime: 1, sha256, overwrite: false }));
      await perOp('list 1000', 48, () => space.list('/d1/d2'));
    }
    await space.close();
  } finally {
    await storage.close();
    await rm(root, { recursive: true, force: true });
  }
}

await main();
