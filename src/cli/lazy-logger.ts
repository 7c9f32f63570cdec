import { createRequire } from 'node:module';
import type { Logger } from '../model/logger.js';

type Pino = typeof import('pino').default;
let pinoModule: Pino | undefined;

/**
 * pino, loaded on first use. It is CommonJS, so a synchronous require works from a log call;
 * loading it (about 40 files) costs more than the rest of a CLI start on a slow board.
 */
export function loadPino(): Pino {
  return (pinoModule ??= createRequire(import.meta.url)('pino') as Pino);
}

/** pino's default levels (`pino.levels.values`), so a level check needs no pino. */
const LEVEL_VALUES: Readonly<Record<string, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Infinity,
};

export const isPinoLevel = (level: string): boolean => level in LEVEL_VALUES;

/** The numeric value of a pino level name (`info` when unknown, as pino's default). */
export const levelValue = (level: string): number => LEVEL_VALUES[level] ?? 30;

type Method = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/**
 * A logger that builds its pino logger (and loads pino) on the first line at an enabled level.
 * A happy-path CLI run below `info` writes no line, so it never loads pino. Children stay lazy
 * until they or their parent write; bindings and level answers need no pino.
 */
class LazyLogger {
  private real: Logger | undefined;

  constructor(
    private readonly make: () => Logger,
    private levelName: string,
    private readonly bound: Record<string, unknown>,
  ) {}

  private logger(): Logger {
    return (this.real ??= this.make());
  }

  get level(): string {
    return this.real ? this.real.level : this.levelName;
  }
  set level(level: string) {
    if (this.real) this.real.level = level;
    else this.levelName = level;
  }

  isLevelEnabled(level: string): boolean {
    if (this.real) return this.real.isLevelEnabled(level);
    const v = LEVEL_VALUES[level];
    return v !== undefined && v >= (LEVEL_VALUES[this.levelName] ?? 0);
  }

  bindings(): Record<string, unknown> {
    return this.real ? this.real.bindings() : { ...this.bound };
  }

  child(bindings: Record<string, unknown>, options?: { level?: string }): Logger {
    if (this.real) return this.real.child(bindings, options);
    return lazyLogger(() => this.logger().child(bindings, options), options?.level ?? this.level, {
      ...this.bound,
      ...bindings,
    });
  }

  flush(cb?: (err?: Error) => void): void {
    if (this.real) this.real.flush(cb);
    else cb?.();
  }

  trace(...args: unknown[]): void {
    this.write('trace', args);
  }
  debug(...args: unknown[]): void {
    this.write('debug', args);
  }
  info(...args: unknown[]): void {
    this.write('info', args);
  }
  warn(...args: unknown[]): void {
    this.write('warn', args);
  }
  error(...args: unknown[]): void {
    this.write('error', args);
  }
  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }

  private write(method: Method, args: unknown[]): void {
    if (!this.isLevelEnabled(method)) return;
    (this.logger()[method] as (...a: unknown[]) => void)(...args);
  }
}

/**
 * A {@link Logger} at `level` whose pino logger `make` builds on its first enabled line. `level`
 * must be one of pino's level names (the caller builds eagerly otherwise, so pino reports it).
 */
export function lazyLogger(make: () => Logger, level: string, bound: Record<string, unknown> = {}): Logger {
  return new LazyLogger(make, level, bound) as unknown as Logger;
}
