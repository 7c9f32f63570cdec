import type { ImageSource } from '../../shared/image-source.js';

/**
 * Reads image chunks through a bounded read-ahead window, so a sequential upload costs one
 * source read per `windowSize` bytes instead of one per SMP request (each file read is a
 * thread-pool round trip that would add to every request's turnaround). Memory stays bounded
 * by the window; a jump (resume, device went back) refills it from the new offset.
 */
export class ChunkReader {
  private window: Uint8Array = new Uint8Array(0);
  private windowOff = 0;

  /** @param windowSize Read-ahead size, bytes. Default 16 KiB. */
  constructor(
    private readonly source: ImageSource,
    private readonly windowSize = 16 * 1024,
  ) {}

  async read(off: number, len: number): Promise<Uint8Array> {
    const end = Math.min(off + len, this.source.size);
    if (off < this.windowOff || end > this.windowOff + this.window.length) {
      this.window = await this.source.readAt(off, Math.max(this.windowSize, end - off));
      this.windowOff = off;
    }
    return this.window.subarray(off - this.windowOff, end - this.windowOff);
  }
}
