/**
 * A level-free "something changed" signal for one waiting loop: the loop checks its conditions,
 * then awaits `wait()`; any event handler calls `notify()`. A notify with nobody waiting is
 * dropped, which is safe because the loop always re-checks before it waits again.
 */
export class Wakeup {
  #resolve: (() => void) | undefined;
  #promise: Promise<void> | undefined;

  wait(): Promise<void> {
    this.#promise ??= new Promise<void>((resolve) => {
      this.#resolve = resolve;
    });
    return this.#promise;
  }

  notify(): void {
    const resolve = this.#resolve;
    this.#resolve = undefined;
    this.#promise = undefined;
    resolve?.();
  }
}
