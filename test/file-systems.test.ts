import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Session } from '../src/client/session.js';
import type { FileSystem } from '../src/fs/file-system.js';
import { LocalFileSystem } from '../src/fs/local-file-system.js';
import { RemoteFileSystem } from '../src/fs/remote-file-system.js';
import { FerryError } from '../src/protocol/errors.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/*
 * The same checks against both FileSystem implementations: the panes and the queue only ever
 * see the interface, so both sides must answer alike (same entries, same error codes).
 */

const ALICE = { name: 'alice', password: 'alice-password-1' };

let server: TestServer;
let session: Session;
let localRoot: string;

test.before(async () => {
  server = await startTestServer({ users: [ALICE] });
  session = await Session.connect({ url: server.url, user: ALICE.name, password: ALICE.password });
  localRoot = await mkdtemp(join(tmpdir(), 'ferry-fs-'));
});

test.after.always(async () => {
  await session?.close();
  await server?.close();
  if (localRoot) await rm(localRoot, { recursive: true, force: true });
});

/** Lays out the same small tree on disk under `dir`: what each side is then asked about. */
async function plant(dir: string): Promise<void> {
  await mkdir(join(dir, 'docs', 'deep'), { recursive: true });
  await writeFile(join(dir, 'docs', 'a.txt'), 'hello');
  await writeFile(join(dir, '.hidden'), 'secret-ish');
  await symlink('docs', join(dir, 'to-docs'));
  await symlink('docs/a.txt', join(dir, 'to-a'));
}

interface Side {
  name: string;
  make(): Promise<{ fs: FileSystem; root: string }>;
}

const sides: Side[] = [
  {
    name: 'local',
    async make() {
      const root = join(localRoot, `case-${Math.random().toString(36).slice(2)}`);
      await mkdir(root);
      await plant(root);
      return { fs: new LocalFileSystem({ home: root }), root };
    },
  },
  {
    name: 'remote',
    async make() {
      const name = `case-${Math.random().toString(36).slice(2)}`;
      await plant(join(server.root, 'homes', ALICE.name, name));
      return { fs: new RemoteFileSystem(session), root: `/${name}` };
    },
  },
];

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof FerryError) return error.code;
    throw error;
  }
  return 'no error';
}

for (const side of sides) {
  test(`${side.name}: list shows every entry, hidden ones too, with symlink targets`, async (t) => {
    const { fs, root } = await side.make();
    const entries = await fs.list(root);
    const byName = new Map(entries.map((e) => [e.name, e]));
    t.deepEqual([...byName.keys()].sort(), ['.hidden', 'docs', 'to-a', 'to-docs']);
    t.is(byName.get('docs')?.type, 'dir');
    t.is(byName.get('.hidden')?.type, 'file');
    t.is(byName.get('.hidden')?.size, 10);
    t.is(byName.get('to-docs')?.type, 'symlink');
    t.is(byName.get('to-docs')?.target, 'dir');
    t.is(byName.get('to-a')?.target, 'file');
    t.true(Number.isInteger(byName.get('.hidden')?.mtime));
    t.is((byName.get('.hidden')!.mode & 0o600), 0o600);
  });

  test(`${side.name}: stat follows symlinks and is null for nothing`, async (t) => {
    const { fs, root } = await side.make();
    const viaLink = await fs.stat(fs.join(root, 'to-a'));
    t.is(viaLink?.type, 'file');
    t.is(viaLink?.size, 5);
    t.is((await fs.stat(fs.join(root, 'docs')))?.type, 'dir');
    t.is(await fs.stat(fs.join(root, 'missing')), null);
    t.is(await fs.stat(fs.join(root, 'docs/a.txt/below-a-file')), null);
  });

  test(`${side.name}: mkdir, rename and remove answer with the shared error codes`, async (t) => {
    const { fs, root } = await side.make();
    const p = (name: string) => fs.join(root, name);
    t.is(await code(fs.mkdir(p('docs'))), 'EEXIST');
    t.is(await code(fs.mkdir(p('x/y/z'))), 'ENOENT');
    await fs.mkdir(p('x/y/z'), { parents: true });
    t.is((await fs.stat(p('x/y/z')))?.type, 'dir');
    await fs.mkdir(p('x/y/z'), { parents: true });

    t.is(await code(fs.list(p('docs/a.txt'))), 'ENOTDIR');
    t.is(await code(fs.list(p('nope'))), 'ENOENT');
    t.is(await code(fs.rename(p('docs/a.txt'), p('.hidden'))), 'EEXIST');
    await fs.rename(p('docs/a.txt'), p('.hidden'), { overwrite: true });
    t.is((await fs.stat(p('.hidden')))?.size, 5);
    t.is(await fs.stat(p('docs/a.txt')), null);
    t.is(await code(fs.rename(p('missing'), p('other'))), 'ENOENT');

    t.is(await code(fs.remove(p('x'))), 'ENOTEMPTY');
    await fs.remove(p('x'), { recursive: true });
    t.is(await fs.stat(p('x')), null);
    // A symlink to a directory goes; what it points at stays.
    await fs.remove(p('to-docs'));
    t.is((await fs.stat(p('docs')))?.type, 'dir');
    t.is(await code(fs.remove(p('missing'))), 'ENOENT');
  });

  test(`${side.name}: path helpers and quota`, async (t) => {
    const { fs } = await side.make();
    t.is(fs.basename(fs.join(fs.join(fs.home, 'a'), 'b.txt')), 'b.txt');
    t.is(fs.basename(fs.dirname(fs.join(fs.join(fs.home, 'a'), 'b.txt'))), 'a');
    const quota = await fs.quota();
    t.truthy(quota);
    t.true(quota!.used >= 0);
  });
}

test('labels say where the files are', (t) => {
  t.is(new LocalFileSystem().label, 'local');
  t.is(new LocalFileSystem().home, process.cwd());
  const remote = new RemoteFileSystem(session);
  t.is(remote.label, `alice@127.0.0.1:${server.port}`);
  t.is(remote.home, '/');
  t.is(remote.kind, 'remote');
});
