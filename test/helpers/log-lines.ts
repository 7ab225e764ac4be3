import { Writable } from 'node:stream';
import type { LevelWithSilent, Logger } from 'pino';
import { createLogger } from '../../server/log.js';

/** A server logger whose JSON lines are kept, as text, in `lines` (for tests that read the log). */
export function capturedLogger(level: LevelWithSilent = 'info'): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: createLogger({ level, destination }), lines };
}
