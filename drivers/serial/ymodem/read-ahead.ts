import type { ImageSource } from '../../shared/image-source.js';

type Outcome = { ok: true; data: Uint8Array } | { ok: false; error: unknown };

/**
 * Reads the next block of the image while the current one is on the wire and awaits its ACK, so
 * the file read (a thread-pool round trip for a file) is off the turnaround path. Holds at most
 * one block besides the frame in flight. A speculative read that is never used (the transfer
 * ended, or the block layout differed) is dropped, its error with it; a used one rethrows.
 */
export class ReadAhead {
  private pending: { offset: number; length: number; result: Promise<Outcome> } | undefined;

  constructor(
    private readonly image: ImageSource,
    private readonly blockSize: number,
  ) {}

  /** Bytes `[offset, offset+length)`, from the read-ahead when it covers them. May return fewer at the image end. */
  async read(offset: number, length: number): Promise<Uint8Array> {
    const p = this.pending;
    this.pending = undefined;
    if (p && p.offset === offset && p.length >= length) {
      const r = await p.result;
      if (!r.ok) throw r.error;
      return r.data.subarray(0, Math.min(length, r.data.length));
    }
    return this.image.readAt(offset, length);
  }

  /** Starts reading the block that begins at `offset` (up to `blockSize`, default the size given at construction). */
  prefetch(offset: number, blockSize = this.blockSize): void {
    if (offset >= this.image.size) return;
    const length = Math.min(blockSize, this.image.size - offset);
    const result = this.image.readAt(offset, length).then(
      (data): Outcome => ({ ok: true, data }),
      (error: unknown): Outcome => ({ ok: false, error }),
    );
    this.pending = { offset, length, result };
  }
}
