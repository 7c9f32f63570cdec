import type { ImageSource } from '../../shared/image-source.js';

/**
 * Reads an image in windows of `windowBytes` (default 64 KiB) and serves the small DNLOAD/UPLOAD
 * chunks from memory: one file read per window instead of one per 256-byte block (each read is a
 * libuv thread-pool round trip). Only one window is held, never the whole image.
 */
export class ReadAheadSource implements ImageSource {
  private start = 0;
  private window: Uint8Array = new Uint8Array(0);

  constructor(
    private readonly inner: ImageSource,
    private readonly windowBytes = 64 * 1024,
  ) {}

  get size(): number {
    return this.inner.size;
  }

  /** The bytes when the window already holds them (no await, no promise), else undefined. */
  cached(offset: number, length: number): Uint8Array | undefined {
    const end = Math.min(this.size, offset + length);
    if (offset < this.start || end > this.start + this.window.length) return undefined;
    return this.window.subarray(offset - this.start, end - this.start);
  }

  async readAt(offset: number, length: number): Promise<Uint8Array> {
    const end = Math.min(this.size, offset + length);
    if (offset < this.start || end > this.start + this.window.length) {
      if (length >= this.windowBytes) return this.inner.readAt(offset, length);
      this.start = offset;
      this.window = await this.inner.readAt(offset, Math.max(length, this.windowBytes));
    }
    return this.window.subarray(offset - this.start, end - this.start);
  }

  /** Does not close the inner source: its owner does. */
  async close(): Promise<void> {
    this.window = new Uint8Array(0);
  }
}
