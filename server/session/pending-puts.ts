import { FerryError } from '../../src/protocol/errors.js';
import type { Frame } from '../../src/protocol/frame.js';
import { LIMITS } from '../../src/protocol/limits.js';

interface Waiting {
  size: number;
  resolve(data: Uint8Array): void;
  reject(error: FerryError): void;
}

/**
 * `upload.put` requests waiting for their one DATA frame, by the stream id the client picked.
 * The request and its frame arrive in that order on one socket, so the wait is only as long as
 * the frame takes to come in; a frame for an id nobody waits for belongs to a put that already
 * failed and is dropped.
 */
export class PendingPuts {
  #waiting = new Map<number, Waiting>();

  /**
   * Starts waiting for the frame of `stream`; resolves with its payload (at once, empty, for a
   * size of 0). Synchronous up to the promise, so a frame that follows right behind the request
   * finds the entry. EINVAL when the id is in use, ELIMIT past LIMITS.maxOpenPuts.
   */
  expect(stream: number, size: number): Promise<Uint8Array> {
    if (this.#waiting.has(stream)) throw new FerryError('EINVAL', `stream ${stream} is already in use by another put`);
    if (this.#waiting.size >= LIMITS.maxOpenPuts) throw new FerryError('ELIMIT', `at most ${LIMITS.maxOpenPuts} puts may wait for their data at once`);
    if (size === 0) return Promise.resolve(new Uint8Array(0));
    return new Promise((resolve, reject) => this.#waiting.set(stream, { size, resolve, reject }));
  }

  /**
   * Hands a frame to its put: 'taken' (the put now holds the payload), 'refused' (the frame does
   * not fit the put, which fails with EOFFSET or EINVAL), or 'unknown' when no put waits for it.
   */
  deliver(frame: Frame): 'taken' | 'refused' | 'unknown' {
    const waiting = this.#waiting.get(frame.stream);
    if (waiting === undefined) return 'unknown';
    this.#waiting.delete(frame.stream);
    if (frame.offset !== 0) {
      waiting.reject(new FerryError('EOFFSET', `a put's frame starts at offset 0, not ${frame.offset}`, { expected: 0 }));
      return 'refused';
    }
    if (frame.payload.length !== waiting.size) {
      waiting.reject(new FerryError('EINVAL', `the put declared ${waiting.size} bytes but its frame carries ${frame.payload.length}`));
      return 'refused';
    }
    waiting.resolve(frame.payload);
    return 'taken';
  }

  /** Ends every wait with `error` (the connection is gone). */
  failAll(error: FerryError): void {
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const put of waiting) put.reject(error);
  }
}
