import { chmod, lchown, lstat, readdir, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { fdPath, inDirectory } from '../storage/fd-path.js';

/** The OS identity a user's remote commands run as. */
export interface ExecIdentity {
  uid: number;
  gid: number;
}

/**
 * Per-user OS identities for remote commands, on a server that runs as root: each user's commands
 * run as a uid of their own (and a gid of the same number), which owns that user's home (0700)
 * and nothing else. So a command can write in its home and nowhere the system does not let
 * everyone write (/tmp), and cannot read another home or the server's files (users.db is 0600,
 * partials 0700). The uid is stored as the home's owner, so there is no table to keep: the next
 * free one is found by looking at the owners of every home and archived home.
 * A server that is not root cannot change identity: commands then run as the server's user.
 */
export class ExecIdentities {
  static readonly #byRoot = new Map<string, ExecIdentities>();
  /** Allocations one at a time: two users must never get the same uid. */
  #queue: Promise<unknown> = Promise.resolve();
  #prepared = false;

  private constructor(
    private readonly root: string,
    private readonly uidBase: number,
  ) {}

  /** The allocator of the data root that `home` (`<root>/homes/<user>`) is in. */
  static forHome(home: string, uidBase: number): ExecIdentities {
    const root = path.dirname(path.dirname(home));
    let identities = ExecIdentities.#byRoot.get(root);
    if (identities === undefined) {
      identities = new ExecIdentities(root, uidBase);
      ExecIdentities.#byRoot.set(root, identities);
    }
    return identities;
  }

  /** True when this process can run commands as someone else. */
  static canSwitch(): boolean {
    return process.getuid?.() === 0;
  }

  /** The identity of the user whose home is `home`, given to the home (and all in it) the first time. */
  identityOf(home: string): Promise<ExecIdentity> {
    const next = this.#queue.then(() => this.#assign(home));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #assign(home: string): Promise<ExecIdentity> {
    await this.#prepare();
    const st = await lstat(home);
    if (st.uid >= this.uidBase) return { uid: st.uid, gid: st.gid };
    const uid = (await this.#highestAssigned()) + 1;
    // Contents first, the home last: its owner is the record that the home is converted, so a
    // crash half way converts again next time.
    await inDirectory(home, (dir) => chownTree(dir, uid));
    await chmod(home, 0o700);
    await lchown(home, uid, uid);
    return { uid, gid: uid };
  }

  /** The data root's own files are the server's alone; homes/ may be crossed, not listed. */
  async #prepare(): Promise<void> {
    if (this.#prepared) return;
    await chmod(this.root, 0o711);
    await chmod(path.join(this.root, 'homes'), 0o711);
    for (const name of await readdir(this.root)) {
      if (name === 'homes') continue;
      const st = await lstat(path.join(this.root, name));
      if (st.isSymbolicLink()) continue;
      await chmod(path.join(this.root, name), st.isDirectory() ? 0o700 : st.mode & 0o700);
    }
    this.#prepared = true;
  }

  async #highestAssigned(): Promise<number> {
    let highest = this.uidBase - 1;
    // Archived homes (ferry user del) keep their uid: it is never given to anyone else.
    for (const [dir, inner] of [['homes', ''], ['archive', ''], ['archive', 'home']] as const) {
      const base = path.join(this.root, dir);
      const names = await readdir(base).catch(() => [] as string[]);
      for (const name of names) {
        const st = await lstat(path.join(base, name, inner)).catch(() => null);
        if (st !== null && st.uid > highest) highest = st.uid;
      }
    }
    return highest;
  }
}

/** lchown of everything below `dir` (entered by descriptor, links never followed). */
async function chownTree(dir: FileHandle, uid: number): Promise<void> {
  const base = fdPath(dir);
  for (const entry of await readdir(base, { withFileTypes: true })) {
    const full = `${base}/${entry.name}`;
    if (entry.isDirectory()) await inDirectory(full, (child) => chownTree(child, uid));
    await lchown(full, uid, uid).catch(() => undefined);
  }
}
