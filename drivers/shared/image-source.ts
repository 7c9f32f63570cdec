import { open, type FileHandle } from 'node:fs/promises';

/**
 * A firmware image read in chunks from a file: flash operations take this, never a whole image
 * in memory. `readAt` returns fewer bytes only at the end of the image.
 */
export interface ImageSource {
  readonly size: number;
  readAt(offset: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export class FileImageSource implements ImageSource {
  private constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<FileImageSource> {
    const fh = await open(path, 'r');
    const { size } = await fh.stat();
    return new FileImageSource(fh, size);
  }

  async readAt(offset: number, length: number): Promise<Uint8Array> {
    const n = Math.max(0, Math.min(length, this.size - offset));
    const buf = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      const { bytesRead } = await this.fh.read(buf, done, n - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done === n ? buf : buf.subarray(0, done);
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

/** An image held in memory, for unit tests and small payloads. */
export class BufferImageSource implements ImageSource {
  constructor(private readonly data: Uint8Array) {}
  get size(): number {
    return this.data.length;
  }
  async readAt(offset: number, length: number): Promise<Uint8Array> {
    return this.data.subarray(offset, Math.min(this.data.length, offset + length));
  }
  async close(): Promise<void> {}
}
