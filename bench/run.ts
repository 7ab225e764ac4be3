/**
 * `npm run bench`: ferry on loopback side by side with the tools people would otherwise use (raw
 * TCP through socat, scp and sftp, vsftpd with curl and lftp), each workload the median of several
 * runs with min and max, and ratios ferry ÷ tool from the same run. ferry always verifies SHA-256;
 * its server runs as its own `ferry serve` process so its memory is measured apart.
 *
 *   --peers       install the peers first (apt-get: openssh-server, vsftpd, curl, lftp, socat)
 *   --no-peers    ferry alone
 *   --runs N      runs per workload (default 5)
 *   --size SIZE   the big file (default 1GiB)
 *   --files N     files in the tree of 64 KiB files (default 1000)
 *   --jobs N      files at once for ferry's trees (default 16)
 *   --crowd N     clients uploading at once (default 50), each --crowd-size (default 20MiB)
 *   --idle N      idle logged-in sessions whose server memory is measured (default 2000; 0 skips)
 *   --quick       64 MiB file, 200 files, 10 × 8 MiB, 200 idle sessions, 3 runs: a fast look
 *   --record      write the tables into docs/benchmarks.md and the chart into docs/benchmarks.svg
 *   --server-config FILE   a `ferry serve --config` file, to compare server settings
 *   --profile DIR  write the server's CPU profile (node --cpu-prof) into DIR; profile the client
 *                  side with `node --cpu-prof dist/bench/run.js`
 *   --render      only the TUI render section (it also runs after the transfers by default):
 *                 first paint of a 100,000-entry pane and key → frame (bench/render.ts)
 */
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { certificateFingerprints, generatedTlsFiles } from '../server/tls/server-identity.js';
import { SqliteUserStore } from '../server/users/sqlite-user-store.js';
import { Session, type SessionOptions } from '../src/client/session.js';
import { parseSize } from '../src/util/units.js';
import { renderChart } from './chart.js';
import { writeRandomFile, writeRandomTree } from './data.js';
import { ferryCases, type FerryCase } from './ferry-cases.js';
import { FERRY_SFTP } from './peers/ferry-sftp-cases.js';
import { installPeers, startPeers, type PeerCase, type Peers, type WorkloadKind } from './peers/peers.js';
import { formatResults, formatTargets, machineLine, median, rates, ratioOf, type Measurement, type TargetCheck } from './report.js';
import { startServerChild, type ServerChild } from './server-child.js';
import { closeSessions, crowdUpload, idleSessionsRss, openSessions } from './sessions.js';
import { NODE_FLAGS, hasNodeFlags } from '../src/cli/node-flags.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** bench/ compiles to dist/bench; the project root is two levels up from there. */
const PROJECT = resolve(HERE, '..', '..');
const CLI_MAIN = join(PROJECT, 'dist', 'src', 'cli', 'main.js');
const TREE_FILE_SIZE = 64 * 1024;
const FERRY = 'ferry (ws://)';
const FERRY_TLS = 'ferry (wss://)';

const { values: args } = parseArgs({
  options: {
    peers: { type: 'boolean', default: false },
    'no-peers': { type: 'boolean', default: false },
    runs: { type: 'string' },
    size: { type: 'string', default: '1GiB' },
    files: { type: 'string' },
    jobs: { type: 'string', default: '16' },
    crowd: { type: 'string' },
    'crowd-size': { type: 'string' },
    idle: { type: 'string' },
    quick: { type: 'boolean', default: false },
    record: { type: 'boolean', default: false },
    'server-config': { type: 'string' },
    profile: { type: 'string' },
    render: { type: 'boolean', default: false },
  },
});

const quick = args.quick;
const runs = Number(args.runs ?? (quick ? 3 : 5));
const bigSize = quick ? 64 * 1024 * 1024 : parseSize(args.size!);
const treeFiles = Number(args.files ?? (quick ? 200 : 1000));
const jobs = Number(args.jobs);
const crowdClients = Number(args.crowd ?? (quick ? 10 : 50));
const crowdSize = parseSize(args['crowd-size'] ?? (quick ? '8MiB' : '20MiB'));
const idleSessions = Number(args.idle ?? (quick ? 200 : 2000));

/** Workload names: ferry's rows and the peers' rows meet under the same name. */
const WORKLOADS: Record<WorkloadKind, string> = {
  'big-up': `upload ${label(bigSize)} file`,
  'big-down': `download ${label(bigSize)} file`,
  'tree-up': `upload tree ${treeFiles} × 64 KiB`,
  'tree-down': `download tree ${treeFiles} × 64 KiB`,
};
const CROWD = `${crowdClients} clients uploading ${label(crowdSize)} each`;
const IDLE = `${idleSessions} idle sessions`;

