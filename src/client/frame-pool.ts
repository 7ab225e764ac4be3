/**
 * A fixed set of frame buffers for one transfer pass, reused once the socket has written them:
 * a 1 GiB upload allocates its few MiB once instead of a fresh 1 MiB Buffer per frame, which is
 * what made the client's garbage collector run hot (external memory counts toward GC pressure).
 * A buffer is lent by take() and comes back by give(), which the socket's write callback calls.
 */
export class FramePool {
  readonly #free: Buffer[] = [];

  constructor(count: number, bytes: number) {
    for (let i = 0; i < count; i++) this.#free.push(Buffer.allocUnsafeSlow(bytes));
  }

  /** A free buffer, or undefined when every one is lent out. */
  take(): Buffer | undefined {
    return this.#free.pop();
  }

  give(buffer: Buffer): void {
    this.#free.push(buffer);
  }

  get available(): number {
    return this.#free.length;
  }
}
