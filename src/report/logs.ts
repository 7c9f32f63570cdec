import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { redactText } from './redact.js';

export interface LogPart {
  /** Name in the bundle's `logs/` folder. */
  name: string;
  text: string;
  /** Set when only the end of the source was taken. */
  truncatedFrom?: number;
  /** Set when the source could not be read (the text then says why). */
  missing?: boolean;
}

/** Most of one log source a bundle takes: its last bytes. */
export const MAX_LOG_BYTES = 4 * 1024 * 1024;
/** Journal lines a bundle takes from the `sensor-proxy` service. */
export const JOURNAL_LINES = 5000;

/**
 * The product's log files: `logFile` and its rotated `logFile.1` (src/cli/log-file.ts), last
 * {@link MAX_LOG_BYTES} of each, secrets redacted.
 */
export async function readLogFiles(logFile: string | undefined): Promise<LogPart[]> {
  if (!logFile)
    return [{ name: 'log-file.txt', text: 'no log file: "logFile" is false in the config\n', missing: true }];
  const out: LogPart[] = [];
  for (const path of [logFile + '.1', logFile]) {
    const part = await tail(path, basename(path));
    if (part) out.push(part);
  }
  if (out.length === 0)
    out.push({
      name: 'log-file.txt',
      text: `no log file at ${logFile} yet (written by flash and agent)\n`,
      missing: true,
    });
  return out;
}

async function tail(path: string, name: string): Promise<LogPart | undefined> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { name: name + '.unreadable.txt', text: `cannot read ${path}: ${(e as Error).message}\n`, missing: true };
  }
  try {
    const { size } = await fh.stat();
    const len = Math.min(size, MAX_LOG_BYTES);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    let text = buf.toString('utf8');
    if (len < size) text = text.slice(text.indexOf('\n') + 1); // from the first whole line
    return { name, text: redactText(text), ...(len < size && { truncatedFrom: size }) };
  } finally {
    await fh.close();
  }
}

/**
 * The `sensor-proxy` service's journal (the agent logs to stderr, which systemd keeps), last
 * {@link JOURNAL_LINES} lines, secrets redacted; where there is no journalctl or no access, a note
 * saying why.
 */
export function readJournal(unit = 'sensor-proxy.service', timeoutMs = 15_000): Promise<LogPart> {
  return new Promise((resolve) => {
    execFile(
      'journalctl',
      ['-u', unit, '-n', String(JOURNAL_LINES), '--no-pager', '-o', 'short-iso-precise'],
      { timeout: timeoutMs, maxBuffer: MAX_LOG_BYTES * 2, env: { ...process.env, SYSTEMD_PAGER: '' } },
      (err, stdout, stderr) => {
        if (err) {
          const why =
            (err as NodeJS.ErrnoException).code === 'ENOENT'
              ? 'journalctl is not installed'
              : (stderr || err.message).trim();
          resolve({ name: 'journal.txt', text: `no journal of ${unit}: ${why}\n`, missing: true });
        } else resolve({ name: 'journal.txt', text: redactText(stdout) });
      },
    );
  });
}
