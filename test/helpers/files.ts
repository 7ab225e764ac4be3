import { createHash, randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';

const PIECE = 4 * 1024 * 1024;

/** SHA-256 of a file, read in 4 MiB pieces. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(PIECE);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/** Writes `size` random bytes in 4 MiB pieces (memory stays small); returns their SHA-256. */
export async function randomFile(path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(path, 'w');
  try {
    for (let done = 0; done < size; ) {
      const piece = randomBytes(Math.min(PIECE, size - done));
      hash.update(piece);
      await handle.write(piece);
      done += piece.length;
    }
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/** Overwrites one byte of a file in place with its complement. */
export async function flipByte(path: string, position: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    const one = Buffer.alloc(1);
    await handle.read(one, 0, 1, position);
    one[0] = ~one[0]! & 0xff;
    await handle.write(one, 0, 1, position);
  } finally {
    await handle.close();
  }
}
