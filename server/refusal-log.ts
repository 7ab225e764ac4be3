import type { Logger } from 'pino';

/**
 * Logs refused connections of one kind at most once per window: the first at once, then one line
 * per window saying how many more there were (and the last address). A flood of 3,000 sockets is
 * a few lines, not 3,000. close() writes what is still untold.
 */
export class RefusalLog {
  #log: Logger;
  #windowMs: number;
  #windows = new Map<string, { level: 'info' | 'debug'; message: string; more: number; last: object; timer: NodeJS.Timeout }>();

  constructor(log: Logger, windowMs: number) {
    this.#log = log;
    this.#windowMs = windowMs;
  }

  note(kind: string, level: 'info' | 'debug', fields: object, message: string): void {
    const open = this.#windows.get(kind);
    if (open) {
      open.more++;
      open.last = fields;
      return;
    }
    this.#log[level](fields, message);
    this.#open(kind, level, message);
  }

  close(): void {
    for (const kind of [...this.#windows.keys()]) this.#flush(kind, false);
  }

  #open(kind: string, level: 'info' | 'debug', message: string): void {
    const timer = setTimeout(() => this.#flush(kind, true), this.#windowMs);
    timer.unref();
    this.#windows.set(kind, { level, message, more: 0, last: {}, timer });
  }

  #flush(kind: string, reopen: boolean): void {
    const window = this.#windows.get(kind);
    if (!window) return;
    this.#windows.delete(kind);
    clearTimeout(window.timer);
    if (window.more === 0) return;
    this.#log[window.level]({ ...window.last, more: window.more, windowMs: this.#windowMs }, `${window.message} (${window.more} more)`);
    // Still flooding: keep summing up rather than logging each one again.
    if (reopen) this.#open(kind, window.level, window.message);
  }
}
