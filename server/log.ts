import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** Default 'info'. 'silent' turns logging off (tests). */
  level?: LevelWithSilent;
  /**
   * Where the JSON lines go: a file path (created with its directory, appended to), a file
   * descriptor, or any writable stream. Default: stdout.
   */
  destination?: string | number | DestinationStream | NodeJS.WritableStream;
}

/**
 * Creates the server's JSON logger (pino). Field names are fixed so logs can be queried:
 * `user`, `ip`, `session`, `code` (a FerryError code or 'OK'), `path`, `direction`, `bytes`,
 * `durationMs`, and `err` (with its stack) for failures. Passwords are never passed in, and the
 * redact list is a second fence in case a request object is ever logged whole.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const { level = 'info', destination = 1 } = options;
  const stream =
    typeof destination === 'string'
      ? pino.destination({ dest: destination, mkdir: true, append: true, sync: false })
      : typeof destination === 'number'
        ? pino.destination({ dest: destination, sync: false })
        : destination;
  return pino(
    {
      level,
      base: { name: 'ferry' },
      redact: { paths: ['password', '*.password', 'request.password'], censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.err },
    },
    stream,
  );
}
