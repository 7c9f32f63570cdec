import type { DestinationStream } from 'pino';
import { loadPino } from './lazy-logger.js';

type Interceptor = (text: string) => void;
let interceptor: Interceptor | undefined;
/** pino's own synchronous stderr writer (retries EAGAIN on a non-blocking pipe). */
let direct: DestinationStream | undefined;

/**
 * The CLI's log lines on stderr (a pino destination: `write(string)`). While a live progress block
 * is on the terminal (src/cli/tty-renderer.ts), lines go through it, so it can print them above
 * itself instead of having them break its in-place redraw.
 */
export const stderrLines = {
  write(text: string): boolean {
    if (interceptor) interceptor(text);
    else (direct ??= loadPino().destination({ fd: 2, sync: true })).write(text);
    return true;
  },
};

/** Routes log lines through `fn` until the returned function is called. */
export function interceptStderrLines(fn: Interceptor): () => void {
  interceptor = fn;
  return () => {
    if (interceptor === fn) interceptor = undefined;
  };
}
