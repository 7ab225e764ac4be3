import test from 'ava';
import { createHash } from 'node:crypto';
import { link, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FerryError } from '../src/protocol/index.js';
import { splitWirePath } from '../server/storage/jail.js';
import { LocalStorage } from '../server/storage/local-storage.js';
import type { LocalUserSpace } from '../server/storage/local-user-space.js';
import type { UploadOptions } from '../server/storage/storage.js';

/*
 * Every attack runs against one shared fixture that the attacks must leave exactly as it was:
 * a home for alice full of planted links, a neighbour (bob) with a secret, and a directory
 * outside the data root. Tests that change things build their own fixture.
 */

interface Fixture {
  root: string;
  outside: string;
  home: string;
  storage: LocalStorage;
  alice: LocalUserSpace;
}

const SECRET = 'the secret outside the home\n';

async function makeFixture(): Promise<Fixture> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'ferry-jail-'));
  const outside = await mkdtemp(path.join(os.tmpdir(), 'ferry-jail-outside-'));
  await writeFile(path.join(outside, 'secret.txt'), SECRET);
  await mkdir(path.join(outside, 'subdir'));
  await writeFile(path.join(outside, 'subdir', 'deeper.txt'), SECRET);

  const storage = new LocalStorage(root);
  const alice = storage.userSpace('alice', () => 0);
  const bob = storage.userSpace('bob', () => 0);
  await alice.mkdir('/docs/sub', { parents: true });
  await bob.mkdir('/', { parents: true });
  const home = path.join(root, 'homes', 'alice');
  await writeFile(path.join(home, 'docs', 'a.txt'), 'inside a\n');
  await writeFile(path.join(root, 'homes', 'bob', 'secret.txt'), SECRET);

  const plant = (target: string, name: string) => symlink(target, path.join(home, name));
  await plant('/etc', 'etc-link');
  await plant('/etc/passwd', 'passwd-link');
  await plant(outside, 'out');
  await plant(path.join(outside, 'secret.txt'), 'outfile');
  await plant('chain2', 'chain1');
  await plant('chain3', 'chain2');
  await plant(outside, 'chain3');
  await plant(path.join(outside, 'not-yet'), 'dangling');
  await plant('..', 'up');
  await plant('../../..', 'uprel');
  await plant('loop2', 'loop1');
  await plant('loop1', 'loop2');
  await plant('../../../..', 'docs/sub/deep');
  await plant(path.join(home, '..', 'bob'), 'other-home');
  await plant('docs/../..', 'dotdot-in-target');
  // Allowed: links that stay inside.
  await plant('docs', 'docs-link');
  await plant('docs/a.txt', 'a-link');
  await plant(path.join(home, 'docs'), 'abs-inside');
  await plant('docs/sub/../a.txt', 'relative-inside');
  await plant('docs/missing', 'dangling-inside');
  return { root, outside, home, storage, alice };
}

async function destroyFixture(fixture: Fixture): Promise<void> {
  await fixture.storage.close();
  await rm(fixture.root, { recursive: true, force: true });
  await rm(fixture.outside, { recursive: true, force: true });
}

/** Everything an attack could touch outside alice's home: file contents, link targets, mtimes. */
async function snapshotOutside(fixture: Fixture): Promise<string> {
  const lines: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const full = path.join(dir, name);
      const st = await lstat(full);
      if (st.isDirectory()) {
        lines.push(`${full}/ ${st.mtimeMs}`);
        await walk(full);
      } else if (st.isSymbolicLink()) {
        lines.push(`${full} -> ${await readlink(full)}`);
      } else {
        lines.push(`${full} ${st.size} ${st.mtimeMs} ${createHash('sha256').update(await readFile(full)).digest('hex')}`);
      }
    }
  };
  await walk(fixture.outside);
  await walk(path.join(fixture.root, 'homes', 'bob'));
  const passwd = await stat('/etc/passwd');
  lines.push(`/etc/passwd ${passwd.size} ${passwd.mtimeMs}`);
  lines.push(`/etc ${(await readdir('/etc')).length}`);
  // Refused uploads must not leave partials behind either.
  lines.push(`partials: ${(await readdir(path.join(fixture.root, 'partials', 'alice')).catch(() => [])).join(',')}`);
  // Nor change alice's planted links.
  for (const name of (await readdir(fixture.home)).sort()) {
    const full = path.join(fixture.home, name);
    const st = await lstat(full);
    lines.push(st.isSymbolicLink() ? `home/${name} -> ${await readlink(full)}` : `home/${name}`);
  }
  return lines.join('\n');
}

