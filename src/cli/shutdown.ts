/**
 * How a CLI process ends (issue 13 item 7): a command that returned exits even if something it
 * opened was left open, and SIGTERM/SIGINT end any command within a bound.
 *
 * ```
 * signal 1 ──▶ abort the command's signal (flash cancels, agent suspends its deployment)
 *          └─▶ bound timer ──(stopTimeoutMs)──▶ "did not stop within …" ──▶ exit 128+n
 * signal 2 ──▶ "exiting now" ──▶ exit 128+n
 * command returned ──▶ exit code set ──(DRAIN_MS, only if a handle is still open)──▶ exit anyway
 * ```
 */

/** Exit codes for a forced exit, as a shell reports death by signal (128 + signal number). */
export const SIGNAL_EXIT_CODE = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Default bound between the first SIGTERM/SIGINT and a forced exit, ms. It stays below the
 * service's `TimeoutStopSec=30s` (packaging/systemd/sensor-proxy.service), so the agent exits on
 * its own before systemd's SIGKILL. `SENSOR_PROXY_STOP_TIMEOUT_MS` overrides it.
 */
export const DEFAULT_STOP_TIMEOUT_MS = 20_000;

/** How long a finished command may take to let go of its last handles (log flush) before the exit is forced, ms. */
export const DRAIN_MS = 2_000;

export interface ShutdownIo {
  write: (text: string) => void;
  exit: (code: number) => never;
}

const processIo: ShutdownIo = {
  write: (t) => process.stderr.write(t),
  exit: (code) => process.exit(code),
};

/** `SENSOR_PROXY_STOP_TIMEOUT_MS` when it is a positive integer, else the default. */
export function stopTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.SENSOR_PROXY_STOP_TIMEOUT_MS);
  return Number.isInteger(v) && v > 0 ? v : DEFAULT_STOP_TIMEOUT_MS;
}

/**
 * Installs SIGINT/SIGTERM handlers for `command`: the first signal aborts `controller` and arms
 * the bound; a second one exits at once. Returns a function that removes them.
 */
export function installStopSignals(
  command: string,
  controller: AbortController,
  boundMs: number = stopTimeoutMs(),
  io: ShutdownIo = processIo,
): () => void {
  let received = 0;
  const onSignal = (sig: keyof typeof SIGNAL_EXIT_CODE) => {
    const code = SIGNAL_EXIT_CODE[sig];
    if (++received > 1) {
      io.write(`\nsensor-proxy ${command}: ${sig} again; exiting now\n`);
      io.exit(code);
    }
    if (sig === 'SIGINT') io.write('\ncancelling (Ctrl-C again to exit at once)...\n');
    // If the command ends by itself, its own exit code replaces this one.
    process.exitCode = code;
    controller.abort(new Error(sig === 'SIGINT' ? 'interrupted by the user' : 'terminated'));
    setTimeout(() => {
      io.write(
        `sensor-proxy ${command}: did not stop within ${boundMs} ms of ${sig}; exiting ` +
          '(an unfinished deployment resumes at the next run)\n',
      );
      io.exit(code);
    }, boundMs).unref();
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return () => {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  };
}

/**
 * Sets the exit code of a command that returned and makes sure the process ends: if a handle is
 * still open after {@link DRAIN_MS} (a bug: something was not closed), it says so and exits.
 */
export function exitWhenDone(command: string, code: number, io: ShutdownIo = processIo): void {
  process.exitCode = code;
  setTimeout(() => {
    io.write(`sensor-proxy ${command}: finished, but a handle it opened is still open; exiting anyway\n`);
    io.exit(code);
  }, DRAIN_MS).unref();
}
