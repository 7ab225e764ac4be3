import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * scrypt parameters for new hashes: N = 2^15, r = 8, p = 1 (32 MiB, OWASP's minimum for
 * scrypt), a 32-byte key and a 16-byte random salt. The parameters are stored in each hash, so
 * raising them later still verifies old hashes.
 */
export const SCRYPT = { logN: 15, r: 8, p: 1, keyBytes: 32, saltBytes: 16 } as const;

/** Room for N = 2^15 with r = 8 (32 MiB) and a margin; raised per hash for bigger stored parameters. */
const MAX_MEMORY = 64 * 1024 * 1024;
/** Bounds on parameters read back from the database, so a bad row cannot ask for gigabytes. */
const LIMITS = { logN: [10, 18], r: [1, 16], p: [1, 16] } as const;

/**
 * A hash of a password nobody has. Checking an unknown user's password against it costs the
 * same as checking a real one, so response times do not tell whether a name exists.
 */
export const DUMMY_HASH = 'scrypt$15$8$1$wU+97nMThaI6lgR1pdbElw==$qVHePrJr98TXVnGvSDe+azx3RFbiYKCtHk/TlwDDibo=';

function derive(password: string, salt: Buffer, keyBytes: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // NFC so that the same typed password matches whichever way a terminal composed it.
    scrypt(password.normalize('NFC'), salt, keyBytes, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** Hashes `password` as `scrypt$15$8$1$<salt b64>$<hash b64>` (async: runs on the libuv pool). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SCRYPT.saltBytes);
  const key = await derive(password, salt, SCRYPT.keyBytes, {
    N: 2 ** SCRYPT.logN,
    r: SCRYPT.r,
    p: SCRYPT.p,
    maxmem: MAX_MEMORY,
  });
  return ['scrypt', SCRYPT.logN, SCRYPT.r, SCRYPT.p, salt.toString('base64'), key.toString('base64')].join('$');
}

interface ParsedHash {
  logN: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

function parseHash(stored: string): ParsedHash | null {
  const fields = stored.split('$');
  if (fields.length !== 6 || fields[0] !== 'scrypt') return null;
  const [logN, r, p] = fields.slice(1, 4).map((field) => (/^\d{1,3}$/.test(field) ? Number(field) : NaN)) as [number, number, number];
  const inRange = (value: number, [low, high]: readonly [number, number]) => Number.isInteger(value) && value >= low && value <= high;
  if (!inRange(logN, LIMITS.logN) || !inRange(r, LIMITS.r) || !inRange(p, LIMITS.p)) return null;
  const salt = Buffer.from(fields[4]!, 'base64');
  const key = Buffer.from(fields[5]!, 'base64');
  if (salt.length < 8 || key.length < 16 || key.length > 64) return null;
  return { logN, r, p, salt, key };
}

/**
 * True when `password` matches the stored hash, compared in constant time. A malformed stored
 * hash never matches (and still costs one derivation, so it is not a timing tell).
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  const { logN, r, p, salt, key } = parsed ?? parseHash(DUMMY_HASH)!;
  const N = 2 ** logN;
  const derived = await derive(password, salt, key.length, { N, r, p, maxmem: Math.max(MAX_MEMORY, 256 * N * r) });
  return parsed !== null && timingSafeEqual(derived, key);
}