async function timed(work: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function main(): Promise<void> {
  // This process is the client of every ferry row: it must run as bin/ferry would.
  if (!hasNodeFlags()) throw new Error(`run the bench through npm run bench (node ${NODE_FLAGS.join(' ')} dist/bench/run.js)`);
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
  if (args.peers) await installPeers();
  const work = await mkdtemp(join(tmpdir(), 'ferry-bench-'));
  const root = join(work, 'server');
  const downloadDir = join(work, 'downloads');
  await mkdir(downloadDir, { recursive: true });
  const password = 'bench-password';
  const users = SqliteUserStore.open(join(root, 'users.db'));
  await users.add('bench', password);
  users.close();

  // The crowd and the idle sessions log one user in many times at once.
  const sessionsNeeded = String(Math.max(crowdClients, idleSessions) + 8);
  const serverArgs = ['--max-sessions', sessionsNeeded, '--max-sessions-per-user', sessionsNeeded];
  if (args['server-config']) serverArgs.push('--config', resolve(args['server-config']));
  const server = await startServerChild(CLI_MAIN, root, serverArgs, args.profile ? ['--cpu-prof', `--cpu-prof-dir=${resolve(args.profile)}`] : []);
  const sessionOptions: SessionOptions = { url: `ws://127.0.0.1:${server.port}`, user: 'bench', password };
  const session = await Session.connect(sessionOptions);
  // The same engine over TLS: a second server with its own self-signed identity, pinned here.
  const tlsRoot = join(work, 'server-tls');
  const tlsUsers = SqliteUserStore.open(join(tlsRoot, 'users.db'));
  await tlsUsers.add('bench', password);
  tlsUsers.close();
  const tlsServer = await startServerChild(CLI_MAIN, tlsRoot, [...serverArgs, '--tls']);
  const { fingerprint } = certificateFingerprints(await readFile(generatedTlsFiles(tlsRoot).certFile, 'utf8'));
  const tlsSession = await Session.connect({ url: `wss://127.0.0.1:${tlsServer.port}`, user: 'bench', password, identity: { expected: fingerprint } });
  const measurements: Measurement[] = [];
  let peers: Peers | undefined;
  let idle: Awaited<ReturnType<typeof idleSessionsRss>> | undefined;

  try {
    console.error(`preparing a ${bigSize} byte file and a ${treeFiles} × 64 KiB tree in ${work}`);
    const bigPath = join(work, 'big.bin');
    const bigSha256 = await writeRandomFile(bigPath, bigSize);
    const treePath = join(work, 'tree');
    await writeRandomTree(treePath, treeFiles, TREE_FILE_SIZE);
    // Warm the page cache the same way for every tool: the sources are read once, here.
    await readThrough(bigPath);
    await readTree(treePath);

    if (!args['no-peers']) {
      peers = await startPeers({ work, bigPath, bigSha256, bigSize, treePath, treeFiles, treeFileSize: TREE_FILE_SIZE, downloadDir });
      if (peers.missing.length > 0) console.error(`peers not installed: ${peers.missing.join(', ')} (install them with npm run bench -- --peers)`);
    }
    const ours = ferryCases({ session, bigPath, bigSha256, treePath, treeFiles, jobs, downloadDir });
    const oursTls = ferryCases({ session: tlsSession, bigPath, bigSha256, treePath, treeFiles, jobs, downloadDir });
    for (const kind of Object.keys(WORKLOADS) as WorkloadKind[]) {
      const mine = ours.find((c) => c.kind === kind)!;
      measurements.push(await measure(WORKLOADS[kind], FERRY, kind.startsWith('big') ? bigSize : treeFiles * TREE_FILE_SIZE, mine, server));
      const mineTls = oursTls.find((c) => c.kind === kind)!;
      measurements.push(await measure(WORKLOADS[kind], FERRY_TLS, kind.startsWith('big') ? bigSize : treeFiles * TREE_FILE_SIZE, mineTls, tlsServer));
      for (const peer of peers?.cases.filter((c) => c.kind === kind) ?? []) {
        measurements.push(await measure(WORKLOADS[kind], peer.tool, kind.startsWith('big') ? bigSize : treeFiles * TREE_FILE_SIZE, peer));
      }
    }

    // Many sessions at once: the aggregate rate, and the server's memory, which must stay flat
    // (bounded windows) rather than grow with clients × file size.
    const crowdFile = join(work, 'crowd.bin');
    const crowdSha = await writeRandomFile(crowdFile, crowdSize);
    const crowd = await openSessions(crowdClients, sessionOptions);
    try {
      const remove = () => Promise.all(crowd.map((_, i) => session.request('remove', { path: `/crowd-${i}.bin` }).catch(() => undefined)));
      measurements.push(
        await measure(CROWD, FERRY, crowdClients * crowdSize, { prepare: async () => void (await remove()), run: () => crowdUpload(crowd, crowdFile, crowdSha), verify: async () => {} }, server),
      );
      await remove();
    } finally {
      await closeSessions(crowd);
    }

    if (idleSessions > 0) {
      // A fresh server: what the earlier workloads left in its heap is not the sessions' cost.
      const fresh = await startServerChild(CLI_MAIN, root, serverArgs);
      try {
        console.error(`  ${IDLE}: logging in…`);
        idle = await idleSessionsRss(fresh, idleSessions, { ...sessionOptions, url: `ws://127.0.0.1:${fresh.port}` }, runs);
        measurements.push({ workload: IDLE, tool: FERRY, bytes: 0, seconds: [], rss: idle.rss, peakRss: idle.peakRss });
        console.error(`  ${IDLE}: ${(idle.rss / 2 ** 20).toFixed(0)} MiB after ${idle.loginSeconds.toFixed(1)} s of logins (fresh server: ${(idle.baseRss / 2 ** 20).toFixed(0)} MiB)`);
      } finally {
        await fresh.stop();
      }
    }
  } finally {
    await session.close();
    await tlsSession.close();
    await peers?.stop();
    await server.stop();
    await tlsServer.stop();
    await rm(work, { recursive: true, force: true });
  }

  const checks = targets(measurements);
  const versions = peers ? Object.entries(peers.versions).map(([tool, version]) => `- ${tool}: ${version}`) : [];
  const details = peers ? [...new Map(peers.cases.map((c) => [c.tool, c.detail])).entries()].map(([tool, detail]) => `- ${tool}: ${detail}`) : [];
  const text = [
    formatResults(measurements, { reference: FERRY }),
    '',
    '**Targets** (ratios from this run):',
    '',
    formatTargets(checks),
    ...(versions.length > 0 ? ['', '**Peers**:', '', ...versions, '', ...details] : []),
    ...(idle
      ? [
          '',
          `Idle sessions: measured on a fresh \`ferry serve\` (${(idle.baseRss / 2 ** 20).toFixed(0)} MiB before the first login), the median of ${runs} readings a second apart after the logins settled; ` +
            `the ${idleSessions} logins took ${idle.loginSeconds.toFixed(0)} s (scrypt, 32 MiB and tens of ms each, by design), and that work is the peak.`,
        ]
      : []),
  ].join('\n');
  console.log(`\nferry and its peers on loopback — ${machineLine()}\n\n${text}\n`);
  if (args.record) {
    await record(text, 'bench');
    const chart = renderChart(measurements, {
      title: 'ferry vs raw TCP, scp, sftp and vsftpd on loopback (MB/s)',
      subtitle: `${new Date().toISOString().slice(0, 10)} · ${machineLine()} · median of ${runs} runs, whiskers min–max`,
      reference: FERRY,
    });
    await writeFile(join(PROJECT, 'docs', 'benchmarks.svg'), chart);
    console.error('chart written to docs/benchmarks.svg');
  }
}

/** Runs a case `runs` times: prepare and verify untimed, run timed; the server's peak RSS when given. */
async function measure(workload: string, tool: string, bytes: number, work: Pick<FerryCase | PeerCase, 'prepare' | 'run' | 'verify'>, server?: ServerChild): Promise<Measurement> {
  const m: Measurement = { workload, tool, bytes, seconds: [] };
  await server?.resetPeak();
  for (let run = 0; run < runs; run++) {
    await work.prepare();
    // Every run starts with nothing left for the disk to write back from the one before (a
    // 1 GiB download still flushing would slow whoever comes next); the same for every tool.
    execFileSync('sync');
    m.seconds.push(await timed(() => work.run()));
    await work.verify();
  }
  if (server) m.peakRss = await server.peakRss();
  console.error(`  ${workload} · ${tool}: ${median(rates(m)).toFixed(0)} MB/s`);
  return m;
}

/** The targets, as ratios and sizes from this run's measurements. */
function targets(measurements: Measurement[]): TargetCheck[] {
  const ratio = (kind: WorkloadKind, peer: string) => ratioOf(measurements, WORKLOADS[kind], peer, { reference: FERRY });
  const tlsRatio = (kind: WorkloadKind, peer: string) => ratioOf(measurements, WORKLOADS[kind], peer, { reference: FERRY_TLS });
  const sftpRatio = (kind: WorkloadKind, peer: string) => ratioOf(measurements, WORKLOADS[kind], peer, { reference: FERRY_SFTP });
  const rateOf = (workload: string) => {
    const m = measurements.find((x) => x.workload === workload && x.tool === FERRY);
    return m ? median(rates(m)) : Number.NaN;
  };
  const rowOf = (workload: string) => measurements.find((x) => x.workload === workload && x.tool === FERRY);
  const MiB = 1024 * 1024;
  return [
    { label: `${WORKLOADS['big-up']}: ≥ 1.0× vsftpd + curl`, value: ratio('big-up', 'vsftpd + curl'), unit: '×', target: 1, higherIsBetter: true },
    { label: `${WORKLOADS['big-down']}: ≥ 1.0× vsftpd + curl`, value: ratio('big-down', 'vsftpd + curl'), unit: '×', target: 1, higherIsBetter: true },
    { label: `${WORKLOADS['big-up']}: ≥ 0.8× vsftpd + curl (the floor)`, value: ratio('big-up', 'vsftpd + curl'), unit: '×', target: 0.8, higherIsBetter: true },
    { label: `${WORKLOADS['big-down']}: ≥ 0.8× vsftpd + curl (the floor)`, value: ratio('big-down', 'vsftpd + curl'), unit: '×', target: 0.8, higherIsBetter: true },
    { label: `${WORKLOADS['big-up']}: ≥ 2.0× scp aes128-gcm`, value: ratio('big-up', 'scp aes128-gcm'), unit: '×', target: 2, higherIsBetter: true },
    { label: `${WORKLOADS['big-down']}: ≥ 2.0× scp aes128-gcm`, value: ratio('big-down', 'scp aes128-gcm'), unit: '×', target: 2, higherIsBetter: true },
    { label: `${WORKLOADS['big-up']}: wss:// ≥ 1.5× scp aes128-gcm`, value: tlsRatio('big-up', 'scp aes128-gcm'), unit: '×', target: 1.5, higherIsBetter: true },
    { label: `${WORKLOADS['big-down']}: wss:// ≥ 1.5× scp aes128-gcm`, value: tlsRatio('big-down', 'scp aes128-gcm'), unit: '×', target: 1.5, higherIsBetter: true },
    { label: `${WORKLOADS['tree-up']}: ≥ 1.5× lftp mirror --parallel=4`, value: ratio('tree-up', 'vsftpd + lftp mirror --parallel=4'), unit: '×', target: 1.5, higherIsBetter: true },
    { label: `${WORKLOADS['tree-down']}: ≥ 1.5× lftp mirror --parallel=4`, value: ratio('tree-down', 'vsftpd + lftp mirror --parallel=4'), unit: '×', target: 1.5, higherIsBetter: true },
    { label: `${WORKLOADS['big-up']}: ${FERRY_SFTP} ≥ 1.0× sftp aes128-gcm`, value: sftpRatio('big-up', 'sftp aes128-gcm'), unit: '×', target: 1, higherIsBetter: true },
    { label: `${WORKLOADS['big-down']}: ${FERRY_SFTP} ≥ 1.0× sftp aes128-gcm`, value: sftpRatio('big-down', 'sftp aes128-gcm'), unit: '×', target: 1, higherIsBetter: true },
    { label: `${WORKLOADS['tree-up']}: ${FERRY_SFTP} ≥ 1.5× scp -r`, value: sftpRatio('tree-up', 'scp -r aes128-gcm'), unit: '×', target: 1.5, higherIsBetter: true },
    { label: `${WORKLOADS['tree-down']}: ${FERRY_SFTP} ≥ 1.5× scp -r`, value: sftpRatio('tree-down', 'scp -r aes128-gcm'), unit: '×', target: 1.5, higherIsBetter: true },
    ...(['big-up', 'big-down'] as const).map((kind) => ({
      label: `${WORKLOADS[kind]}: server peak RSS ≤ 150 MB`,
      value: (rowOf(WORKLOADS[kind])?.peakRss ?? Number.NaN) / MiB,
      unit: 'MiB' as const,
      target: 150e6 / MiB,
      higherIsBetter: false,
    })),
    { label: `${CROWD}: aggregate ≥ 80 % of one stream (${WORKLOADS['big-up']})`, value: (100 * rateOf(CROWD)) / rateOf(WORKLOADS['big-up']), unit: '%', target: 80, higherIsBetter: true },
    { label: `${CROWD}: server peak RSS ≤ 300 MB`, value: (rowOf(CROWD)?.peakRss ?? Number.NaN) / MiB, unit: 'MiB', target: 300e6 / MiB, higherIsBetter: false },
    ...(idleSessions > 0 ? [{ label: `${IDLE}: server RSS ≤ 150 MB`, value: (rowOf(IDLE)?.rss ?? Number.NaN) / MiB, unit: 'MiB' as const, target: 150e6 / MiB, higherIsBetter: false }] : []),
  ];
}

/** Reads every file of a tree once. */
async function readTree(root: string): Promise<void> {
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) await readFile(join(entry.parentPath, entry.name));
  }
}

/** Reads a file through once in pieces (page cache warm, no 1 GiB buffer). */
async function readThrough(path: string): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) void chunk;
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
