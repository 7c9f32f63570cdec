import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import type { Logger } from '../../model/logger.js';
import { OutputLines } from './output-lines.js';

/**
 * Runs one script process the way adu-shell does (`reference/adu-agent.md` §3.2): argv as an
 * array, never through a shell, cwd = work folder. The script is started in its own process
 * group (`detached`), so cancel and timeout reach everything it started:
 *
 * ```
 * abort / timeout ──> SIGTERM to -pgid ──(killGraceMs)──> SIGKILL to -pgid ──> 'close' ──> outcome
 * exit ──> wait for stdout/stderr to close (≤ STDIO_DRAIN_MS; a background child may hold them) ──> outcome
 * ```
 */

/** Timer seam so tests can fire the overall timeout without waiting for it. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** After the script exits, how long to wait for its pipes to close before giving up on them, ms. */
export const STDIO_DRAIN_MS = 2000;

/** Node's setTimeout limit (2^31-1 ms, about 24.8 days); longer timeouts are clamped to it. */
const MAX_TIMER_MS = 0x7fffffff;

export interface RunScriptOptions {
  /** Absolute path of the (executable) script. */
  scriptPath: string;
  argv: readonly string[];
  cwd: string;
  /** Added to (and overriding) the agent's environment. */
  env: Readonly<Record<string, string>>;
  /** Overall limit of the run, ms. */
  timeoutMs: number;
  /** SIGTERM → SIGKILL grace on abort or timeout, ms. */
  killGraceMs: number;
  /** Abort stops the script (SIGTERM, then SIGKILL). Omit it for a run that must not be cut short by the caller. */
  signal?: AbortSignal;
  /** Receives stdout lines at debug and stderr lines at warn (`stream` field). */
  log: Logger;
  timers?: Timers;
  /** Characters of stderr kept for result details. Default 4096. */
  stderrTailChars?: number;
}

/** How a run ended. `forced` is true when the grace ran out and SIGKILL was sent. */
export type ScriptRunOutcome =
  | { kind: 'exited'; exitCode: number; stderrTail: string }
  | { kind: 'signalled'; signal: string; stderrTail: string }
  | { kind: 'timed-out'; timeoutMs: number; forced: boolean; stderrTail: string }
  | { kind: 'aborted'; forced: boolean; stderrTail: string }
  | { kind: 'spawn-failed'; error: Error };

/** Runs the script to its end; never rejects: every way it can end is an outcome. */
export function runScript(o: RunScriptOptions): Promise<ScriptRunOutcome> {
  return new Promise<ScriptRunOutcome>((resolve) => {
    if (o.signal?.aborted) return resolve({ kind: 'aborted', forced: false, stderrTail: '' });
    const timers = o.timers ?? realTimers;
    let child: ChildProcess;
    try {
      child = spawn(o.scriptPath, [...o.argv], {
        cwd: o.cwd,
        env: { ...process.env, ...o.env },
        detached: true,
        shell: false,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (e) {
      return resolve({ kind: 'spawn-failed', error: e instanceof Error ? e : new Error(String(e)) });
    }

    const stdout = new OutputLines((line) => o.log.debug({ stream: 'stdout' }, line));
    // Scripts write progress and notes to stderr too: info, named by the step's bindings; a failure is logged with its result.
    const stderr = new OutputLines((line) => o.log.info({ stream: 'stderr' }, line), o.stderrTailChars ?? 4096);
    child.stdout?.on('data', (chunk: Uint8Array) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Uint8Array) => stderr.push(chunk));

    let stopReason: 'aborted' | 'timed-out' | undefined;
    let forced = false;
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let done = false;
    let graceTimer: unknown;
    let drainTimer: unknown;

    const killGroup = (sig: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch (e) {
        // ESRCH: every process of the group has already gone, which is what we wanted.
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ESRCH') o.log.debug({ signal: sig }, 'script process group already gone');
        else o.log.warn({ err: e, signal: sig }, 'could not signal the script process group');
      }
    };

    const stop = (reason: 'aborted' | 'timed-out'): void => {
      if (done || stopReason !== undefined || exited !== undefined) return;
      stopReason = reason;
      o.log.warn({ reason, pid: child.pid }, 'stopping script: SIGTERM to its process group');
      killGroup('SIGTERM');
      graceTimer = timers.setTimeout(() => {
        forced = true;
        o.log.warn(
          { reason, pid: child.pid, killGraceMs: o.killGraceMs },
          'script still running after grace: SIGKILL to its process group',
        );
        killGroup('SIGKILL');
        startDrain(
          'a process of the script escaped its process group and still holds its stdout/stderr; not waiting for it',
        );
      }, o.killGraceMs);
    };

    const onAbort = (): void => stop('aborted');
    const timeoutTimer = timers.setTimeout(() => stop('timed-out'), Math.min(Math.max(0, o.timeoutMs), MAX_TIMER_MS));
    o.signal?.addEventListener('abort', onAbort, { once: true });

    const finish = (outcome: ScriptRunOutcome): void => {
      if (done) return;
      done = true;
      timers.clearTimeout(timeoutTimer);
      if (graceTimer !== undefined) timers.clearTimeout(graceTimer);
      if (drainTimer !== undefined) timers.clearTimeout(drainTimer);
      o.signal?.removeEventListener('abort', onAbort);
      resolve(outcome);
    };

    const startDrain = (why: string): void => {
      if (done || drainTimer !== undefined) return;
      drainTimer = timers.setTimeout(() => {
        o.log.warn({ pid: child.pid }, why);
        child.stdout?.destroy();
        child.stderr?.destroy();
        settle();
      }, STDIO_DRAIN_MS);
    };

    const settle = (): void => {
      if (done) return;
      stdout.end();
      stderr.end();
      const stderrTail = stderr.tail();
      if (stopReason === 'aborted') return finish({ kind: 'aborted', forced, stderrTail });
      if (stopReason === 'timed-out') return finish({ kind: 'timed-out', timeoutMs: o.timeoutMs, forced, stderrTail });
      if (exited?.code !== null && exited?.code !== undefined)
        return finish({ kind: 'exited', exitCode: exited.code, stderrTail });
      finish({ kind: 'signalled', signal: exited?.signal ?? 'unknown', stderrTail });
    };

    child.on('error', (err) => {
      if (child.pid === undefined) return finish({ kind: 'spawn-failed', error: err });
      o.log.warn({ err }, 'script process error');
    });
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      timers.clearTimeout(timeoutTimer);
      // When stopping, the SIGKILL at the end of the grace is what ends the rest of the group.
      if (stopReason === undefined)
        startDrain('script exited but a process it started still holds its stdout/stderr; not waiting for it');
    });
    child.on('close', (code, signal) => {
      if (exited === undefined) exited = { code, signal };
      settle();
    });
  });
}
