/**
 * `npm run bench`: throughput of ferry on loopback with SHA-256 verification on (it always is),
 * the median of several runs, and the server's peak RSS during each workload. The server runs as its own process
 * (`ferry serve` from the build) so its memory is measured apart from the client's.
 *
 *   --runs N      runs per workload (default 3)
 *   --size SIZE   the big file (default 1GiB)
 *   --jobs N      files at once for the tree workloads (default 8)
 *   --quick       64 MiB file, a 200-file tree and 5 × 16 MiB clients, for a fast look
 *   --record      also write the results into docs/benchmarks.md
 *   --server-config FILE   a `ferry serve --config` file, to compare server settings
 *   --profile DIR  write the server's CPU profile (node --cpu-prof) into DIR; profile the client
 *                  side with `node --cpu-prof dist/bench/run.js`
 *   --render      only the TUI render section (it also runs after the transfers by default):
 *                 first paint of a 100,000-entry pane and key → frame (bench/render.ts)
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SqliteUserStore } from '../server/users/sqlite-user-store.js';
import { downloadFile } from '../src/client/download.js';
import { Session } from '../src/client/session.js';
import { uploadFile } from '../src/client/upload.js';
import { LocalFileSystem } from '../src/fs/local-file-system.js';
import { RemoteFileSystem } from '../src/fs/remote-file-system.js';
import { TransferQueue } from '../src/transfer/transfer-queue.js';
import { parseSize } from '../src/util/units.js';
import { writeRandomFile, writeRandomTree } from './data.js';
import { formatTable, machineLine, type Measurement } from './report.js';
import { startServerChild } from './server-child.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** bench/ compiles to dist/bench; the project root is two levels up from there. */
const PROJECT = resolve(HERE, '..', '..');
const CLI_MAIN = join(PROJECT, 'dist', 'src', 'cli', 'main.js');
const TREE_FILE_SIZE = 64 * 1024;

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    size: { type: 'string', default: '1GiB' },
    jobs: { type: 'string', default: '8' },
    quick: { type: 'boolean', default: false },
    record: { type: 'boolean', default: false },
    'server-config': { type: 'string' },
    profile: { type: 'string' },
    render: { type: 'boolean', default: false },
  },
});

const runs = Number(args.runs);
const bigSize = args.quick ? 64 * 1024 * 1024 : parseSize(args.size!);
const treeFiles = args.quick ? 200 : 1000;
const jobs = Number(args.jobs);
const crowdClients = args.quick ? 5 : 20;
const crowdSize = args.quick ? 16 * 1024 * 1024 : 100 * 1024 * 1024;

