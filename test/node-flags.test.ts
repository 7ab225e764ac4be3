import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { NODE_FLAGS } from '../src/cli/node-flags.js';

const repo = fileURLToPath(new URL('..', import.meta.url));

test('bin/ferry, npm start, npm run bench and the test workers all pass NODE_FLAGS', async (t) => {
  const launcher = await readFile(join(repo, 'bin', 'ferry'), 'utf8');
  t.true(launcher.includes(`exec node ${NODE_FLAGS.join(' ')} `), 'bin/ferry repeats NODE_FLAGS literally');
  const pkg = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as {
    bin: Record<string, string>;
    scripts: Record<string, string>;
    ava: { nodeArguments: string[] };
  };
  t.is(pkg.bin.ferry, 'bin/ferry');
  t.regex(pkg.scripts.start!, /bin\/ferry demo$/);
  t.true(pkg.scripts.bench!.includes(`node ${NODE_FLAGS.join(' ')} dist/bench/run.js`));
  for (const flag of NODE_FLAGS) t.true(pkg.ava.nodeArguments.includes(flag), `ava runs tests with ${flag}`);
  for (const flag of NODE_FLAGS) t.true(process.execArgv.includes(flag), `this worker has ${flag}`);
});

test('bin/ferry execs node itself: the PID a supervisor signals is the server, with the options', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'ferry-bin-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  // bin/ferry runs the build, which `npm test` makes before the tests.
  const child = spawn(join(repo, 'bin', 'ferry'), ['serve', '--root', root, '--port', '0', '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const lines: string[] = [];
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`exited ${code} before listening: ${lines.join('\n')}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      if (line.includes('"msg":"listening"')) resolve();
    });
  });
  const argv = (await readFile(`/proc/${child.pid}/cmdline`, 'utf8')).split('\0');
  t.regex(argv[0]!, /node/);
  for (const flag of NODE_FLAGS) t.true(argv.includes(flag), `${flag} in ${argv.join(' ')}`);
  t.false(lines.some((line) => line.includes('V8 options')), 'no warning about missing options');
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  t.is(await exit, 0, 'SIGTERM reached node and it stopped cleanly');
});
