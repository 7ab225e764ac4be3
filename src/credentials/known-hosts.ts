import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { configDir } from '../util/paths.js';

/** One pinned server: `host:port` (IPv6 in brackets) and the certificate fingerprint. */
export interface KnownHost {
  hostPort: string;
  fingerprint: string;
  /** 1-based line in the file, for "remove line N" advice. */
  line: number;
}

/**
 * The TLS identities of servers this user has accepted, ssh-style: `$XDG_CONFIG_HOME/ferry/
 * known_hosts`, one `host:port SHA256:…` per line, `#` comments and blank lines kept, so a person
 * can read and edit it. The first line for a host:port is the one that counts.
 */
export class KnownHosts {
  readonly file: string;

  /** Default: known_hosts in configDir(). */
  constructor(file?: string) {
    this.file = file ?? path.join(configDir(), 'known_hosts');
  }

  /** The pinned identity of `hostPort`, if any. A missing file knows no host. */
  async lookup(hostPort: string): Promise<KnownHost | undefined> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const [name, fingerprint] = lines[i]!.replace(/#.*/, '').trim().split(/\s+/);
      if (name === hostPort && fingerprint !== undefined) return { hostPort, fingerprint, line: i + 1 };
    }
    return undefined;
  }

  /** Pins `fingerprint` for `hostPort` (appended; the directory is made if needed). */
  async add(hostPort: string, fingerprint: string): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    await appendFile(this.file, `${hostPort} ${fingerprint} # added ${new Date().toISOString()}\n`, { mode: 0o644 });
  }
}
