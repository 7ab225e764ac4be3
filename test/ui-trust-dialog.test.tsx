import test from 'ava';
import { render } from 'ink-testing-library';
import type { PeerIdentity } from '../src/client/server-identity.js';
import type { TrustAnswer } from '../src/credentials/server-trust.js';
import { IdentityChangedDialog, type IdentityChangedDialogProps } from '../ui/dialogs/identity-changed-dialog.js';
import { TrustDialog, type TrustDialogProps } from '../ui/dialogs/trust-dialog.js';
import { KEYS } from './helpers/ink-wait.js';
import { flatFrame as flat, inAct } from './helpers/ink-act.js';

/*
 * The two dialogs about a TLS server's identity on their own: "Unknown server" (three answers,
 * Esc refuses) and the identity-changed alarm (no way on: Enter is ignored, Esc closes).
 */

// act() keeps one global queue (test/helpers/ink-act.ts), so these tests run serially.
const dialogTest = test.serial;

const FINGERPRINT = 'SHA256:q1Zm2b0xN8k7Yv3cW5tR9pL4sD6fG2hJ8kL0zX1cV3b';
const PEER: PeerIdentity = {
  fingerprint: FINGERPRINT,
  authorized: false,
  authorizationError: 'DEPTH_ZERO_SELF_SIGNED_CERT',
  validFrom: '2026-01-02T00:00:00.000Z',
  validTo: '2046-01-02T00:00:00.000Z',
  names: ['localhost', '127.0.0.1'],
};

async function mount(element: React.JSX.Element) {
  let app!: ReturnType<typeof render>;
  await inAct(() => {
    app = render(element);
  });
  return {
    frame: () => app.lastFrame() ?? '',
    async keys(...sequences: string[]) {
      for (const sequence of sequences) await inAct(() => app.stdin.write(sequence));
    },
    unmount: () => inAct(() => app.unmount()),
  };
}

async function openTrust(props: Partial<TrustDialogProps> = {}) {
  const answers: TrustAnswer[] = [];
  const d = await mount(<TrustDialog isActive hostPort="127.0.0.1:7443" peer={PEER} onAnswer={(answer) => answers.push(answer)} width={72} {...props} />);
  return { ...d, answers };
}

dialogTest('the trust dialog shows the server, why it is unknown, the fingerprint in full, names, dates and what to compare', async (t) => {
  const d = await openTrust();
  const frame = flat(d.frame());
  t.regex(d.frame(), /Unknown server/);
  t.true(frame.includes('The identity of 127.0.0.1:7443 is not known (a self-signed certificate). Nothing has been sent to it yet.'), frame);
  t.true(d.frame().includes(FINGERPRINT), 'the fingerprint on one line, whole');
  t.true(frame.includes('Names localhost, 127.0.0.1'));
  t.true(frame.includes('Valid 2026-01-02 to 2046-01-02'));
  t.true(frame.includes("Compare it with the fingerprint the server's administrator gave you (ferry serve --fingerprint)."));
  for (const label of ['[ Trust and remember (a) ]', '[ Trust once (o) ]', '[ Refuse (r) ]']) t.true(d.frame().includes(label), label);
  t.deepEqual(d.answers, []);
  await d.unmount();
});

dialogTest('the focus starts on Refuse: Enter refuses; Tab / arrows move to the other answers, and Enter presses the focused one', async (t) => {
  const first = await openTrust();
  await first.keys(KEYS.enter);
  t.deepEqual(first.answers, ['refuse']);
  await first.unmount();

  // Tab wraps from Refuse to the first button.
  const save = await openTrust();
  await save.keys(KEYS.tab, KEYS.enter);
  t.deepEqual(save.answers, ['save']);
  await save.unmount();

  const once = await openTrust();
  await once.keys(KEYS.up, KEYS.enter);
  t.deepEqual(once.answers, ['once']);
  await once.unmount();
});

dialogTest('hot keys answer at once (either case), Esc refuses, and an inactive dialog takes no keys', async (t) => {
  for (const [key, answer] of [['a', 'save'], ['O', 'once'], ['r', 'refuse'], [KEYS.escape, 'refuse']] as const) {
    const d = await openTrust();
    await d.keys(key);
    t.deepEqual(d.answers, [answer], JSON.stringify(key));
    await d.unmount();
  }
  const idle = await openTrust({ isActive: false });
  await idle.keys('a', KEYS.enter, KEYS.escape);
  t.deepEqual(idle.answers, []);
  await idle.unmount();
});

dialogTest('a narrow trust dialog still shows the whole fingerprint (carried over lines) and stacks its buttons', async (t) => {
  const d = await openTrust({ width: 40 });
  const lines = d.frame().split('\n');
  const joined = lines.map((line) => line.replace(/^║|║$/g, '').trim().replace(/^Fingerprint\s+/, '')).join('');
  t.true(joined.includes(FINGERPRINT), d.frame());
  t.false(d.frame().includes('…'), 'nothing is cut');
  t.true(lines.some((line) => /^║ \[ Trust and remember \(a\) \] +║$/.test(line)), d.frame());
  t.true(lines.some((line) => /^║ \[ Refuse \(r\) \] +║$/.test(line)));
  await d.unmount();
});

const CHANGED: Omit<IdentityChangedDialogProps, 'onClose' | 'isActive'> = {
  hostPort: '127.0.0.1:7443',
  known: { fingerprint: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', file: '/home/me/.config/ferry/known_hosts', line: 3 },
  presented: FINGERPRINT,
};

dialogTest('the identity-changed alarm shows both fingerprints, the line to remove and that nothing was sent', async (t) => {
  let closed = 0;
  const d = await mount(<IdentityChangedDialog isActive {...CHANGED} width={80} onClose={() => closed++} />);
  const frame = flat(d.frame());
  t.regex(d.frame(), /WARNING: SERVER IDENTITY HAS CHANGED/);
  t.true(frame.includes('THE IDENTITY OF 127.0.0.1:7443 HAS CHANGED!'));
  t.true(frame.includes('Someone could be intercepting the connection'));
  t.true(frame.includes(`Known ${CHANGED.known.fingerprint}`));
  t.true(frame.includes(`Presented ${FINGERPRINT}`));
  t.true(frame.includes('Nothing was sent to it.'));
  t.true(frame.includes('remove line 3 of /home/me/.config/ferry/known_hosts and connect again'), frame);
  t.is(closed, 0);
  await d.unmount();
});

dialogTest('the identity-changed alarm has no way on: Enter, Space and letters are ignored; only Esc closes it', async (t) => {
  let closed = 0;
  const d = await mount(<IdentityChangedDialog isActive {...CHANGED} width={80} onClose={() => closed++} />);
  await d.keys(KEYS.enter, KEYS.space, 'a', 'y', KEYS.tab, KEYS.enter);
  t.is(closed, 0);
  t.regex(d.frame(), /SERVER IDENTITY HAS CHANGED/);
  await d.keys(KEYS.escape);
  t.is(closed, 1);
  await d.unmount();
});
