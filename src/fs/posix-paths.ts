import { posix } from 'node:path';

/** Path arithmetic for file systems whose paths are '/'-separated whatever this OS uses (a ferry home, an SFTP server). */
export abstract class PosixPaths {
  join(dir: string, name: string): string {
    return posix.join(dir, name);
  }

  dirname(path: string): string {
    return posix.dirname(path);
  }

  basename(path: string): string {
    return posix.basename(path);
  }
}
