import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { startTestServer } from './helpers/server.js';
import { builtCliExists, startTmux, tuiScratch, type TmuxSession, type TuiScratch } from './helpers/tmux.js';

/*
 * The built `ferry connect ferrys://…` in a real terminal (tmux) against a real TLS server with
 * its own self-signed certificate, ssh-style: first contact shows the trust dialog with the
 * fingerprint, "Trust and remember" writes known_hosts and logs in over TLS; the next start asks
 * nothing; a known_hosts pin that no longer matches raises the identity-changed alarm, which
 * Enter does not get past and Esc closes. No keychain (no D-Bus): the password is typed.
 */

const ALICE = { name: 'alice', password: 'alice-password-1' };

if (!builtCliExists()) {
  test('e2e TUI over TLS needs the build', (t) => t.fail('dist/src/cli/main.js is missing: run `npm run build`'));
}

/** A private terminal scratch dir, and where its known_hosts lives. */
async function scratch(t: ExecutionContext): Promise<TuiScratch & { knownHosts: string }> {
  const where = await tuiScratch(t, 'ferry-e2e-tls-');
  return { ...where, knownHosts: join(where.env.XDG_CONFIG_HOME!, 'ferry', 'known_hosts') };
}

/** `ferry connect <target>` up to the login dialog with the password typed in (not yet sent). */
async function connect(t: ExecutionContext, where: { dir: string; work: string; env: Record<string, string> }, target: string): Promise<TmuxSession> {
  const tui = await startTmux({ args: ['connect', target], dir: where.dir, cwd: where.work, env: where.env });
  t.teardown(() => tui.kill());
  await tui.waitFor(/Password +\[/);
  await tui.type(ALICE.password);
  // Enter only once the password is in the field: keys read together arrive as one paste.
  await tui.waitFor(`Password  [${'•'.repeat(ALICE.password.length)}`);
  return tui;
}

async function quit(tui: TmuxSession): Promise<void> {
  await tui.press('F10');
  await tui.waitFor('[ferry exited');
  const status = await tui.exitStatus();
  if (status !== 0) throw new Error(`ferry exited with ${status}; the screen:\n${await tui.capture()}`);
  await tui.kill();
}

async function waitForFile(file: string, includes: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(file, 'utf8').catch(() => '');
    if (text.includes(includes)) return text;
    if (Date.now() > deadline) throw new Error(`${file} never held ${includes}; it holds:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test.serial('ferrys://: the trust dialog shows the fingerprint; remembered, the next start asks nothing; a changed pin is an alarm only Esc closes', async (t) => {
  const where = await scratch(t);
  const server = await startTestServer({ users: [ALICE], options: { tls: 'on' } });
  t.teardown(() => server.close());
  const fingerprint = server.server.tls!.fingerprint;
  const hostPort = `127.0.0.1:${server.port}`;
  const target = `ferrys://${ALICE.name}@${hostPort}`;

  // First contact: the scheme ticked the TLS box (loopback would be plain otherwise).
  const first = await connect(t, where, target);
  t.regex(await first.capture(), /\[x\] Encrypted \(TLS\)/);
  await first.press('Enter');
  const asked = await first.waitFor('Unknown server');
  t.true(asked.includes(fingerprint), `the fingerprint in full:\n${asked}`);
  t.true(asked.includes(`The identity of ${hostPort} is not known`));
  t.regex(asked, /ferry serve --fingerprint/);
  t.regex(asked, /\[ Trust and remember \(a\) \]/);
  await first.press('a');
  const inside = await first.waitFor(`TLS alice@${hostPort}:/`);
  t.false(inside.includes('Unknown server'));
  const pinned = await waitForFile(where.knownHosts, `${hostPort} ${fingerprint}`);
  t.true(pinned.startsWith(`${hostPort} ${fingerprint} `), pinned);
  await quit(first);

  // Again: pinned, so straight in.
  const second = await connect(t, where, target);
  await second.press('Enter');
  await second.waitFor(`TLS alice@${hostPort}:/`);
  t.false((await second.capture()).includes('Unknown server'));
  await quit(second);

  // The pin no longer matches (as if the server had another certificate): the alarm.
  const other = 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
  await writeFile(where.knownHosts, `${hostPort} ${other} # the old certificate\n`);
  const third = await connect(t, where, target);
  await third.press('Enter');
  const alarm = await third.waitFor('SERVER IDENTITY HAS CHANGED');
  t.true(alarm.includes(`THE IDENTITY OF ${hostPort} HAS CHANGED!`));
  t.true(alarm.includes(`Known      ${other}`), alarm);
  t.true(alarm.includes(`Presented  ${fingerprint}`));
  t.true(alarm.includes('Nothing was sent to it.'));
  t.true(alarm.includes('remove line 1 of'));
  t.true(alarm.includes(where.knownHosts), 'the file to edit');
  // Enter does not get past it, however often.
  await third.press('Enter', 'Enter');
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.true((await third.capture()).includes('SERVER IDENTITY HAS CHANGED'), 'still there after Enter');
  t.false((await third.capture()).includes(`alice@${hostPort}:/`), 'not logged in');
  await third.press('Escape');
  const back = await third.waitForGone('SERVER IDENTITY HAS CHANGED');
  t.regex(back, /Connect to a ferry server/);
  t.regex(back, /\(EIDENTITY\)/);
  t.is(await readFile(where.knownHosts, 'utf8'), `${hostPort} ${other} # the old certificate\n`, 'the pin is changed by hand only');
  await third.press('Escape');
  await third.waitForGone('Connect to a ferry server');
  await quit(third);
});
