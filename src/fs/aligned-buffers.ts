/**
 * Buffers whose memory starts on a page boundary, as O_DIRECT needs. Node has no aligned
 * allocation, but a WebAssembly.Memory is mapped by the engine's page allocator, so its buffer and
 * every page-multiple offset into it are aligned. One memory, made on first use, is cut into a few
 * slots that writers borrow for the length of one write; a memory cannot grow without detaching
 * the views already handed out, so the count is fixed and a writer that finds none free writes
 * through the page cache instead of waiting.
 */

/** Bytes of one slot: a 1 MiB chunk plus the partial block carried in front of it. */
export const SLOT_BYTES = 1024 * 1024 + 4096;
/** Slots are this far apart (a whole number of 64 KiB WebAssembly pages). */
const SLOT_STRIDE = 1024 * 1024 + 64 * 1024;
const SLOT_COUNT = 8;
const WASM_PAGE = 64 * 1024;

/** The one part of the WebAssembly global used here (the project's TypeScript libs leave it out). */
declare const WebAssembly: { Memory: new (descriptor: { initial: number }) => { readonly buffer: ArrayBuffer } };

let free: Buffer[] | undefined;
let unavailable = false;

/** A free slot, or undefined when all are lent out or the engine could not map the memory. */
export function borrowAligned(): Buffer | undefined {
  if (free === undefined) {
    if (unavailable) return undefined;
    try {
      const memory = new WebAssembly.Memory({ initial: (SLOT_STRIDE * SLOT_COUNT) / WASM_PAGE });
      free = Array.from({ length: SLOT_COUNT }, (_, slot) => Buffer.from(memory.buffer, slot * SLOT_STRIDE, SLOT_BYTES));
    } catch {
      // An address-space limit (ulimit -v) can refuse the reservation: page cache it is.
      unavailable = true;
      return undefined;
    }
  }
  return free.pop();
}

/** Gives a slot back; its content is garbage to the next borrower. */
export function returnAligned(slot: Buffer): void {
  free!.push(slot);
}