const upload = (overrides: Partial<UploadOptions> = {}): UploadOptions => ({
  size: 4,
  mtime: 1_700_000_000_000,
  overwrite: false,
  restart: false,
  adopt: false,
  ...overrides,
});

/** Reads a whole file through the storage: what an attacker would get back. */
async function readThrough(space: LocalUserSpace, wire: string): Promise<string> {
  const reader = await space.openRead(wire);
  try {
    const buffer = Buffer.alloc(reader.size);
    await reader.read(buffer, 0, reader.size, 0);
    return buffer.toString();
  } finally {
    await reader.close();
  }
}

type Attack = [name: string, run: (alice: LocalUserSpace) => Promise<unknown>];

const LONG_ESCAPE = `${'a/'.repeat(100)}${'../'.repeat(101)}etc/passwd`;

/** Each must fail with EACCES. */
const ATTACKS: Attack[] = [
  ['list ..', (a) => a.list('..')],
  ['list /..', (a) => a.list('/..')],
  ['list /../', (a) => a.list('/../')],
  ['stat ../bob/secret.txt', (a) => a.stat('../bob/secret.txt')],
  ['stat a/../../bob/secret.txt', (a) => a.stat('a/../../bob/secret.txt')],
  ['stat docs/../../bob (through a real dir)', (a) => a.stat('docs/../../bob')],
  ['stat ./../alice (leaves and comes back)', (a) => a.stat('./../alice')],
  ['openRead /../../../../etc/passwd', (a) => readThrough(a, '/../../../../etc/passwd')],
  ['hash ..//..//etc/passwd', (a) => a.hash('..//..//etc/passwd')],
  ['list docs/sub/../../..', (a) => a.list('docs/sub/../../..')],
  ['stat with a NUL byte', (a) => a.stat('docs/a.txt\0.jpg')],
  ['openUpload with a NUL byte', (a) => a.openUpload('new\0.txt', upload())],
  ['mkdir with a NUL byte', (a) => a.mkdir('\0', { parents: true })],
  ['a long escape that normalises above the home', (a) => a.stat(LONG_ESCAPE)],
  ['a very long run of ../', (a) => a.stat('../'.repeat(2000))],
  ['list a symlink planted to /etc', (a) => a.list('etc-link')],
  ['openRead through the /etc link', (a) => readThrough(a, 'etc-link/passwd')],
  ['openRead a symlink to /etc/passwd', (a) => readThrough(a, 'passwd-link')],
  ['stat a symlink to /etc/passwd', (a) => a.stat('passwd-link')],
  ['list a symlink to a directory outside', (a) => a.list('out')],
  ['openRead a path through a link to a directory outside', (a) => readThrough(a, 'out/secret.txt')],
  ['list deeper through a link outside', (a) => a.list('out/subdir')],
  ['hash a symlink to a file outside', (a) => a.hash('outfile')],
  ['openRead through a symlink chain', (a) => readThrough(a, 'chain1/secret.txt')],
  ['stat the head of a symlink chain', (a) => a.stat('chain1')],
  ['openUpload onto a dangling link that points outside', (a) => a.openUpload('dangling', upload())],
  ['openUpload with overwrite onto a link to a file outside', (a) => a.openUpload('outfile', upload({ overwrite: true }))],
  ['openUpload under a symlinked parent outside', (a) => a.openUpload('out/new.txt', upload())],
  ['openUpload through a link to ..', (a) => a.openUpload('up/bob/evil.txt', upload())],
  ['openUpload ../bob/evil.txt', (a) => a.openUpload('../bob/evil.txt', upload())],
  ['mkdir under a link outside', (a) => a.mkdir('out/newdir', { parents: false })],
  ['mkdir -p under a link outside', (a) => a.mkdir('out/x/y/z', { parents: true })],
  ['mkdir on a dangling link outside', (a) => a.mkdir('dangling', { parents: true })],
  ['rename into a symlinked dir outside', (a) => a.rename('docs/a.txt', 'out/a.txt', { overwrite: true })],
  ['rename out of a symlinked dir outside', (a) => a.rename('out/secret.txt', 'stolen.txt', { overwrite: false })],
  ['rename to ..', (a) => a.rename('docs', '..', { overwrite: true })],
  ['remove through a link outside', (a) => a.remove('out/secret.txt', { recursive: false })],
  ['remove recursively through a chain', (a) => a.remove('chain1/subdir', { recursive: true })],
  ['list a link to ..', (a) => a.list('up')],
  ['stat through a relative link far up', (a) => a.stat('uprel/etc/passwd')],
  ['openRead a symlink loop', (a) => readThrough(a, 'loop1')],
  ['list a link in a subdirectory that climbs out', (a) => a.list('docs/sub/deep')],
  ['openRead through an absolute link into another home', (a) => readThrough(a, 'other-home/secret.txt')],
  ['list a link whose target has .. that climbs out', (a) => a.list('dotdot-in-target')],
  ['remove the home', (a) => a.remove('/', { recursive: true })],
  ['remove the home spelled .', (a) => a.remove('.', { recursive: true })],
  ['rename the home', (a) => a.rename('/', 'elsewhere', { overwrite: false })],
  ['rename onto the home', (a) => a.rename('docs', '/', { overwrite: true })],
];