async function timed(work: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function main(): Promise<void> {
  if (!args.render) await transfers();
  await renderSection();
}

/** The TUI's render times: cheap (a few seconds), so it runs with every bench. */
async function renderSection(): Promise<void> {
  console.error('render: a pane listing 100,000 entries, first paint and key → frame');
  // React's development build (the default without NODE_ENV) is several times slower and records
  // a performance mark per component; the TUI runs the production build, so the bench does too.
  // Imported here because React reads NODE_ENV when it is first loaded.
  process.env.NODE_ENV ??= 'production';
  const { benchRender, formatRenderTable } = await import('./render.js');
  const measured = await benchRender({ runs: args.quick ? 3 : Math.max(3, runs) });
  // Frame times on a busy machine mostly measure the other processes: say how busy it was.
  const table = `${formatRenderTable(measured)}\n\nLoad average (1 min) at the end of the run: ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores.`;
  console.log(`\nferry TUI render — ${machineLine()}\n\n${table}\n`);
  if (args.record) await record(table, 'bench-render');
}

async function transfers(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'ferry-bench-'));
  const root = join(work, 'server');
  const local = join(work, 'local');
  const password = 'bench-password';
  const users = SqliteUserStore.open(join(root, 'users.db'));
  await users.add('bench', password);
  users.close();

  // The crowd workload logs one user in many times at once.
  const serverArgs = ['--max-sessions-per-user', String(crowdClients + 1)];
  if (args['server-config']) serverArgs.push('--config', resolve(args['server-config']));
  const server = await startServerChild(CLI_MAIN, root, serverArgs, args.profile ? ['--cpu-prof', `--cpu-prof-dir=${resolve(args.profile)}`] : []);
  const session = await Session.connect({ url: `ws://127.0.0.1:${server.port}`, user: 'bench', password });
  const remote = new RemoteFileSystem(session);
  const localFs = new LocalFileSystem();
  const measurements: Measurement[] = [];

  /** Runs `once` `runs` times after `prepare`, timing only `once`, with the server's peak RSS. */
  const measure = async (name: string, bytes: number, prepare: () => Promise<unknown>, once: () => Promise<void>) => {
    const m: Measurement = { name, bytes, seconds: [] };
    await server.resetPeak();
    for (let run = 0; run < runs; run++) {
      await prepare();
      m.seconds.push(await timed(once));
    }
    m.peakRss = await server.peakRss();
    measurements.push(m);
    console.error(`  ${name}: done`);
  };

  try {
    console.error(`preparing a ${bigSize} byte file and a ${treeFiles} × 64 KiB tree in ${work}`);
    const bigPath = join(work, 'big.bin');
    const bigSha = await writeRandomFile(bigPath, bigSize);
    const treePath = join(work, 'tree');
    await writeRandomTree(treePath, treeFiles, TREE_FILE_SIZE);
    // Warm the page cache the same way for every workload: read the sources once.
    await readFile(bigPath).then(() => undefined, () => undefined);
    const downPath = join(local, 'big.bin');

    await measure(`upload ${label(bigSize)} file`, bigSize, () => remote.remove('/big.bin').catch(() => undefined), async () => {
      const result = await uploadFile(session, bigPath, '/big.bin', { overwrite: true });
      if (result.sha256 !== bigSha) throw new Error('upload: SHA-256 differs');
    });
    await measure(`download ${label(bigSize)} file`, bigSize, () => rm(downPath, { force: true }).then(() => localFs.mkdir(local, { parents: true })), async () => {
      const result = await downloadFile(session, '/big.bin', downPath, { overwrite: true });
      if (result.sha256 !== bigSha) throw new Error('download: SHA-256 differs');
    });
    await rm(downPath, { force: true });
    const treeBytes = treeFiles * TREE_FILE_SIZE;
    await measure(`upload tree ${treeFiles} × 64 KiB (-j ${jobs})`, treeBytes, () => remote.remove('/tree', { recursive: true }).catch(() => undefined), () => copyTree(localFs, treePath, remote, '/'));
    await measure(`download tree ${treeFiles} × 64 KiB (-j ${jobs})`, treeBytes, () => rm(join(local, 'tree'), { recursive: true, force: true }), () => copyTree(remote, '/tree', localFs, local));

    // Many sessions at once: the server's memory must stay flat (bounded windows), not grow with clients × file size.
    const crowdFile = join(work, 'crowd.bin');
    const crowdSha = await writeRandomFile(crowdFile, crowdSize);
    const crowd = await Promise.all(Array.from({ length: crowdClients }, () => Session.connect({ url: `ws://127.0.0.1:${server.port}`, user: 'bench', password })));
    try {
      await measure(
        `${crowdClients} clients uploading ${label(crowdSize)} each`,
        crowdClients * crowdSize,
        () => Promise.all(crowd.map((_, i) => remote.remove(`/crowd-${i}.bin`).catch(() => undefined))),
        async () => {
          const results = await Promise.all(crowd.map((client, i) => uploadFile(client, crowdFile, `/crowd-${i}.bin`, { overwrite: true })));
          if (results.some((result) => result.sha256 !== crowdSha)) throw new Error('crowd: SHA-256 differs');
        },
      );
    } finally {
      await Promise.all(crowd.map((client) => client.close()));
    }
  } finally {
    await session.close();
  }
  await server.stop();
  await rm(work, { recursive: true, force: true });

  const table = formatTable(measurements);
  console.log(`\nferry on loopback — ${machineLine()}\n\n${table}\n`);
  if (args.record) await record(table, 'bench');
}

async function copyTree(from: LocalFileSystem | RemoteFileSystem, source: string, to: LocalFileSystem | RemoteFileSystem, target: string): Promise<void> {
  const queue = new TransferQueue({ concurrency: jobs, conflict: 'overwrite', retries: 0 });
  await queue.add({ source: { fs: from, path: source }, target: { fs: to, path: target } });
  const state = await queue.whenIdle();
  await queue.close();
  if (state.totals.failed > 0) throw new Error(`tree copy: ${state.totals.failed} files failed`);
}

function label(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${bytes / 1024 ** 3} GiB` : `${bytes / 1024 ** 2} MiB`;
}

/** Replaces the block between the `<!-- marker:begin/end -->` lines in docs/benchmarks.md with this run's table. */
async function record(table: string, marker: string): Promise<void> {
  const path = join(PROJECT, 'docs', 'benchmarks.md');
  const text = await readFile(path, 'utf8');
  const begin = `<!-- ${marker}:begin -->`;
  const end = `<!-- ${marker}:end -->`;
  const at = text.indexOf(begin);
  const until = text.indexOf(end);
  if (at < 0 || until < at) throw new Error(`${path} lacks the ${begin} … ${end} markers`);
  const block = `${begin}\nMeasured ${new Date().toISOString().slice(0, 10)} on ${machineLine()}.\n\n${table}\n${end}`;
  await writeFile(path, text.slice(0, at) + block + text.slice(until + end.length));
  console.error(`recorded in ${path}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
