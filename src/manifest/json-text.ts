/**
 * JSON text → value, with syntax errors reported by line and column. V8's `JSON.parse` messages
 * carry a position only for some errors (and not in every Node version), so on failure a small
 * RFC 8259 scanner walks the text again to find the first offending character.
 */
import { SensorProxyError } from '../model/errors.js';
import { INPUT_LIMITS, jsonShapeProblem, tooLarge } from '../model/input-limits.js';

/** Where and why a JSON text is malformed. `line` and `column` are 1-based; columns count UTF-16 units. */
export interface JsonSyntaxError {
  offset: number;
  line: number;
  column: number;
  reason: string;
}

/** Deepest nesting the scanner follows before giving up (keeps it off the call-stack limit). */
const MAX_DEPTH = 5000;

/** Thrown inside the scanner at the first syntax error; findJsonSyntaxError turns it into its result. */
class ScanFailure extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

class Scanner {
  pos = 0;
  constructor(private readonly text: string) {}

  fail(reason: string, at = this.pos): never {
    throw new ScanFailure(at, reason);
  }

  ws(): void {
    while (this.pos < this.text.length && ' \t\n\r'.includes(this.text[this.pos]!)) this.pos++;
  }

  describe(): string {
    return this.pos >= this.text.length
      ? 'unexpected end of input'
      : `unexpected character ${JSON.stringify(this.text[this.pos])}`;
  }

  value(depth: number): void {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH} levels`);
    this.ws();
    const c = this.text[this.pos];
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const word of ['true', 'false', 'null']) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return;
      }
    }
    this.fail(`${this.describe()} where a value was expected`);
  }

  object(depth: number): void {
    this.pos++;
    this.ws();
    if (this.text[this.pos] === '}') return void this.pos++;
    for (;;) {
      this.ws();
      if (this.text[this.pos] !== '"')
        this.fail(
          this.text[this.pos] === '}'
            ? 'trailing comma before "}"'
            : `${this.describe()} where a property name in double quotes was expected`,
        );
      this.string();
      this.ws();
      if (this.text[this.pos] !== ':') this.fail(`${this.describe()} where ":" was expected`);
      this.pos++;
      this.value(depth + 1);
      this.ws();
      if (this.text[this.pos] === ',') {
        this.pos++;
        continue;
      }
      if (this.text[this.pos] === '}') return void this.pos++;
      this.fail(`${this.describe()} where "," or "}" was expected`);
    }
  }

  array(depth: number): void {
    this.pos++;
    this.ws();
    if (this.text[this.pos] === ']') return void this.pos++;
    for (;;) {
      this.ws();
      if (this.text[this.pos] === ']') this.fail('trailing comma before "]"');
      this.value(depth + 1);
      this.ws();
      if (this.text[this.pos] === ',') {
        this.pos++;
        continue;
      }
      if (this.text[this.pos] === ']') return void this.pos++;
      this.fail(`${this.describe()} where "," or "]" was expected`);
    }
  }

  string(): void {
    const start = this.pos++;
    while (this.pos < this.text.length) {
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x22) return void this.pos++;
      if (c < 0x20) this.fail('control character inside a string (escape it, e.g. \\n)');
      if (c === 0x5c) {
        const e = this.text[this.pos + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(this.text.slice(this.pos + 2, this.pos + 6)))
            this.fail('bad \\u escape (needs four hex digits)');
          this.pos += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) this.fail(`bad escape "\\${e ?? ''}"`);
        this.pos += 2;
        continue;
      }
      this.pos++;
    }
    this.fail('unterminated string', start);
  }

  number(): void {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(this.text.slice(this.pos, this.pos + 400));
    if (!m) this.fail('malformed number');
    this.pos += m[0].length;
    const next = this.text[this.pos];
    if (next !== undefined && /[0-9.eE+-]/.test(next)) this.fail('malformed number');
  }
}

/** 1-based line and column of `offset` in `text` (lines end at `\n`). */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/** The first syntax error in `text`, or undefined when it is valid JSON. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  const s = new Scanner(text);
  try {
    s.value(0);
    s.ws();
    if (s.pos < text.length) s.fail(`${s.describe()} after the end of the JSON value`);
    return undefined;
  } catch (e) {
    const { offset, reason } = e as ScanFailure;
    return { offset, reason, ...lineColumn(text, offset) };
  }
}

/** The manifest size limit as `tooLarge` wants it. */
export const MANIFEST_SIZE_LIMIT = {
  limit: INPUT_LIMITS.manifestBytes,
  code: 'MANIFEST_TOO_LARGE',
  what: 'manifest',
  hint: `an update manifest of at most 10 steps, 10 files and 10 compatibility sets is a few KB; check the file, or move bulky handlerProperties into a payload file`,
} as const;

/**
 * Parses manifest JSON text (a leading UTF-8 BOM is ignored). Text over
 * `INPUT_LIMITS.manifestBytes`, nested deeper than `INPUT_LIMITS.jsonDepth` or with more than
 * `INPUT_LIMITS.jsonValues` values is refused before it is parsed.
 * @param source Names the text in the message (a path, or `path#updateManifest`).
 * @throws SensorProxyError `MANIFEST_TOO_LARGE` (size or nesting), `MANIFEST_INVALID_JSON` whose
 *   message starts `<source>:<line>:<column>:`, `details: { source, line, column, offset, reason }`.
 */
export function parseJsonText(text: string, source: string): unknown {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MANIFEST_SIZE_LIMIT.limit) throw tooLarge(source, bytes, MANIFEST_SIZE_LIMIT);
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const shape = jsonShapeProblem(body);
  if (shape !== undefined) {
    const { line, column } = lineColumn(body, shape.offset);
    throw new SensorProxyError('MANIFEST_TOO_LARGE', `${source}:${line}:${column}: JSON ${shape.reason}`, {
      details: { source, line, column, reason: shape.reason },
      hint: `no manifest needs that many levels or values; check the file (the limits are listed in the README, "Input limits")`,
    });
  }
  try {
    return JSON.parse(body);
  } catch (e) {
    const where = findJsonSyntaxError(body) ?? {
      offset: body.length,
      reason: (e as Error).message,
      ...lineColumn(body, body.length),
    };
    // Positions are reported in the text as given, so count the BOM back in for the offset.
    const offset = where.offset + (body === text ? 0 : 1);
    throw new SensorProxyError(
      'MANIFEST_INVALID_JSON',
      `${source}:${where.line}:${where.column}: invalid JSON: ${where.reason}`,
      {
        details: { source, line: where.line, column: where.column, offset, reason: where.reason },
        hint: `fix the JSON syntax at line ${where.line}, column ${where.column}`,
        cause: e,
      },
    );
  }
}
