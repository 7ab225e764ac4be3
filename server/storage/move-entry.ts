import type { Stats } from 'node:fs';
import { link, lstat, readlink, rename, unlink } from 'node:fs/promises';
import { FerryError } from '../../src/protocol/index.js';
import { displayPath, type Jail } from './jail.js';
import { climbingLinks, staysInsideLexically } from './moved-links.js';
import { isOsError } from './os-errors.js';
import type { Place } from './place.js';

/**
 * Moves the entry at `from` to `to` (both located without following the final link), inside
 * one home. EEXIST when `to` exists and not `overwrite` (atomically: link()+unlink() for a
 * non-directory), EINVAL for a directory into itself, EACCES for the home itself and for a move
 * that would make a symbolic link point outside. Returns the bytes of a regular file it replaced.
 */
export async function moveEntry(jail: Jail, from: Place, to: Place, overwrite: boolean): Promise<number> {
  if (from.name === null || to.name === null) {
    throw new FerryError('EACCES', 'access denied: the home itself cannot be renamed or replaced');
  }
  const source = await lstat(from.path);
  if (from.realRel === to.realRel) return 0;
  if (`${to.realRel}/`.startsWith(`${from.realRel}/`)) {
    throw new FerryError('EINVAL', `cannot move ${displayPath(from.wire)} into itself`);
  }
  await refuseOutsideLinks(jail, from, to, source);
  const existing = await lstat(to.path).catch((error: unknown) => {
    if (isOsError(error, 'ENOENT')) return null;
    throw error;
  });
  if (existing !== null && !overwrite) throw new FerryError('EEXIST', `file already exists: ${displayPath(to.wire)}`);
  if (!overwrite && !source.isDirectory() && (await linkNoClobber(from.path, to.path))) return 0;
  // Directories cannot be hard-linked, so a directory that appears at the target between the
  // check above and here is the one race left (and rename only replaces an empty one).
  await rename(from.path, to.path);
  return existing?.isFile() && existing.nlink === 1 ? existing.size : 0;
}

/**
 * EACCES when the move would leave a symbolic link pointing outside the home: the link itself,
 * or a link in a moved directory whose relative target climbs out of that directory (its
 * meaning changes with the directory's place). The ferry protocol never follows such a link,
 * but programs run in the home (remote commands) would.
 */
async function refuseOutsideLinks(jail: Jail, from: Place, to: Place, source: Stats): Promise<void> {
  const refuse = (link: string) => new FerryError('EACCES', `access denied: the move would make the symbolic link ${displayPath(link)} point outside the home`);
  if (source.isSymbolicLink()) {
    const target = await readlink(from.path);
    // A link that points outside already may move: the move does not make it so.
    if ((await jail.reachesOnlyInside(from, target)) && !(await jail.reachesOnlyInside(to, target))) throw refuse(to.wire);
    return;
  }
  if (!source.isDirectory()) return;
  const origin = [...from.names, from.name!];
  const destination = [...to.names, to.name!];
  for await (const link of climbingLinks(from.path)) {
    if (staysInsideLexically([...origin, ...link.dirs], link.target) && !staysInsideLexically([...destination, ...link.dirs], link.target)) {
      throw refuse(`${to.wire}/${[...link.dirs, link.name].join('/')}`);
    }
  }
}

/**
 * Moves a non-directory with link()+unlink(), which fails with EEXIST if the target exists:
 * rename without clobbering, atomically. False when the file system cannot hard-link.
 */
async function linkNoClobber(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
  } catch (error) {
    if (isOsError(error, 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'EXDEV')) return false;
    throw error;
  }
  await unlink(from);
  return true;
}
