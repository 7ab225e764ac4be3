import { createHash, randomFillSync } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';

const CHUNK = 16 * 1024 * 1024;

/** Writes `size` random bytes to `path` and returns their SHA-256 (hex). */
export async function writeRandomFile(path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(path, 'w');
  try {
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(size, 1)));
    for (let written = 0; written < size; ) {
      const n = Math.min(buffer.length, size - written);
      randomFillSync(buffer, 0, n);
      const view = buffer.subarray(0, n);
      hash.update(view);
      await handle.write(view, 0, n, written);
      written += n;
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/** A tree of `files` random files of `fileSize` bytes, spread over `dirs` subdirectories. */
export async function writeRandomTree(root: string, files: number, fileSize: number, dirs = 10): Promise<void> {
  for (let d = 0; d < dirs; d++) await mkdir(join(root, `d${d}`), { recursive: true });
  for (let i = 0; i < files; i++) {
    await writeRandomFile(join(root, `d${i % dirs}`, `f${i}.bin`), fileSize);
  }
}
