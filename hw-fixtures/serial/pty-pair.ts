import { spawn, type ChildProcess } from 'node:child_process';

/** A connected pair of pseudo-terminals: bytes written to one end are read on the other. */
export interface PtyPair {
  /** Path of end A (the `link` symlink when one was asked for, else `/dev/pts/N`). */
  readonly a: string;
  /** Path of end B. */
  readonly b: string;
  /** The `/dev/pts/N` devices behind `a` and `b`. */
  readonly devices: readonly [string, string];
  /**
   * Kills socat. Both ends vanish: a port still open on either end then reads EIO, which the
   * serialport link reports as `SERIAL_DISCONNECTED` (what an unplugged USB adapter looks like).
   * Idempotent.
   */
  close(): Promise<void>;
}

export interface PtyPairOptions {
  /** Stable symlink for end A (socat `link=`), e.g. to re-create a pair under the same name. */
  linkA?: string;
  /** Stable symlink for end B. */
  linkB?: string;
  /** How long to wait for socat to report both ptys, ms. Default 5000. */
  startTimeoutMs?: number;
}

/**
 * Starts `socat -d -d pty,raw,echo=0 pty,raw,echo=0` (reference/bus-protocols.md §2.5) and
 * parses the two `/dev/pts/N` paths from its stderr ("N PTY is /dev/pts/3"). A pty has no line
 * rate and no modem lines: pacing is the simulator's job (`paced-port.ts`).
 *
 * Rejects with a clear message when socat is missing ("apt-get install socat"), exits early, or
 * does not report both ends within `startTimeoutMs`.
 */
export function openPtyPair(options: PtyPairOptions = {}): Promise<PtyPair> {
  const addr = (link?: string) => `pty,raw,echo=0${link ? `,link=${link}` : ''}`;
  const child = spawn('socat', ['-d', '-d', addr(options.linkA), addr(options.linkB)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const timeoutMs = options.startTimeoutMs ?? 5000;
  return new Promise<PtyPair>((resolve, reject) => {
    const devices: string[] = [];
    let stderr = '';
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    const timer = setTimeout(
      () => fail(new Error(`socat did not report two ptys within ${timeoutMs} ms; stderr: ${stderr.trim()}`)),
      timeoutMs,
    );
    child.once('error', (err: NodeJS.ErrnoException) => {
      fail(
        err.code === 'ENOENT'
          ? new Error('socat is not installed: apt-get install socat (needed for the pty loopback rig)', { cause: err })
          : err,
      );
    });
    child.once('exit', (code, sig) =>
      fail(new Error(`socat exited early (code ${code}, signal ${sig}); stderr: ${stderr.trim()}`)),
    );
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (text: string) => {
      if (settled) return;
      stderr += text;
      for (const m of text.matchAll(/PTY is (\/dev\/pts\/\d+)/g)) devices.push(m[1]!);
      // The transfer loop line comes after both ptys (and their links) exist.
      if (devices.length >= 2 && /starting data transfer loop/.test(stderr)) {
        settled = true;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.stderr!.resume();
        resolve(
          makePair(child, options.linkA ?? devices[0]!, options.linkB ?? devices[1]!, [devices[0]!, devices[1]!]),
        );
      }
    });
  });
}

/** socat processes still running, killed if the test process exits without closing them. */
const live = new Set<ChildProcess>();
let exitHook = false;

function makePair(child: ChildProcess, a: string, b: string, devices: [string, string]): PtyPair {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const force = setTimeout(() => child.kill('SIGKILL'), 2000);
      child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      child.kill('SIGTERM');
    });
    return closing;
  };
  return { a, b, devices, close };
}
