import { StringDecoder } from 'node:string_decoder';

/**
 * Turns a child's stdout or stderr byte stream into lines for the logger, and keeps the last
 * `tailBytes` of the text for result details. A line longer than `maxLineChars` is emitted in
 * pieces so one runaway line cannot grow memory without bound.
 */
export class OutputLines {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  private tailText = '';

  /**
   * @param onLine called once per complete line (without the newline; a trailing `\r` is removed).
   * @param tailBytes how much of the end of the stream {@link tail} keeps, in characters. Default 4096.
   * @param maxLineChars longest line passed to `onLine` in one piece. Default 4096.
   */
  constructor(
    private readonly onLine: (line: string) => void,
    private readonly tailBytes = 4096,
    private readonly maxLineChars = 4096,
  ) {}

  /** Feeds one chunk as read from the pipe. */
  push(chunk: Uint8Array): void {
    this.take(this.decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
  }

  /** Flushes a last line without newline. Call once, when the stream has ended. */
  end(): void {
    this.take(this.decoder.end());
    if (this.partial.length > 0) this.emit(this.partial);
    this.partial = '';
  }

  /** The last `tailBytes` characters seen, trimmed of surrounding whitespace. */
  tail(): string {
    return this.tailText.trim();
  }

  private take(text: string): void {
    if (text.length === 0) return;
    this.tailText = (this.tailText + text).slice(-this.tailBytes);
    let buf = this.partial + text;
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      this.emit(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      nl = buf.indexOf('\n');
    }
    while (buf.length > this.maxLineChars) {
      this.emit(buf.slice(0, this.maxLineChars));
      buf = buf.slice(this.maxLineChars);
    }
    this.partial = buf;
  }

  private emit(line: string): void {
    this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }
}
