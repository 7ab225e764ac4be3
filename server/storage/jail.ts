import { lstat, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import { FerryError, LIMITS } from '../../src/protocol/index.js';
import { isOsError, toFerryError } from './os-errors.js';

/** Linux gives up after 40 links; so do we, with EACCES (a loop is an attack or a mistake). */
const MAX_SYMLINK_HOPS = 40;

/** A wire path resolved inside a home. */
export interface JailPath {
  /** The normalised wire path: '/' for the home, else '/a/b'. Safe to show to the user. */
  wire: string;
  /** Home-relative components after normalisation (empty for the home). */
  parts: string[];
  /**
   * Absolute real location: every symlink on the way resolved (the final component only when
   * the path was resolved with `follow`). Always inside the real home.
   */
  real: string;
  /** `real` relative to the real home, '/'-separated; '' for the home itself. */
  realRel: string;
}

/** Quotes a path for an error message: control characters escaped, long paths shortened. */
export function displayPath(wire: string): string {
  const shown = wire.length > 200 ? `${wire.slice(0, 200)}…` : wire;
  return JSON.stringify(shown);
}

/**
 * Splits a wire path into home-relative components with chroot semantics: '/a/b' and 'a/b' are
 * the same place, '/' and '' are the home. EACCES for a NUL byte or a '..' that would climb above
 * the home at any point (even if later components come back down: a client has no business
 * naming anything above its home). ELIMIT for a component over 255 bytes or a path over 4096.
 * A backslash is an ordinary character on Linux and is kept.
 */
export function splitWirePath(wire: string): string[] {
  if (typeof wire !== 'string') throw new FerryError('EINVAL', 'path must be a string');
  if (wire.includes('\0')) throw new FerryError('EACCES', 'access denied: NUL byte in path');
  const parts: string[] = [];
  for (const component of wire.split('/')) {
    if (component === '' || component === '.') continue;
    if (component === '..') {
      if (parts.length === 0) throw new FerryError('EACCES', `access denied: path leaves the home: ${displayPath(wire)}`);
      parts.pop();
      continue;
    }
    if (Buffer.byteLength(component) > LIMITS.maxNameBytes) {
      throw new FerryError('ELIMIT', `name longer than ${LIMITS.maxNameBytes} bytes in ${displayPath(wire)}`);
    }
    parts.push(component);
  }
  if (Buffer.byteLength(wire) > LIMITS.maxPathBytes) {
    throw new FerryError('ELIMIT', `path longer than ${LIMITS.maxPathBytes} bytes`);
  }
  return parts;
}

/**
 * Resolves wire paths inside one home. Symlinks are resolved component by component the way the
 * kernel does, and every link on the way must land inside the real home, or the whole path is
 * refused with EACCES. Callers then act on `real` (a path with no symlinks left in it at check
 * time) and open files with O_NOFOLLOW, which narrows the window for a link swapped in between.
 */
export class Jail {
  /** `realHome` must already be a real path (fs.realpath of the home). */
  constructor(readonly realHome: string) {}

  /** True when the absolute real path `real` is the home or below it. */
  contains(real: string): boolean {
    return real === this.realHome || real.startsWith(`${this.realHome}/`);
  }

  /**
   * Resolves `wire` inside the home. With `follow`, a symlink as the final component is followed
   * too (stat, read, write a file's content); without, the final component is the entry itself
   * (lstat, remove, rename: a link is acted on, never its target). A path that does not exist
   * yet resolves to where it would be created.
   */
  async resolve(wire: string, options: { follow: boolean }): Promise<JailPath> {
    const parts = splitWirePath(wire);
    const normalised = `/${parts.join('/')}`;
    let real: string | undefined;
    try {
      if (parts.length === 0) {
        real = this.realHome;
      } else if ((real = await this.direct(parts, options.follow)) !== undefined) {
        // No symbolic link anywhere on the path: it is what it says.
      } else if (options.follow) {
        real = await this.walk(this.realHome, parts, { hops: 0 }, normalised);
      } else {
        const parent = await this.walk(this.realHome, parts.slice(0, -1), { hops: 0 }, normalised);
        real = path.join(parent, parts[parts.length - 1]!);
      }
    } catch (error) {
      throw toFerryError(error, normalised);
    }
    if (!this.contains(real)) {
      throw new FerryError('EACCES', `access denied: ${displayPath(normalised)} is outside the home`);
    }
    return { wire: normalised, parts, real, realRel: path.relative(this.realHome, real).split(path.sep).join('/') };
  }

  /**
   * The fast path for the common case, in two system calls whatever the depth: when the parent
   * directory's realpath is exactly the literal path (no symbolic link on the way) and the final
   * component is no link to follow (or is not followed), the literal path is the real one.
   * Undefined whenever that does not hold (a link somewhere, a missing directory): the walk
   * then works it out component by component.
   */
  private async direct(parts: string[], follow: boolean): Promise<string | undefined> {
    const literal = path.join(this.realHome, ...parts);
    const parent = path.dirname(literal);
    try {
      if ((await realpath(parent)) !== parent) return undefined;
    } catch {
      return undefined;
    }
    if (!follow) return literal;
    try {
      return (await lstat(literal)).isSymbolicLink() ? undefined : literal;
    } catch (error) {
      // Nothing there yet: it resolves to where it would be created.
      return isOsError(error, 'ENOENT') ? literal : undefined;
    }
  }

  /**
   * Walks `parts` from the real directory `start`, following every symlink met (the last one
   * included). Returns a real path; components that do not exist are appended as they are, since
   * nothing can be reached through them anyway.
   */
  private async walk(start: string, parts: string[], state: { hops: number }, wire: string): Promise<string> {
    let current = start;
    for (let i = 0; i < parts.length; i++) {
      const component = parts[i]!;
      if (component === '' || component === '.') continue;
      if (component === '..') {
        // Only link targets carry '..' here (wire paths are normalised first); `current` has no
        // links in it, so its dirname is what the kernel would reach.
        current = path.dirname(current);
        continue;
      }
      const next = path.join(current, component);
      let isLink: boolean;
      try {
        isLink = (await lstat(next)).isSymbolicLink();
      } catch (error) {
        if (isOsError(error, 'ENOENT', 'ENOTDIR')) return path.join(next, ...parts.slice(i + 1));
        throw error;
      }
      if (!isLink) {
        current = next;
        continue;
      }
      if (++state.hops > MAX_SYMLINK_HOPS) {
        throw new FerryError('EACCES', `access denied: too many symbolic links in ${displayPath(wire)}`);
      }
      const target = await readlink(next);
      const resolved = await this.walk(path.isAbsolute(target) ? '/' : current, target.split('/'), state, wire);
      if (!this.contains(resolved)) {
        throw new FerryError('EACCES', `access denied: ${displayPath(wire)} goes through a symbolic link that points outside the home`);
      }
      current = resolved;
    }
    return current;
  }
}
