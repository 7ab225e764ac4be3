import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import type { ServerOptions } from '../server/options.js';
import type { SqliteUserStore } from '../server/users/sqlite-user-store.js';
import { startTestServer } from './helpers/server.js';
import { builtCliExists, startTmux, tuiScratch } from './helpers/tmux.js';

/*
 * A remote command from the built `ferry` in a real terminal (tmux 160 × 45) against a real
 * server that allows one script: ':' opens the command line, Enter runs it in the remote pane's
 * directory, the output panel shows what it printed and its exit code; Ctrl-O shows the output
 * full screen and back, Esc hides it. Every wait is for something to appear on the screen.
 */

const ALICE = { name: 'alice', password: 'alice-password-1' };

if (!builtCliExists()) {
  test('e2e exec needs the build', (t) => t.fail('dist/src/cli/main.js is missing: run `npx tsc -p .` (npm test builds first)'));
} else {
  test('the command line runs an allowed program on the server and its output shows live in the panel', async (t) => {
    const { dir, work, env } = await tuiScratch(t, 'ferry-e2e-exec-');
    // Programs an administrator allows are installed for everyone to run: commands run as the user's own uid.
    await chmod(dir, 0o755);
    // Prints its arguments one per line, the directory it runs in, a line on stderr, then exits 7.
    const script = join(dir, 'report');
    await writeFile(script, '#!/bin/sh\nfor a in "$@"; do printf "arg=<%s>\\n" "$a"; done\necho "cwd=$(basename "$(pwd)")"\necho "warned" >&2\nexit 7\n');
    await chmod(script, 0o755);

    const server = await startTestServer({ users: [ALICE], options: { exec: { allow: [script] } } as Partial<ServerOptions> });
    t.teardown(() => server.close());
    (server.server.users as SqliteUserStore).setExec(ALICE.name, true);
    await mkdir(join(server.root, 'homes', ALICE.name, 'reports'), { recursive: true });

    const tui = await startTmux({ args: ['connect', `${ALICE.name}@127.0.0.1:${server.port}`], dir, cwd: work, env });
    t.teardown(() => tui.kill());
    await tui.waitFor(/Password +\[/);
    await tui.type(ALICE.password);
    await tui.waitFor(`Password  [${'•'.repeat(ALICE.password.length)}`);
    await tui.press('Enter');
    await tui.waitForGone('Connect to a ferry server');
    await tui.waitFor('reports');

    // Into reports/ on the remote side: the command runs there.
    await tui.press('Tab');
    await tui.waitFor(/^┌[^\n]*╔═/);
    await tui.press('End');
    await tui.press('Enter');
    await tui.waitFor(`alice@127.0.0.1:${server.port}:/reports`);

    await tui.type(':');
    await tui.waitFor(`alice@127.0.0.1:${server.port}:/reports$`);
    await tui.type(`${script} 'two words' $HOME ';'`);
    await tui.waitFor("';'");
    await tui.press('Enter');
    const screen = await tui.waitFor(/\[exit 7\]/);
    // In order, each argument as typed (no shell expanded $HOME or took the ;), in reports/.
    t.regex(screen, /arg=<two words>\s*\n\s*arg=<\$HOME>\s*\n\s*arg=<;>\s*\n\s*cwd=reports\s*\n\s*warned/);
    t.regex(screen, /\$ \S*report 'two words' '\$HOME' ';'/);

    // Ctrl-O: the panes go, the output takes the screen; again: the panes are back.
    await tui.press('C-o');
    const full = await tui.waitFor(/^ Output/);
    t.false(full.includes(work), full);
    t.regex(full, /\[exit 7\]/);
    await tui.press('C-o');
    await tui.waitFor(work);
    await tui.waitForGone(/^ Output/);
    // Esc hides the panel; Ctrl-P brings it back with the run kept.
    await tui.press('Escape');
    await tui.waitForGone('[exit 7]');
    await tui.press('C-p');
    await tui.waitFor('[exit 7]');
    await tui.press('Escape');
    await tui.waitForGone('[exit 7]');
    await tui.press('F10');
    await tui.waitFor('[ferry exited');
    t.is(await tui.exitStatus(), 0);
  });
}
