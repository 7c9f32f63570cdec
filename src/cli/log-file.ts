import { closeSync, fstatSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** Where `flash` and `agent` keep their logs, bounded (config `logFile`, `logFileMaxBytes`). */
export interface LogFileSettings {
  path: string;
  maxBytes: number;
}

/**
 * An append-only log file of bounded size for pino: when a line would take the file past
 * `maxBytes`, the file becomes `<path>.1` (replacing the older one) and a new file starts, so the
 * logs never take more than about twice `maxBytes`. `sensor-proxy report` bundles both. Writes are
 * synchronous whole lines with O_APPEND, so two processes (the agent and a `flash`) can share it.
 * A file that cannot be opened or written never fails the command: the problem is reported once
 * through `onError` and logging to the file stops.
 */
export class RotatingLogFile {
  private fd: number | undefined;
  private size = 0;
  private broken = false;

  constructor(
    private readonly settings: LogFileSettings,
    private readonly onError: (e: Error) => void,
  ) {}

  write(line: string): boolean {
    if (this.broken) return true;
    try {
      const len = Buffer.byteLength(line);
      if (this.fd === undefined) this.open();
      if (this.size > 0 && this.size + len > this.settings.maxBytes) this.rotate();
      writeSync(this.fd!, line);
      this.size += len;
    } catch (e) {
      this.broken = true;
      this.close();
      this.onError(e as Error);
    }
    return true;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  private open(): void {
    mkdirSync(dirname(this.settings.path), { recursive: true, mode: 0o750 });
    this.fd = openSync(this.settings.path, 'a', 0o640);
    this.size = fstatSync(this.fd).size;
  }

  private rotate(): void {
    this.close();
    renameSync(this.settings.path, this.settings.path + '.1');
    this.open();
  }
}
