import { setTimeout as sleep } from 'node:timers/promises';
import { FerryError } from '../protocol/index.js';
import { canceled } from './connection.js';
import type { Session } from './session.js';

/** True for a failure that a reconnect can cure: the connection went away under the request. */
export function isNetworkLoss(error: unknown): boolean {
  return error instanceof FerryError && error.code === 'ENETWORK';
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw canceled(signal);
}

/**
 * Best-effort close of a stream opened on connection `generation`. Skipped when that connection
 * is gone: its stream ids died with it, and the same number may already name another transfer.
 * Waits at most `timeoutMs` (default 5 s) so a wedged server cannot hang a cancel.
 */
export async function cancelStream(
  session: Session,
  generation: number,
  op: 'upload.cancel' | 'download.cancel',
  stream: number,
  timeoutMs = 5_000,
): Promise<void> {
  if (session.generation !== generation || session.state !== 'ready') return;
  const timeout = new AbortController();
  const request = session.request(op, { stream }, { signal: timeout.signal, generation }).catch(() => {});
  await Promise.race([request, sleep(timeoutMs, undefined, { ref: false })]);
  timeout.abort();
}
