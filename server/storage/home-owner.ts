import { lchown } from 'node:fs/promises';
import { fstatFd } from './fd-path.js';

/**
 * Gives `entry` (a descriptor path in a home) to the home's owner when that is not the server
 * itself: a home whose remote commands run as their own OS user is owned by that user, and so
 * must be what the server creates in it, or the user's commands could not write there. A server
 * that is not root owns everything it creates anyway.
 */
export async function giveToHomeOwner(home: number, entry: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const st = await fstatFd(home);
  if (st.uid === 0) return;
  await lchown(entry, st.uid, st.gid);
}