/** Chroot semantics: these name places inside the home, which do not exist. Must be ENOENT. */
const INSIDE_NOT_FOUND: Attack[] = [
  ['stat /etc/passwd', (a) => a.stat('/etc/passwd')],
  ['openRead /etc/shadow', (a) => readThrough(a, '/etc/shadow')],
  ['list /root', (a) => a.list('/root')],
  ['stat ....//....//etc/passwd', (a) => a.stat('....//....//etc/passwd')],
  ['stat ..\\..\\etc\\passwd (backslashes are plain characters)', (a) => a.stat('..\\..\\etc\\passwd')],
  ['stat %2e%2e/%2e%2e/etc/passwd', (a) => a.stat('%2e%2e/%2e%2e/etc/passwd')],
  ['stat fullwidth dots', (a) => a.stat('\uff0e\uff0e/\uff0e\uff0e/etc/passwd')],
  ['stat /./././etc/passwd', (a) => a.stat('/./././etc/passwd')],
  ['hash ...', (a) => a.hash('...')],
  ['openRead through a dangling link inside', (a) => readThrough(a, 'dangling-inside')],
];

let fixture: Fixture;
let before: string;

test.before(async () => {
  fixture = await makeFixture();
  before = await snapshotOutside(fixture);
});

test.after.always(async () => {
  if (fixture) await destroyFixture(fixture);
});

test('the attack table is big enough', (t) => {
  t.true(ATTACKS.length >= 20);
});

for (const [name, run] of ATTACKS) {
  test(`refused with EACCES: ${name}`, async (t) => {
    const error = await t.throwsAsync(run(fixture.alice), { instanceOf: FerryError });
    t.is(error?.code, 'EACCES', error?.message);
    t.false(error?.message.includes(fixture.root), 'the message does not reveal where homes live');
    t.is(await snapshotOutside(fixture), before, 'nothing outside the home changed');
  });
}

for (const [name, run] of INSIDE_NOT_FOUND) {
  test(`stays inside the home (ENOENT): ${name}`, async (t) => {
    const error = await t.throwsAsync(run(fixture.alice), { instanceOf: FerryError });
    t.is(error?.code, 'ENOENT', error?.message);
    t.is(await snapshotOutside(fixture), before);
  });
}

test('refused uploads leave no file outside', async (t) => {
  await t.throwsAsync(fixture.alice.openUpload('dangling', upload()), { code: 'EACCES' });
  await t.throwsAsync(lstat(path.join(fixture.outside, 'not-yet')), { code: 'ENOENT' });
  await t.throwsAsync(lstat(path.join(fixture.outside, 'new.txt')), { code: 'ENOENT' });
  await t.throwsAsync(lstat(path.join(fixture.root, 'homes', 'bob', 'evil.txt')), { code: 'ENOENT' });
});

test('a listing shows outside links as bare links and inside links with their target', async (t) => {
  const { entries } = await fixture.alice.list('/');
  const byName = new Map(entries.map((entry) => [entry.name, entry]));
  for (const name of ['etc-link', 'passwd-link', 'out', 'outfile', 'chain1', 'dangling', 'up', 'loop1', 'other-home']) {
    t.is(byName.get(name)?.type, 'symlink', name);
    t.is(byName.get(name)?.target, undefined, `${name} has no target`);
  }
  t.is(byName.get('docs-link')?.target, 'dir');
  t.is(byName.get('a-link')?.target, 'file');
  t.is(byName.get('a-link')?.size, 'inside a\n'.length);
  t.is(byName.get('abs-inside')?.target, 'dir');
  t.is(byName.get('dangling-inside')?.target, undefined);
});

