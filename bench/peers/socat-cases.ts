import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { slug } from './client-case.js';
import { verifyFile } from './files.js';
import { commandLine, exitOf, freePort, stopChild, tailOf } from './processes.js';
import type { ServedSources } from './served.js';
import type { PeerCase, PeerInputs, WorkloadKind } from './types.js';

const BUFFER = 262144;
/** Explicit socket buffers (the kernel doubles them) and socat's own 256 KiB block size on both ends. */
const SOCKET_OPTIONS = `rcvbuf=${BUFFER},sndbuf=${BUFFER}`;

/** Listeners between their prepare() and the end of their run(), so stop() can end one a failed run left. */
export type ListenerSet = Set<ChildProcess>;

interface SocatSpec {
  tool: string;
  kind: WorkloadKind;
  detail: string;
  /** The file the transfer writes, or undefined when the data goes to /dev/null. */
  result: string | undefined;
  /** socat's two addresses for the one-shot listener, given its port. */
  listener(port: number): [string, string];
  client(port: number): [string, string];
  setUp(): Promise<void>;
}

/**
 * Raw TCP with socat, 256 KiB buffers: the big file up to /dev/null and to a file, and down to a
 * file. Every run gets a fresh one-shot listener (started in prepare), and run() lasts from the
 * client's start until both the client and the listener have exited.
 */
export function socatCases(served: ServedSources, inputs: PeerInputs, dir: string, listeners: ListenerSet): PeerCase[] {
  const listen = (port: number) => `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,${SOCKET_OPTIONS}`;
  const connect = (port: number) => `TCP:127.0.0.1:${port},${SOCKET_OPTIONS}`;
  const upFile = join(dir, slug('raw TCP socat to file'), 'big.bin');
  const downDir = join(inputs.downloadDir, slug('raw TCP socat'));
  const downFile = join(downDir, 'big.bin');
  const specs: SocatSpec[] = [
    {
      tool: 'raw TCP (socat) → /dev/null',
      kind: 'big-up',
      detail: `socat -u -b ${BUFFER}, ${SOCKET_OPTIONS}; the receiver discards the bytes`,
      result: undefined,
      listener: (port) => [listen(port), 'OPEN:/dev/null,wronly'],
      client: (port) => [`OPEN:${inputs.bigPath},rdonly`, connect(port)],
      setUp: async () => undefined,
    },
    {
      tool: 'raw TCP (socat) → file',
      kind: 'big-up',
      detail: `socat -u -b ${BUFFER}, ${SOCKET_OPTIONS}; the receiver writes a file`,
      result: upFile,
      listener: (port) => [listen(port), `CREATE:${upFile}`],
      client: (port) => [`OPEN:${inputs.bigPath},rdonly`, connect(port)],
      setUp: () => mkdir(dirname(upFile), { recursive: true }).then(() => undefined),
    },
    {
      tool: 'raw TCP (socat) → file',
      kind: 'big-down',
      detail: `socat -u -b ${BUFFER}, ${SOCKET_OPTIONS}; the listener sends the file, the client writes it`,
      result: downFile,
      listener: (port) => [`OPEN:${served.bigPath},rdonly`, listen(port)],
      client: (port) => [connect(port), `CREATE:${downFile}`],
      setUp: async () => {
        await mkdir(downDir, { recursive: true });
        await served.warmBig();
      },
    },
  ];
  return specs.map((spec) => socatCase(spec, inputs, listeners));
}

function socatCase(spec: SocatSpec, inputs: PeerInputs, listeners: ListenerSet): PeerCase {
  let pending: { child: ChildProcess; ended: ReturnType<typeof exitOf>; stderr: () => string; port: number } | undefined;
  /** The listener's log of the last run, kept for verify(). */
  let lastLog = '';
  const args = (addresses: [string, string]) => ['-d', '-d', '-u', '-b', String(BUFFER), ...addresses];
  return {
    tool: spec.tool,
    kind: spec.kind,
    detail: spec.detail,
    async prepare() {
      if (pending) await stopChild(pending.child);
      pending = undefined;
      if (spec.result) await rm(spec.result, { force: true });
      await spec.setUp();
      const port = await freePort();
      const child = spawn('socat', args(spec.listener(port)), { stdio: ['ignore', 'ignore', 'pipe'] });
      listeners.add(child);
      child.once('exit', () => listeners.delete(child));
      const stderr = tailOf(child);
      const ended = exitOf(child);
      // Failures are reported by run() or by untilLogged; this keeps an early one from going unhandled.
      ended.catch(() => undefined);
      // A probe connection would be the one connection this listener serves, so readiness comes
      // from socat's own notice instead.
      await untilLogged(child, stderr, /listening on/, `socat listener on 127.0.0.1:${port}`);
      pending = { child, ended, stderr, port };
    },
    async run() {
      if (!pending) throw new Error(`${spec.tool}: run() without prepare()`);
      const { ended: listenerEnded, stderr: listenerLog, port } = pending;
      pending = undefined;
      const clientArgs = args(spec.client(port));
      const client = spawn('socat', clientArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
      const clientLog = tailOf(client);
      const [clientExit, listenerExit] = await Promise.all([exitOf(client), listenerEnded]);
      lastLog = listenerLog();
      if (clientExit.code !== 0) throw new Error(`${spec.tool}: ${commandLine('socat', clientArgs)} exited with ${clientExit.code ?? clientExit.signal}:\n${clientLog()}`);
      if (listenerExit.code !== 0) throw new Error(`${spec.tool}: the socat listener exited with ${listenerExit.code ?? listenerExit.signal}:\n${lastLog}`);
    },
    async verify() {
      if (spec.result) {
        await verifyFile(spec.tool, spec.result, inputs.bigSize, inputs.bigSha256);
        await rm(spec.result, { force: true });
        return;
      }
      // Nothing to hash in /dev/null: the listener must have served a connection and read it to
      // its end (TCP delivers every byte in order before the EOF, and a reset would not exit 0).
      if (!/accepting connection from/.test(lastLog) || !/is at EOF/.test(lastLog)) {
        throw new Error(`${spec.tool}: the listener did not read a connection to its end:\n${lastLog}`);
      }
    },
  };
}

/** Resolves when the child's stderr matches `pattern`; rejects when it exits first or after 10 s. */
async function untilLogged(child: ChildProcess, stderr: () => string, pattern: RegExp, name: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!pattern.test(stderr())) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before listening:\n${stderr()}`);
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`${name} did not report listening within 10 s:\n${stderr()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
