import type { ExecutionContext } from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, stat, writeFile, utimes, open } from 'node:fs/promises';
import { join } from 'node:path';
import { sshdForThisFile, sshdSkipNote, sshdTest } from './helpers/sshd.js';
import { startCutProxy } from './helpers/cut-proxy.js';
import { startSshd } from '../bench/peers/sshd.js';
import { LocalFileSystem } from '../src/fs/local-file-system.js';
import { openSftp } from '../src/fs/sftp/sftp-connection.js';
import { SftpFileSystem } from '../src/fs/sftp/sftp-file-system.js';
import { FerryError } from '../src/protocol/index.js';
import { copyStep } from '../src/transfer/copy-step.js';

const sshd = sshdForThisFile('ferry-sftp-copy-');
const skip = sshdSkipNote;
const MiB = 1024 * 1024;

/** A local pane and an SFTP pane on our sshd, both over fresh scratch directories (the sshd runs as us, so both are on this disk). */
async function sides(t: ExecutionContext, server = sshd.server()!): Promise<{ local: LocalFileSystem; sftp: SftpFileSystem; here: string; there: string }> {
  const here = await mkdtemp(join(sshd.work(), 'here-'));
  const there = await mkdtemp(join(sshd.work(), 'there-'));
  const connection = await openSftp({
    target: { alias: '127.0.0.1', host: '127.0.0.1', port: server.port, user: server.user, identityFiles: [server.clientKey], identitiesOnly: true, hostKeyName: '127.0.0.1', knownHostsFiles: [] },
    ferryKnownHosts: join(here, '.known'),
    agent: '',
    askHostKey: async () => 'once',
  });
  t.teardown(() => connection.client.end());
  return { local: new LocalFileSystem({ home: here }), sftp: new SftpFileSystem(connection, `${server.user}@127.0.0.1:${server.port}`), here, there };
}

