import test from 'ava';
import { FerryError } from '../src/protocol/errors.js';
import { formatSize, parseDuration, parseSize } from '../src/util/units.js';

test('parseSize reads plain numbers, binary and SI units, any case, with or without a space', (t) => {
  const cases: Array<[string | number, number]> = [
    [0, 0],
    [4096, 4096],
    ['0', 0],
    ['512', 512],
    ['512B', 512],
    ['64k', 64 * 1024],
    ['64KiB', 64 * 1024],
    ['64kB', 64_000],
    ['8MiB', 8 * 1024 * 1024],
    ['8 MiB', 8 * 1024 * 1024],
    ['8mib', 8 * 1024 * 1024],
    ['10MB', 10_000_000],
    ['1.5GiB', 1.5 * 1024 ** 3],
    ['1G', 1024 ** 3],
    ['2TiB', 2 * 1024 ** 4],
    ['1TB', 1e12],
    ['0.5KiB', 512],
    ['1.3B', 1],
    [' 7 ', 7],
  ];
  for (const [input, expected] of cases) t.is(parseSize(input), expected, String(input));
});

test('parseSize refuses nonsense with EINVAL and a message that names the input', (t) => {
  for (const input of ['', 'MiB', '-1', '1.2.3', '10 XB', '5 mibs', '1e3', 'ten', -5, 1.5, Number.NaN, Infinity, '9999999PiB']) {
    const error = t.throws(() => parseSize(input as string | number), { instanceOf: FerryError }, String(input));
    t.is(error?.code, 'EINVAL');
  }
  t.regex(t.throws(() => parseSize('10 XB'))!.message, /unknown size unit "XB"/);
});

test('parseDuration reads ms numbers and unit strings, including compound ones', (t) => {
  const cases: Array<[string | number, number]> = [
    [0, 0],
    [1500, 1500],
    ['250', 250],
    ['250ms', 250],
    ['30s', 30_000],
    ['1.5s', 1500],
    ['15m', 15 * 60_000],
    ['15min', 15 * 60_000],
    ['24h', 24 * 3_600_000],
    ['7d', 7 * 86_400_000],
    ['1w', 7 * 86_400_000],
    ['1h30m', 5_400_000],
    ['1h 30m 15s', 5_415_000],
    ['2H', 7_200_000],
  ];
  for (const [input, expected] of cases) t.is(parseDuration(input), expected, String(input));
});

test('parseDuration refuses nonsense with EINVAL', (t) => {
  for (const input of ['', 'h', '-1s', '10 years', '1h30', 's30', '1..5s', -1, 0.5, Number.POSITIVE_INFINITY]) {
    const error = t.throws(() => parseDuration(input as string | number), { instanceOf: FerryError }, String(input));
    t.is(error?.code, 'EINVAL');
  }
  t.regex(t.throws(() => parseDuration('1h30'))!.message, /missing unit/);
});

test('formatSize picks the largest binary unit below the value', (t) => {
  t.is(formatSize(0), '0 B');
  t.is(formatSize(1023), '1023 B');
  t.is(formatSize(1024), '1.0 KiB');
  t.is(formatSize(1536), '1.5 KiB');
  t.is(formatSize(8 * 1024 ** 2), '8.0 MiB');
  t.is(formatSize(3 * 1024 ** 3), '3.0 GiB');
});

test('a formatted size parses back to within its rounding', (t) => {
  for (const n of [1, 1000, 4096, 123_456_789, 5 * 1024 ** 4]) {
    const back = parseSize(formatSize(n).replace(' ', ''));
    t.true(Math.abs(back - n) <= n * 0.05 + 1, `${n} → ${formatSize(n)} → ${back}`);
  }
});
