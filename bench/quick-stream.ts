/*
 * One big file up and down, ws:// and wss://, against a `ferry serve` child: the fast loop for
 * working on the data path (`npm run build && node --initial-old-space-size=64 dist/bench/quick-stream.js
 * [SIZE_MiB] [RUNS] [plain|tls]`; the option is NODE_FLAGS, as bin/ferry runs the client).
 * The full comparison with other tools is bench/run.ts.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { downloadFile } from '../src/client/download.js';
import { Session } from '../src/client/session.js';
import { uploadFile } from '../src/client/upload.js';
import { startServerChild } from './server-child.js';
import { writeRandomFile } from './data.js';

const MiB = 1024 * 1024;
const CLI_MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

async function main(): Promise<void> {
  const sizeMiB = Number(process.argv[2] ?? 512);
  const runs = Number(process.argv[3] ?? 3);
  const only = process.argv[4];
  const work = await mkdtemp(join(tmpdir(), 'ferry-quick-stream-'));
  try {
    const roots = { plain: join(work, 'plain'), tls: join(work, 'tls') };
    for (const root of Object.values(roots)) execFileSync(process.execPath, [CLI_MAIN, 'user', 'add', 'bench', '--root', root, '--password-stdin'], { input: 'bench-password-1\n' });
    const extra = process.env.FERRY_SERVER_CONFIG ? ['--config', process.env.FERRY_SERVER_CONFIG] : [];
    const profile = process.env.FERRY_SERVER_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.FERRY_SERVER_PROF}`] : (process.env.FERRY_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const servers = {
      plain: await startServerChild(CLI_MAIN, roots.plain, extra, profile),
      tls: await startServerChild(CLI_MAIN, roots.tls, ['--tls', ...extra], profile),
    };
    const source = join(work, 'source.bin');
    await writeRandomFile(source, sizeMiB * MiB);
    try {
      for (const kind of ['plain', 'tls'] as const) {
        if (only && only !== kind) continue;
        const server = servers[kind];
        const url = `${kind === 'tls' ? 'wss' : 'ws'}://127.0.0.1:${server.port}`;
        const fingerprint = kind === 'tls' ? execFileSync(process.execPath, [CLI_MAIN, 'serve', '--root', roots.tls, '--fingerprint'], { encoding: 'utf8' }).split('\n')[0]! : undefined;
        const session = await Session.connect({ url, user: 'bench', password: 'bench-password-1', ...(fingerprint ? { identity: { expected: fingerprint } } : {}) });
        const ups: number[] = [];
        const downs: number[] = [];
        const cpu = { up: { client: 0, server: 0 }, down: { client: 0, server: 0 } };
        const serverCpu = async () => {
          const fields = (await readFile(`/proc/${server.pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
          return (Number(fields[11]) + Number(fields[12])) * 10;
        };
        for (let run = 0; run < runs; run++) {
          execFileSync('sync');
          let started = performance.now();
          let client = process.cpuUsage();
          let serverBefore = await serverCpu();
          await uploadFile(session, source, '/big.bin', { overwrite: true });
          ups.push((sizeMiB * MiB) / ((performance.now() - started) / 1000) / 1e6);
          let used = process.cpuUsage(client);
          cpu.up.client += (used.user + used.system) / 1000;
          cpu.up.server += (await serverCpu()) - serverBefore;
          execFileSync('sync');
          const target = join(work, 'down.bin');
          started = performance.now();
          client = process.cpuUsage();
          serverBefore = await serverCpu();
          await downloadFile(session, '/big.bin', target, { overwrite: true });
          downs.push((sizeMiB * MiB) / ((performance.now() - started) / 1000) / 1e6);
          used = process.cpuUsage(client);
          cpu.down.client += (used.user + used.system) / 1000;
          cpu.down.server += (await serverCpu()) - serverBefore;
          await rm(target);
        }
        const show = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(' ');
        const perMiB = (ms: number) => (ms / (runs * sizeMiB)).toFixed(2);
        console.log(`${kind.padEnd(5)} up MB/s: ${show(ups)}   down MB/s: ${show(downs)}`);
        console.log(`      CPU ms per MiB, client/server: up ${perMiB(cpu.up.client)}/${perMiB(cpu.up.server)}  down ${perMiB(cpu.down.client)}/${perMiB(cpu.down.server)}`);
        await session.close();
      }
    } finally {
      await Promise.all(Object.values(servers).map((s) => s.stop()));
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
