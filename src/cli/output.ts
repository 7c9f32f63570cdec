import { isSensorProxyError, errorMessage } from '../model/errors.js';

/** Documented exit codes (README "Exit codes"). */
export const ExitCode = { Success: 0, Failed: 1, Usage: 2 } as const;

/** Writes one ndjson line to stdout. */
export function writeJsonLine(obj: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ ...obj, ts: new Date().toISOString() }) + '\n');
}

/** An error as the CLI shows it: `error [CODE]: message` plus `hint:` when there is one. */
export function formatHumanError(e: unknown): string {
  if (isSensorProxyError(e)) return `error [${e.code}]: ${e.message}${e.hint ? `\nhint: ${e.hint}` : ''}`;
  const code = (e as { code?: unknown })?.code;
  return `error${typeof code === 'string' ? ` [${code}]` : ''}: ${errorMessage(e)}`;
}

export function errorObject(e: unknown): Record<string, unknown> {
  if (isSensorProxyError(e))
    return { code: e.code, message: e.message, details: e.details, ...(e.hint && { hint: e.hint }) };
  const code = (e as { code?: unknown })?.code;
  return { code: typeof code === 'string' ? code : 'INTERNAL', message: errorMessage(e) };
}

/** Pads cells to a plain-text table. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