test('allowed: symlinks that stay inside the home, and a/../b', async (t) => {
  const { alice } = fixture;
  t.deepEqual((await alice.list('docs-link')).entries.map((entry) => entry.name), ['a.txt', 'sub']);
  t.deepEqual((await alice.list('abs-inside')).entries.map((entry) => entry.name), ['a.txt', 'sub']);
  t.is(await readThrough(alice, 'a-link'), 'inside a\n');
  t.is(await readThrough(alice, 'relative-inside'), 'inside a\n');
  t.is(await readThrough(alice, 'docs-link/a.txt'), 'inside a\n');
  t.is(await readThrough(alice, 'docs/../docs/./a.txt'), 'inside a\n');
  t.is(await readThrough(alice, 'nothing/../docs/a.txt'), 'inside a\n');
  t.is((await alice.stat('docs-link')).type, 'dir');
  t.is((await alice.stat('/')).type, 'dir');
  t.is((await alice.hash('a-link')).sha256, createHash('sha256').update('inside a\n').digest('hex'));
});

test('splitWirePath: chroot semantics and limits', (t) => {
  t.deepEqual(splitWirePath('/'), []);
  t.deepEqual(splitWirePath(''), []);
  t.deepEqual(splitWirePath('/a/b'), ['a', 'b']);
  t.deepEqual(splitWirePath('a//b/./c/'), ['a', 'b', 'c']);
  t.deepEqual(splitWirePath('a/../b'), ['b']);
  t.deepEqual(splitWirePath('a\\b'), ['a\\b']);
  t.is(t.throws(() => splitWirePath('..'))?.message.includes('leaves the home'), true);
  t.is((t.throws(() => splitWirePath('x'.repeat(256))) as FerryError).code, 'ELIMIT');
  t.deepEqual(splitWirePath('x'.repeat(255)), ['x'.repeat(255)]);
  t.is((t.throws(() => splitWirePath(`${'abcdefg/'.repeat(513)}`)) as FerryError).code, 'ELIMIT');
  // Multi-byte names are measured in bytes: 128 × 2 bytes > 255.
  t.is((t.throws(() => splitWirePath('é'.repeat(128))) as FerryError).code, 'ELIMIT');
});

test('too long names and paths are ELIMIT through the storage too', async (t) => {
  await t.throwsAsync(fixture.alice.mkdir('n'.repeat(256), { parents: false }), { code: 'ELIMIT' });
  await t.throwsAsync(fixture.alice.stat(`${'d/'.repeat(2100)}x`), { code: 'ELIMIT' });
});

test('acting on an outside link itself is allowed and never touches its target', async (t) => {
  const own = await makeFixture();
  t.teardown(() => destroyFixture(own));
  const before = await snapshotOutside(own);
  // Moving the link moves the link; the path through it is still refused afterwards.
  await own.alice.rename('out', 'docs/moved-out', { overwrite: false });
  t.is(await readlink(path.join(own.home, 'docs', 'moved-out')), own.outside);
  await t.throwsAsync(readThrough(own.alice, 'docs/moved-out/secret.txt'), { code: 'EACCES' });
  // Removing links removes the links.
  await own.alice.remove('etc-link', { recursive: false });
  await own.alice.remove('docs/moved-out', { recursive: true });
  await own.alice.remove('dangling', { recursive: false });
  t.true((await stat('/etc/passwd')).isFile());
  t.is(await readFile(path.join(own.outside, 'secret.txt'), 'utf8'), SECRET);
  // A recursive remove of a directory holding an outside link leaves the outside alone.
  await symlink(own.outside, path.join(own.home, 'docs', 'sub', 'inner-out'));
  await own.alice.remove('docs', { recursive: true });
  t.is(await readFile(path.join(own.outside, 'subdir', 'deeper.txt'), 'utf8'), SECRET);
  const after = await snapshotOutside(own);
  // Only alice's own links changed.
  const outsideOnly = (snapshot: string) => snapshot.split('\n').filter((line) => !line.startsWith('home/')).join('\n');
  t.is(outsideOnly(after), outsideOnly(before));
});

