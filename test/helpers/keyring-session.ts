import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * Runs test/helpers/keyring-child.tsx in a throwaway desktop-like session: a temp HOME with its
 * own XDG directories, a private D-Bus session bus (dbus-run-session) and, depending on the mode,
 * a gnome-keyring Secret Service unlocked with a throwaway password. The child executes a list of
 * steps and prints one JSON line of results, which is what the tests assert on.
 */

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHILD = path.join(REPO, 'test', 'helpers', 'keyring-child.tsx');
const RESULT_MARK = 'FERRY-KEYRING-RESULT ';

/** A step the child runs; see keyring-child.tsx for what each does and answers. */
export type KeyringStep =
  | { op: 'status' }
  | { op: 'set'; account: string; password: string }
  | { op: 'get'; account: string }
  | { op: 'delete'; account: string }
  | { op: 'connect'; host: string; port: number; user: string; password?: string; save?: boolean }
  | { op: 'hosts' }
  /** The login dialog fed with the host book and keychain status, `keys` typed into it; its submit logs in. */
  | { op: 'dialog-login'; keys: string[] };

/** What a step answered: its own fields, or `error` with the FerryError's code and message. */
export type KeyringResult = Record<string, unknown> & { op: string; error?: { code: string; message: string; name: string; why?: string } };

/**
 * - unlocked: gnome-keyring runs, its login keyring unlocked with the home's throwaway password
 *   (created on the first run, opened again on later ones: "log out and in again");
 * - locked: gnome-keyring runs but nobody unlocks it;
 * - no-secret-service: a D-Bus session bus that cannot start any Secret Service;
 * - no-dbus: no D-Bus session at all (DBUS_SESSION_BUS_ADDRESS unset).
 */
export type KeyringMode = 'unlocked' | 'locked' | 'no-secret-service' | 'no-dbus';

function missingTools(): string | undefined {
  const missing = ['dbus-run-session', 'gnome-keyring-daemon', 'bash'].filter(
    (tool) => spawnSync('bash', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0,
  );
  return missing.length === 0 ? undefined : `${missing.join(' and ')} not installed (.ci/run installs gnome-keyring and dbus)`;
}

/** Why keyring tests cannot run on this machine, or undefined when they can. Checked once at load. */
export const keyringUnavailable: string | undefined = missingTools();

/** A temp HOME for keyring sessions; the same one across runs means the same keyring files. */
export interface KeyringHome {
  home: string;
  /** $XDG_CONFIG_HOME (hosts.json is in its ferry/). */
  configHome: string;
  /** The throwaway password of the login keyring. */
  keyringPassword: string;
  run(mode: KeyringMode, steps: KeyringStep[]): Promise<KeyringResult[]>;
  close(): Promise<void>;
}

/** Creates a temp HOME with XDG directories inside it. */
export async function createKeyringHome(): Promise<KeyringHome> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'ferry-keyring-home-'));
  const dirs = {
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    XDG_STATE_HOME: path.join(home, '.local', 'state'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    // gnome-keyring puts its control socket here; a private one keeps it from finding (or being
    // found by) a keyring daemon of the machine.
    XDG_RUNTIME_DIR: path.join(home, 'run'),
  };
  for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true, mode: 0o700 });
  const busConfig = path.join(home, 'no-services-bus.conf');
  // A session bus with no <servicedir>: nothing can be activated, so no Secret Service exists.
  await writeFile(
    busConfig,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=${os.tmpdir()}</listen>
  <policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
</busconfig>
`,
  );
  const keyringPassword = randomBytes(12).toString('base64url');

  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, ...dirs, FERRY_KEYRING_PW: keyringPassword };
  for (const name of ['DBUS_SESSION_BUS_ADDRESS', 'DISPLAY', 'WAYLAND_DISPLAY', 'GNOME_KEYRING_CONTROL', 'SSH_AUTH_SOCK', 'FERRY_PASSWORD']) delete env[name];

  function command(mode: KeyringMode, stepsJson: string): { file: string; args: string[] } {
    const node = [process.execPath, '--import', 'tsx', CHILD, stepsJson];
    switch (mode) {
      case 'no-dbus':
        return { file: node[0]!, args: node.slice(1) };
      case 'no-secret-service':
        return { file: 'dbus-run-session', args: [`--config-file=${busConfig}`, '--', ...node] };
      case 'unlocked':
      case 'locked': {
        const daemon =
          mode === 'unlocked'
            ? 'printf %s "$FERRY_KEYRING_PW" | gnome-keyring-daemon --unlock --components=secrets >/dev/null'
            : 'gnome-keyring-daemon --start --components=secrets >/dev/null';
        return { file: 'dbus-run-session', args: ['--', 'bash', '-c', `${daemon} && exec "$@"`, 'bash', ...node] };
      }
    }
  }

  return {
    home,
    configHome: dirs.XDG_CONFIG_HOME,
    keyringPassword,
    run(mode, steps) {
      const { file, args } = command(mode, JSON.stringify(steps));
      return new Promise((resolve, reject) => {
        const child = spawn(file, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
        let out = '';
        let err = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
        child.on('error', reject);
        child.on('close', (code, signal) => {
          const line = out.split('\n').find((text) => text.startsWith(RESULT_MARK));
          if (code !== 0 || line === undefined) {
            reject(new Error(`keyring child (${mode}) ended with ${signal ?? code}\nstdout:\n${out}\nstderr:\n${err}`));
            return;
          }
          resolve(JSON.parse(line.slice(RESULT_MARK.length)) as KeyringResult[]);
        });
      });
    },
    async close() {
      await rm(home, { recursive: true, force: true });
    },
  };
}

export { RESULT_MARK };