/** A signal and a progress callback that cancel the copy once `bytes` are done. */
function stopAfter(bytes: number): { signal: AbortSignal; onProgress: (progress: { done: number }) => void } {
  const stop = new AbortController();
  return { signal: stop.signal, onProgress: ({ done }) => done >= bytes && stop.abort() };
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

sshdTest(`local → SFTP → local: 0 B, 1 B, 1 MiB + 7, 20 MiB arrive whole, with the mtime, checked by the server's sha256sum${skip}`, async (t) => {
  const { local, sftp, here, there } = await sides(t);
  for (const size of [0, 1, MiB + 7, 20 * MiB]) {
    const data = randomBytes(size);
    const name = `f${size}.bin`;
    await writeFile(join(here, name), data);
    const mtime = new Date('2024-05-06T07:08:09Z');
    await utimes(join(here, name), mtime, mtime);
    const up = await copyStep(local, join(here, name), sftp, join(there, name), { overwrite: false });
    t.is(up.sha256, sha(data), `up ${size}`);
    t.is(up.check, 'sha256');
    t.true((await readFile(join(there, name))).equals(data));
    t.is((await stat(join(there, name))).mtimeMs, mtime.getTime());
    const back = join(here, `back-${name}`);
    const down = await copyStep(sftp, join(there, name), local, back, { overwrite: false });
    t.is(down.sha256, sha(data), `down ${size}`);
    t.is(down.check, 'sha256');
    t.true((await readFile(back)).equals(data));
    t.is((await stat(back)).mtimeMs, mtime.getTime());
  }
  const exists = await t.throwsAsync(copyStep(local, join(here, 'f1.bin'), sftp, join(there, 'f1.bin'), { overwrite: false }));
  t.is((exists as FerryError).code, 'EEXIST');
  await copyStep(local, join(here, 'f0.bin'), sftp, join(there, 'f1.bin'), { overwrite: true });
  t.is((await stat(join(there, 'f1.bin'))).size, 0);
});

sshdTest(`an upload to SFTP that was stopped goes on from the server's partial; one left by another source starts over${skip}`, async (t) => {
  const { local, sftp, here, there } = await sides(t);
  const data = randomBytes(12 * MiB + 5);
  await writeFile(join(here, 'big.bin'), data);
  const first = copyStep(local, join(here, 'big.bin'), sftp, join(there, 'big.bin'), { overwrite: false, ...stopAfter(5 * MiB) });
  t.is(((await t.throwsAsync(first)) as FerryError).code, 'ECANCELED');
  const kept = (await stat(join(there, '.big.bin.ferry-part'))).size;
  t.true(kept >= 5 * MiB && kept < data.length, `the partial holds ${kept}`);
  const second = await copyStep(local, join(here, 'big.bin'), sftp, join(there, 'big.bin'), { overwrite: false });
  t.is(second.resumedFrom, kept);
  t.true((await readFile(join(there, 'big.bin'))).equals(data));
  await t.throwsAsync(stat(join(there, '.big.bin.ferry-part')));

  // The same partial name, but the sidecar names another source: not resumed.
  await writeFile(join(there, '.other.bin.ferry-part'), data.subarray(0, MiB));
  await writeFile(join(there, '.other.bin.ferry-part.json'), JSON.stringify({ version: 1, origin: 'local:/somewhere/else', size: data.length, mtime: 1 }));
  const other = await copyStep(local, join(here, 'big.bin'), sftp, join(there, 'other.bin'), { overwrite: false });
  t.is(other.resumedFrom, 0);
  t.true((await readFile(join(there, 'other.bin'))).equals(data));
});

sshdTest(`a resumed partial whose bytes were changed fails the server's sha256sum, is dropped and sent again${skip}`, async (t) => {
  const { local, sftp, here, there } = await sides(t);
  const data = randomBytes(6 * MiB);
  await writeFile(join(here, 'x.bin'), data);
  await t.throwsAsync(copyStep(local, join(here, 'x.bin'), sftp, join(there, 'x.bin'), { overwrite: false, ...stopAfter(2 * MiB) }));
  // Someone scribbles in the partial between the attempts.
  const part = await open(join(there, '.x.bin.ferry-part'), 'r+');
  await part.write(Buffer.from('corrupted'), 0, 9, 100);
  await part.close();
  const result = await copyStep(local, join(here, 'x.bin'), sftp, join(there, 'x.bin'), { overwrite: false });
  t.is(result.resumedFrom, 0, 'the second pass started over');
  t.true((await readFile(join(there, 'x.bin'))).equals(data));
});

sshdTest(`a download from SFTP that was stopped goes on from the local partial${skip}`, async (t) => {
  const { local, sftp, here, there } = await sides(t);
  const data = randomBytes(9 * MiB + 3);
  await writeFile(join(there, 'd.bin'), data);
  await t.throwsAsync(copyStep(sftp, join(there, 'd.bin'), local, join(here, 'd.bin'), { overwrite: false, ...stopAfter(3 * MiB) }));
  const kept = (await stat(join(here, '.d.bin.ferry-part'))).size;
  t.true(kept > 0, `kept ${kept}`);
  const result = await copyStep(sftp, join(there, 'd.bin'), local, join(here, 'd.bin'), { overwrite: false });
  t.is(result.resumedFrom, kept);
  t.is(result.check, 'sha256');
  t.true((await readFile(join(here, 'd.bin'))).equals(data));
});

sshdTest(`an account that may not run commands (ForceCommand internal-sftp) is checked by size only, and says so${skip}`, async (t) => {
  const sftpOnly = await startSshd(join(sshd.work(), 'sftp-only'), ['ForceCommand internal-sftp']);
  t.teardown(() => sftpOnly.stop());
  const { local, sftp, here, there } = await sides(t, sftpOnly);
  const data = randomBytes(2 * MiB + 1);
  await writeFile(join(here, 'o.bin'), data);
  const up = await copyStep(local, join(here, 'o.bin'), sftp, join(there, 'o.bin'), { overwrite: false });
  t.is(up.check, 'size');
  t.true((await readFile(join(there, 'o.bin'))).equals(data));
  const down = await copyStep(sftp, join(there, 'o.bin'), local, join(here, 'o2.bin'), { overwrite: false });
  t.is(down.check, 'size');
  t.true((await readFile(join(here, 'o2.bin'))).equals(data));
});

sshdTest(`a cut link is dialled again before the next request, and a copy cut part way resumes from its partial, both ways${skip}`, async (t) => {
  const server = sshd.server()!;
  const proxy = await startCutProxy(server.port);
  t.teardown(() => proxy.close());
  const here = await mkdtemp(join(sshd.work(), 'cut-here-'));
  const there = await mkdtemp(join(sshd.work(), 'cut-there-'));
  const dial = () =>
    openSftp({
      target: { alias: '127.0.0.1', host: '127.0.0.1', port: proxy.port, user: server.user, identityFiles: [server.clientKey], identitiesOnly: true, hostKeyName: '127.0.0.1', knownHostsFiles: [] },
      ferryKnownHosts: join(here, '.known'),
      agent: '',
      askHostKey: async () => 'once',
    });
  const first = await dial();
  const sftp = new SftpFileSystem(first, 'cut', { reopen: dial });
  t.teardown(() => sftp.close());
  const local = new LocalFileSystem({ home: here });
  const data = randomBytes(16 * MiB + 9);
  await writeFile(join(here, 'c.bin'), data);

  for (const [from, fromPath, to, toPath, partial] of [
    [local, join(here, 'c.bin'), sftp, join(there, 'c.bin'), join(there, '.c.bin.ferry-part')],
    [sftp, join(there, 'c.bin'), local, join(here, 'back.bin'), join(here, '.back.bin.ferry-part')],
  ] as const) {
    proxy.cutAfterBytes(6 * MiB);
    const cut = await t.throwsAsync(copyStep(from, fromPath, to, toPath, { overwrite: false }));
    t.is((cut as FerryError).code, 'ENETWORK', cut?.message);
    const kept = (await stat(partial)).size;
    t.true(kept > 0, `the partial holds ${kept} bytes`);
    const again = await copyStep(from, fromPath, to, toPath, { overwrite: false });
    t.true(again.resumedFrom > 0, `resumed from ${again.resumedFrom}`);
    t.is(again.check, 'sha256');
  }
  t.true((await readFile(join(there, 'c.bin'))).equals(data));
  t.true((await readFile(join(here, 'back.bin'))).equals(data));
  t.true(proxy.cuts >= 2);
});