test('uploads through in-home links land inside, and backslashes are kept in names', async (t) => {
  const own = await makeFixture();
  t.teardown(() => destroyFixture(own));
  const data = Buffer.from('data');
  const sha = createHash('sha256').update(data).digest('hex');
  for (const wire of ['docs-link/new.txt', 'back\\slash.txt']) {
    const handle = await own.alice.openUpload(wire, upload());
    await handle.write(0, data);
    await handle.finish(sha);
  }
  t.is(await readFile(path.join(own.home, 'docs', 'new.txt'), 'utf8'), 'data');
  t.is(await readFile(path.join(own.home, 'back\\slash.txt'), 'utf8'), 'data');
  // A dangling link inside the home: the upload creates what it points at.
  const handle = await own.alice.openUpload('dangling-inside', upload());
  await handle.write(0, data);
  await handle.finish(sha);
  t.is(await readFile(path.join(own.home, 'docs', 'missing'), 'utf8'), 'data');
  t.true((await lstat(path.join(own.home, 'dangling-inside'))).isSymbolicLink());
});

test('a parent swapped for an outside link after open is refused at finish', async (t) => {
  const own = await makeFixture();
  t.teardown(() => destroyFixture(own));
  await own.alice.mkdir('drop', { parents: false });
  const handle = await own.alice.openUpload('drop/file.txt', upload());
  await handle.write(0, Buffer.from('evil'));
  await rm(path.join(own.home, 'drop'), { recursive: true });
  await symlink(own.outside, path.join(own.home, 'drop'));
  await t.throwsAsync(handle.finish(createHash('sha256').update('evil').digest('hex')), { code: 'EACCES' });
  await t.throwsAsync(lstat(path.join(own.outside, 'file.txt')), { code: 'ENOENT' });
});

test('a trailing slash names a directory: on a file it is ENOTDIR', async (t) => {
  const { alice } = fixture;
  await t.throwsAsync(alice.stat('docs/a.txt/'), { code: 'ENOTDIR' });
  await t.throwsAsync(alice.stat('docs/a.txt/.'), { code: 'ENOTDIR' });
  await t.throwsAsync(alice.list('docs/a.txt/'), { code: 'ENOTDIR' });
  await t.throwsAsync(alice.hash('docs/a.txt/'), { code: 'ENOTDIR' });
  await t.throwsAsync(alice.openRead('a-link/'), { code: 'ENOTDIR' });
  t.is((await alice.stat('docs/')).type, 'dir');
  t.is((await alice.stat('docs-link/')).type, 'dir');
});

test('a move that would make a link point outside is refused; one that keeps it inside is not', async (t) => {
  const own = await makeFixture();
  t.teardown(() => destroyFixture(own));
  // docs/sub/back -> ../a.txt is docs/a.txt; at the home's top it would be <homes>/a.txt.
  await symlink('../a.txt', path.join(own.home, 'docs', 'sub', 'back'));
  await t.throwsAsync(own.alice.rename('docs/sub/back', 'back', { overwrite: false }), { code: 'EACCES', message: /point outside/ });
  // A link in a moved directory: docs/sub/far -> ../../docs/a.txt would climb above the home from /sub.
  await symlink('../../docs/a.txt', path.join(own.home, 'docs', 'sub', 'far'));
  await t.throwsAsync(own.alice.rename('docs/sub', 'sub', { overwrite: false }), { code: 'EACCES', message: /"\/sub\/far" point outside/ });
  t.true((await lstat(path.join(own.home, 'docs', 'sub', 'far'))).isSymbolicLink(), 'nothing moved');
  await own.alice.remove('docs/sub/far', { recursive: false });
  // Moves that keep its meaning inside the home are fine.
  await own.alice.mkdir('docs/deeper', { parents: false });
  await own.alice.rename('docs/sub/back', 'docs/deeper/back', { overwrite: false });
  await own.alice.rename('docs/deeper', 'nested-deeper', { overwrite: false });
  t.is(await readlink(path.join(own.home, 'nested-deeper', 'back')), '../a.txt');
});

test('adopting a file with another hard link copies it: the other name keeps its bytes', async (t) => {
  const own = await makeFixture();
  t.teardown(() => destroyFixture(own));
  const outsideFile = path.join(own.outside, 'linked.txt');
  await writeFile(outsideFile, 'ab');
  await link(outsideFile, path.join(own.home, 'linked.txt'));
  const handle = await own.alice.openUpload('linked.txt', upload({ adopt: true }));
  t.is(handle.offset, 2);
  await handle.write(2, Buffer.from('cd'));
  await handle.finish(createHash('sha256').update('abcd').digest('hex'));
  t.is(await readFile(path.join(own.home, 'linked.txt'), 'utf8'), 'abcd');
  t.is(await readFile(outsideFile, 'utf8'), 'ab', 'the file outside the home is untouched');
});
