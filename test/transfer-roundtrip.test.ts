import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { downloadFile } from '../src/client/download.js';
import { Session } from '../src/client/session.js';
import { uploadFile } from '../src/client/upload.js';
import { LocalFileSystem } from '../src/fs/local-file-system.js';
import { RemoteFileSystem } from '../src/fs/remote-file-system.js';
import type { FileSystem } from '../src/fs/file-system.js';
import { FerryError } from '../src/protocol/errors.js';
import { LIMITS } from '../src/protocol/limits.js';
import { randomFile, sha256File } from './helpers/files.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const ALICE = { name: 'alice', password: 'alice-password-1' };
const MiB = 1024 * 1024;

let server: TestServer;
let session: Session;
let work: string;

test.before(async () => {
  server = await startTestServer({ users: [ALICE] });
  session = await Session.connect({ url: server.url, user: ALICE.name, password: ALICE.password });
  work = await mkdtemp(join(tmpdir(), 'ferry-roundtrip-'));
});

test.after.always(async () => {
  await session?.close();
  await server?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

function serverPath(...parts: string[]): string {
  return join(server.root, 'homes', ALICE.name, ...parts);
}

const SIZES: Array<[string, number]> = [
  ['0 bytes', 0],
  ['1 byte', 1],
  ['exactly one frame', LIMITS.chunkSize],
  ['one frame + 1', LIMITS.chunkSize + 1],
  ['100 MiB', 100 * MiB],
];

for (const [title, size] of SIZES) {
  test.serial(`${title}: upload and download are byte-identical`, async (t) => {
    const name = `file-${size}.bin`;
    const source = join(work, name);
    const expected = await randomFile(source, size);
    const progress: number[] = [];

    const up = await uploadFile(session, source, `/${name}`, { onProgress: (p) => progress.push(p.done) });
    t.deepEqual(up, { size, sha256: expected, resumedFrom: 0 });
    t.is(await sha256File(serverPath(name)), expected);
    t.is(Math.round((await stat(serverPath(name))).mtimeMs), Math.floor((await stat(source)).mtimeMs));
    t.is(progress.at(-1), size);
    t.true(progress.every((done, i) => i === 0 || done >= progress[i - 1]!), 'upload progress never goes back');

    const target = join(work, `${name}.back`);
    const down = await downloadFile(session, `/${name}`, target);
    t.deepEqual(down, { size, sha256: expected, resumedFrom: 0 });
    t.is(await sha256File(target), expected);
    t.is((await stat(target)).size, size);
    t.is(Math.round((await stat(target)).mtimeMs), Math.floor((await stat(source)).mtimeMs), 'the remote mtime is kept');
    // Nothing left behind next to the destination.
    t.deepEqual((await readdir(work)).filter((n) => n.includes('ferry-part')), []);
    await rm(source);
    await rm(target);
  });
}

test.serial('an existing destination is EEXIST unless overwrite, on both sides', async (t) => {
  const source = join(work, 'exists.txt');
  await writeFile(source, 'first');
  await uploadFile(session, source, '/exists.txt');
  const again = await t.throwsAsync(uploadFile(session, source, '/exists.txt'));
  t.is((again as FerryError).code, 'EEXIST');

  await writeFile(source, 'second version');
  await uploadFile(session, source, '/exists.txt', { overwrite: true });
  t.is(await readFile(serverPath('exists.txt'), 'utf8'), 'second version');

  const target = join(work, 'exists-local.txt');
  await writeFile(target, 'keep me');
  const refused = await t.throwsAsync(downloadFile(session, '/exists.txt', target));
  t.is((refused as FerryError).code, 'EEXIST');
  t.is(await readFile(target, 'utf8'), 'keep me');
  await downloadFile(session, '/exists.txt', target, { overwrite: true });
  t.is(await readFile(target, 'utf8'), 'second version');
});

test.serial('adopt: a shorter destination is taken as the partial when its prefix matches', async (t) => {
  const content = randomBytes(3 * MiB + 123);
  await writeFile(serverPath('adopt.bin'), content);
  const target = join(work, 'adopt.bin');
  await writeFile(target, content.subarray(0, 2 * MiB + 5));
  const down = await downloadFile(session, '/adopt.bin', target, { adopt: true });
  t.is(down.resumedFrom, 2 * MiB + 5);
  t.true((await readFile(target)).equals(content));

  // Upload side: the server takes its shorter file as the partial after the prefix check.
  const source = join(work, 'adopt-up.bin');
  await writeFile(source, content);
  await writeFile(serverPath('adopt-up.bin'), content.subarray(0, MiB + 17));
  const up = await uploadFile(session, source, '/adopt-up.bin', { adopt: true, overwrite: true });
  t.is(up.resumedFrom, MiB + 17);
  t.true((await readFile(serverPath('adopt-up.bin'))).equals(content));
});

test.serial('adopt with a prefix that differs: EEXIST without overwrite, a full replacement with it', async (t) => {
  const content = randomBytes(2 * MiB);
  await writeFile(serverPath('adopt-bad.bin'), content);
  const target = join(work, 'adopt-bad.bin');
  const stranger = randomBytes(MiB);
  await writeFile(target, stranger);
  const refused = await t.throwsAsync(downloadFile(session, '/adopt-bad.bin', target, { adopt: true }));
  t.is((refused as FerryError).code, 'EEXIST');
  t.true((await readFile(target)).equals(stranger), 'the destination is untouched');

  const restarts: string[] = [];
  const down = await downloadFile(session, '/adopt-bad.bin', target, { adopt: true, overwrite: true, onRestart: (r) => restarts.push(r.code) });
  t.is(down.resumedFrom, 0);
  t.deepEqual(restarts, ['EINTEGRITY']);
  t.true((await readFile(target)).equals(content));
});

test.serial('a missing remote file is ENOENT and leaves nothing behind', async (t) => {
  const target = join(work, 'never.bin');
  const error = await t.throwsAsync(downloadFile(session, '/does/not/exist', target));
  t.is((error as FerryError).code, 'ENOENT');
  t.deepEqual((await readdir(work)).filter((n) => n.includes('never')), []);
  const missing = await t.throwsAsync(uploadFile(session, join(work, 'no-such-local'), '/x'));
  t.is((missing as FerryError).code, 'ENOENT');
});

/** Every file under `root` of `fs`, as paths relative to it, with their SHA-256 (via `hashOf`). */
async function walk(fs: FileSystem, root: string, visit: (path: string, relative: string, isDir: boolean) => Promise<void>, relative = ''): Promise<void> {
  for (const entry of await fs.list(root)) {
    const path = fs.join(root, entry.name);
    const rel = relative === '' ? entry.name : `${relative}/${entry.name}`;
    const isDir = entry.type === 'dir';
    await visit(path, rel, isDir);
    if (isDir) await walk(fs, path, visit, rel);
  }
}

/** Runs `jobs` with at most `limit` at once. */
async function pool(jobs: Array<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < jobs.length) await jobs[next++]!();
    }),
  );
}

