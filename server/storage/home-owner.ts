import { lchown } from 'node:fs/promises';

/**
 * Gives `entry` (a descriptor path in a home, or a file about to be moved there) to the home's
 * owner when that is not the server itself: a home whose remote commands run as their own OS
 * user is owned by that user, and so must be what the server creates in it, or the user's
 * commands could not write there. A server that is not root owns everything it creates anyway.
 */
export async function giveToHomeOwner(owner: { uid: number; gid: number }, entry: string): Promise<void> {
  if (process.getuid?.() !== 0 || owner.uid === 0) return;
  await lchown(entry, owner.uid, owner.gid);
}
