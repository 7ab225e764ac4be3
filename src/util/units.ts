import { FerryError } from '../protocol/errors.js';

/*
 * Human units for sizes and durations, shared by config files and CLI flags. Pure: no I/O.
 * Binary prefixes (KiB, MiB, …) and bare letters (K, M, G, …) are powers of 1024, as in dd and
 * df; SI prefixes (kB, MB, GB, …) are powers of 1000, so "1GB" means what a disk label means.
 */

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  k: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
  tb: 1000 ** 4,
  p: 1024 ** 5,
  pib: 1024 ** 5,
  pb: 1000 ** 5,
};

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

const NUMBER = String.raw`(\d+(?:\.\d+)?|\.\d+)`;
const SIZE_RE = new RegExp(`^${NUMBER}\\s*([a-z]*)$`, 'i');
const DURATION_PART_RE = new RegExp(`${NUMBER}\\s*([a-z]*)`, 'iy');

/**
 * Parses a byte count: a non-negative integer, or a string such as "512", "8MiB", "1.5 GiB",
 * "10MB", "64k". Fractions round down to whole bytes. Throws FerryError EINVAL on anything else
 * (negative, unknown unit, beyond 2^53 - 1).
 */
export function parseSize(value: number | string): number {
  if (typeof value === 'number') return checkWhole(value, String(value), 'size');
  const text = value.trim();
  const match = SIZE_RE.exec(text);
  if (!match) throw new FerryError('EINVAL', `not a size: "${value}" (expected e.g. 512, 64KiB, 8MiB, 1.5GiB, 10GB)`);
  const unit = (match[2] ?? '').toLowerCase();
  const factor = unit === '' ? 1 : SIZE_UNITS[unit];
  if (factor === undefined) {
    throw new FerryError('EINVAL', `unknown size unit "${match[2]}" in "${value}" (use B, KiB, MiB, GiB, TiB, kB, MB, GB, TB)`);
  }
  return checkWhole(Math.floor(Number(match[1]) * factor), value, 'size');
}

/**
 * Parses a duration into milliseconds: a non-negative number of ms, or a string such as "500",
 * "500ms", "30s", "15m", "24h", "7d", "1h30m". A bare number in a string is milliseconds too.
 * Fractions round down to whole ms. Throws FerryError EINVAL on anything else.
 */
export function parseDuration(value: number | string): number {
  if (typeof value === 'number') return checkWhole(value, String(value), 'duration');
  const text = value.trim();
  if (text === '') throw new FerryError('EINVAL', 'not a duration: empty string');
  let total = 0;
  DURATION_PART_RE.lastIndex = 0;
  while (DURATION_PART_RE.lastIndex < text.length) {
    const match = DURATION_PART_RE.exec(text);
    if (!match) throw new FerryError('EINVAL', `not a duration: "${value}" (expected e.g. 500ms, 30s, 15m, 24h, 7d)`);
    const unit = (match[2] ?? '').toLowerCase();
    const factor = unit === '' ? 1 : DURATION_UNITS[unit];
    if (factor === undefined) {
      throw new FerryError('EINVAL', `unknown duration unit "${match[2]}" in "${value}" (use ms, s, m, h, d, w)`);
    }
    // A bare number is only allowed alone: "1h30" is more likely a typo than 1h + 30 ms.
    if (unit === '' && match[0].length !== text.length) {
      throw new FerryError('EINVAL', `missing unit after ${match[1]} in "${value}"`);
    }
    total += Number(match[1]) * factor;
    while (text[DURATION_PART_RE.lastIndex] === ' ') DURATION_PART_RE.lastIndex++;
  }
  return checkWhole(Math.floor(total), value, 'duration');
}

function checkWhole(n: number, original: string, what: string): number {
  if (!Number.isFinite(n) || n < 0) throw new FerryError('EINVAL', `not a ${what}: ${original} (must be ≥ 0)`);
  if (!Number.isSafeInteger(Math.floor(n))) throw new FerryError('EINVAL', `${what} too large: ${original}`);
  if (!Number.isInteger(n)) throw new FerryError('EINVAL', `not a whole ${what}: ${original}`);
  return n;
}

/** Formats a byte count for people: "0 B", "512 B", "1.5 KiB", "8.0 MiB", "1.2 GiB". */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let i = 0;
  while (Math.abs(value) >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return i === 0 ? `${value} B` : `${value.toFixed(1)} ${units[i]}`;
}