test.serial('a tree of 500 small files in nested dirs goes up and comes back identical', async (t) => {
  const sourceRoot = join(work, 'tree-src');
  const expected = new Map<string, string>();
  for (let a = 0; a < 5; a++) {
    for (let b = 0; b < 10; b++) {
      const dir = join(sourceRoot, `top-${a}`, `mid ${b}`, ...(b % 3 === 0 ? ['deeper'] : []));
      await mkdir(dir, { recursive: true });
      for (let c = 0; c < 10; c++) {
        const data = randomBytes((a * 977 + b * 131 + c * 17) % 9000);
        const name = c === 0 ? `.hidden-${c}` : `file-${c}.dat`;
        await writeFile(join(dir, name), data);
        const relative = join(`top-${a}`, `mid ${b}`, ...(b % 3 === 0 ? ['deeper'] : []), name);
        expected.set(relative, createHash('sha256').update(data).digest('hex'));
      }
    }
  }
  t.is(expected.size, 500);

  const local = new LocalFileSystem({ home: sourceRoot });
  const remote = new RemoteFileSystem(session);
  await remote.mkdir('/tree', { parents: true });
  const uploads: Array<() => Promise<void>> = [];
  await walk(local, sourceRoot, async (path, relative, isDir) => {
    const target = remote.join('/tree', relative);
    if (isDir) await remote.mkdir(target);
    else uploads.push(async () => void (await uploadFile(session, path, target)));
  });
  await pool(uploads, 4);

  const backRoot = join(work, 'tree-back');
  await mkdir(backRoot);
  const downloads: Array<() => Promise<void>> = [];
  await walk(remote, '/tree', async (path, relative, isDir) => {
    const target = join(backRoot, relative);
    if (isDir) await local.mkdir(target);
    else downloads.push(async () => void (await downloadFile(session, path, target)));
  });
  await pool(downloads, 4);

  const seen = new Map<string, string>();
  await walk(new LocalFileSystem({ home: backRoot }), backRoot, async (path, relative, isDir) => {
    if (!isDir) seen.set(relative, await sha256File(path));
  });
  t.is(seen.size, 500);
  t.deepEqual(seen, expected);
});
