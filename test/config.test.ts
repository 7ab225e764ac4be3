import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { FerryError } from '../src/protocol/errors.js';
import { loadServerConfig } from '../server/config.js';
import { DEFAULT_SERVER_OPTIONS } from '../server/options.js';

async function withConfig(content: unknown, run: (file: string, dir: string) => void | Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-config-'));
  try {
    const file = join(dir, 'ferry.json');
    await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
    await run(file, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('defaults apply, then the file, then the flags', async (t) => {
  await withConfig({ root: 'data', port: 8000, maxSessions: 10, syncEveryBytes: '4MiB', partialTtlMs: '2d', idleTimeoutMs: 90000 }, (file, dir) => {
    const options = loadServerConfig(file, { port: 9000, maxSessions: undefined });
    t.is(options.root, join(dir, 'data'), 'a relative root is relative to the config file');
    t.is(options.port, 9000, 'a flag beats the file');
    t.is(options.maxSessions, 10, 'an undefined flag does not erase the file value');
    t.is(options.syncEveryBytes, 4 * 1024 * 1024);
    t.is(options.partialTtlMs, 2 * 86_400_000);
    t.is(options.idleTimeoutMs, 90_000);
    t.is(options.host, DEFAULT_SERVER_OPTIONS.host);
    t.is(options.queueTimeoutMs, DEFAULT_SERVER_OPTIONS.queueTimeoutMs);
  });
});

test('without a file the root comes from the flags, resolved against the cwd', (t) => {
  const options = loadServerConfig(undefined, { root: 'somewhere' });
  t.is(options.root, join(process.cwd(), 'somewhere'));
  t.is(options.maxSessions, DEFAULT_SERVER_OPTIONS.maxSessions);
});

test('a missing root is a clear error', (t) => {
  const error = t.throws(() => loadServerConfig(undefined, {}), { instanceOf: FerryError });
  t.is(error?.code, 'EINVAL');
  t.regex(error!.message, /--root/);
});

test('unknown keys are refused and the known ones listed', async (t) => {
  await withConfig({ root: '/tmp/x', maxSesions: 3 }, (file) => {
    const error = t.throws(() => loadServerConfig(file), { instanceOf: FerryError });
    t.regex(error!.message, /unknown key "maxSesions"/);
    t.regex(error!.message, /maxSessions/);
    t.true(error!.message.includes(file));
  });
});

test('bad values name the key', async (t) => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ port: 70000 }, /"port".*port number/],
    [{ port: '7070' }, /"port"/],
    [{ maxSessions: 0 }, /"maxSessions".*at least 1/],
    [{ maxSessions: 2.5 }, /"maxSessions".*whole number/],
    [{ syncEveryBytes: '8 lots' }, /"syncEveryBytes".*unknown size unit/],
    [{ idleTimeoutMs: '5 fortnights' }, /"idleTimeoutMs".*unknown duration unit/],
    [{ host: '' }, /"host"/],
    [{ queueTimeoutMs: true }, /"queueTimeoutMs".*duration/],
  ];
  for (const [content, pattern] of cases) {
    await withConfig({ root: '/tmp/x', ...content }, (file) => {
      const error = t.throws(() => loadServerConfig(file), { instanceOf: FerryError }, JSON.stringify(content));
      t.is(error?.code, 'EINVAL');
      t.regex(error!.message, pattern);
    });
  }
});

test('a file that is not a JSON object, or not there, is a clear error', async (t) => {
  await withConfig('{"root": ', (file) => {
    t.regex(t.throws(() => loadServerConfig(file))!.message, /not valid JSON/);
  });
  await withConfig([1, 2], (file) => {
    t.regex(t.throws(() => loadServerConfig(file))!.message, /JSON object/);
  });
  const missing = t.throws(() => loadServerConfig('/nonexistent/ferry.json'), { instanceOf: FerryError });
  t.is(missing?.code, 'ENOENT');
});

test('flag values are checked like file values', (t) => {
  const error = t.throws(() => loadServerConfig(undefined, { root: '/tmp/x', maxSessions: -1 }), { instanceOf: FerryError });
  t.regex(error!.message, /"maxSessions" \(option\)/);
});
