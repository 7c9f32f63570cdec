/**
 * Size limits on everything the agent parses, so that no input, however hostile, can make it
 * allocate more than a few tens of megabytes (a gateway may have 512 MB in all; the goal is a
 * peak RSS under 120 MB). Oversize input is refused by its size before it is parsed, and files are
 * never read past their limit (a file that grows, a FIFO or `/dev/zero` included).
 *
 * How generous they are: the Device Update service limits an update to 10 files, 10 steps and 10
 * compatibility sets, a description to 512 characters and step descriptions to 64 (import schema,
 * `reference/adu-agent.md` §5.3; "Device Update for IoT Hub limits"), so the largest manifest it can
 * import is about 30 KB plus the free-form `handlerProperties` / file `properties`; and IoT Hub caps
 * the desired properties at 32 KB, which is why bigger update manifests travel detached (§5.2).
 * 1 MiB per manifest is 30 times either. Nesting is capped at parson's default (2048 levels), the
 * JSON parser of the ADU agent, and the number of values per document at 65536, which is what
 * bounds the memory of a parsed document (a byte limit alone does not: a megabyte of `{},` is
 * 350 000 objects).
 */
import { open } from 'node:fs/promises';
import { SensorProxyError, type CoreErrorCode } from './errors.js';

const MiB = 1024 * 1024;

export const INPUT_LIMITS = {
  /** Any manifest file: import, update, detached child (`*.updatemanifest.json`), and the twin's `updateManifest`. */
  manifestBytes: 1 * MiB,
  /** The whole desired `deviceUpdate` value of the twin (IoT Hub itself allows 32 KB of desired properties). */
  twinDesiredBytes: 1 * MiB,
  /**
   * One twin message from IoT Hub (a desired PATCH, a GET answer with desired and reported), as it
   * arrives over MQTT: a larger one is dropped unread (`src/hub/twin-size-guard.ts`). The desired
   * limit plus 64 KiB of reported properties (IoT Hub caps those at 32 KB).
   */
  twinMessageBytes: 1 * MiB + 64 * 1024,
  /** The gateway config (`--config`, `/etc/sensor-proxy/config.json`). */
  configBytes: 1 * MiB,
  /** An inventory file (`--inventory`, the static enumerator's `files`). */
  inventoryBytes: 1 * MiB,
  /** Workflow state and agent state files (written by the agent; a few KB in practice). */
  stateFileBytes: 4 * MiB,
  /** Deepest JSON nesting accepted anywhere (parson's `PARSON_MAX_NESTING`). */
  jsonDepth: 2048,
  /**
   * Most values (objects, arrays, strings, numbers…) in one JSON document. The largest valid
   * manifest has a few hundred; 65536 empty objects parse to about 9 MB.
   */
  jsonValues: 65536,
} as const;

/** `1048576` → `1 MiB`, `1536` → `1.5 KiB`: sizes in messages. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  const [v, unit] = n < MiB ? [n / 1024, 'KiB'] : n < 1024 * MiB ? [n / MiB, 'MiB'] : [n / (1024 * MiB), 'GiB'];
  return `${Number(v.toFixed(1))} ${unit}`;
}

export interface SizeLimit {
  /** Largest accepted size in bytes. */
  limit: number;
  /** Error code to throw (`MANIFEST_TOO_LARGE` for manifests, `INPUT_TOO_LARGE` otherwise). */
  code: CoreErrorCode;
  /** What the input is, for the message ("import manifest", "gateway config"). */
  what: string;
  /** What the user can do; a default names the limit. */
  hint?: string;
}

/** The error for `source` being `size` bytes (or "more than limit" when size is unknown). */
export function tooLarge(source: string, size: number | undefined, l: SizeLimit): SensorProxyError {
  const is = size === undefined ? `more than ${formatBytes(l.limit)}` : formatBytes(size);
  return new SensorProxyError(
    l.code,
    `${source}: ${l.what} is ${is}; the limit is ${formatBytes(l.limit)} (${l.limit} bytes)`,
    {
      details: { source, limit: l.limit, ...(size !== undefined && { size }) },
      hint:
        l.hint ??
        `a valid ${l.what} is far smaller; check that ${source} is the file you meant (the limits are listed in the README, "Input limits")`,
    },
  );
}

/**
 * Reads a whole file of at most `l.limit` bytes. A regular file larger than that is refused from
 * its size alone (nothing is read); anything else (a file growing meanwhile, a FIFO, a device) is
 * read up to one byte past the limit and then refused. Errors of `open` (ENOENT, EACCES, EISDIR…)
 * are thrown unchanged for the caller to explain.
 * @throws SensorProxyError `l.code` with `details: { source, limit, size? }`.
 */
export async function readBoundedFile(path: string, l: SizeLimit): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const st = await fh.stat();
    if (st.isDirectory()) {
      const e = new Error(`EISDIR: illegal operation on a directory, read '${path}'`) as NodeJS.ErrnoException;
      e.code = 'EISDIR';
      throw e;
    }
    if (st.isFile() && st.size > l.limit) throw tooLarge(path, st.size, l);
    // A regular file is read into a buffer one byte larger than its size (to notice it grew); a
    // FIFO or device into a growing one. Either way never more than limit + 1 bytes.
    let buf = Buffer.alloc(Math.min(st.isFile() ? st.size + 1 : 64 * 1024, l.limit + 1));
    let used = 0;
    for (;;) {
      if (used === buf.length) {
        if (used > l.limit) throw tooLarge(path, undefined, l);
        const bigger = Buffer.alloc(Math.min(buf.length * 2, l.limit + 1));
        buf.copy(bigger, 0, 0, used);
        buf = bigger;
      }
      const { bytesRead } = await fh.read(buf, used, buf.length - used, null);
      if (bytesRead === 0) return buf.subarray(0, used);
      used += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

/** Why a JSON text is refused before parsing, and where (a character offset). */
export interface JsonShapeProblem {
  offset: number;
  reason: string;
}

/**
 * Checks the shape of JSON `text` before `JSON.parse` builds it: nesting deeper than
 * `INPUT_LIMITS.jsonDepth` (a deep object would overflow a recursive walk such as
 * `JSON.stringify` or `structuredClone`), or more than `INPUT_LIMITS.jsonValues` values (a
 * megabyte of `{},` parses to ~45 MB of objects). A plain character scan, strings skipped; it does
 * not check the syntax (`JSON.parse` does).
 */
export function jsonShapeProblem(
  text: string,
  maxDepth: number = INPUT_LIMITS.jsonDepth,
  maxValues: number = INPUT_LIMITS.jsonValues,
): JsonShapeProblem | undefined {
  let depth = 0;
  let values = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length; i++) {
        const s = text.charCodeAt(i);
        if (s === 0x5c /* \ */) i++;
        else if (s === 0x22) break;
      }
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > maxDepth) return { offset: i, reason: `nested deeper than ${maxDepth} levels` };
      // An array's first element has no comma before it.
      if (c === 0x5b && ++values > maxValues) return { offset: i, reason: `more than ${maxValues} values` };
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    } else if (c === 0x2c /* , */) {
      if (++values > maxValues) return { offset: i, reason: `more than ${maxValues} values` };
    }
  }
  return undefined;
}

/**
 * True when `value` (already parsed, e.g. by the IoT Hub SDK) would serialise to more than
 * `limit` bytes of JSON or holds more than `maxValues` values. An estimate (strings count their UTF-16 length) that stops as soon as
 * the limit is passed, so it costs at most `limit` steps and allocates nothing of the value's size.
 */
export function jsonSizeExceeds(value: unknown, limit: number, maxValues: number = INPUT_LIMITS.jsonValues): boolean {
  let size = 0;
  let values = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    if (++values > maxValues) return true;
    const v = stack.pop();
    if (typeof v === 'string') size += v.length + 2;
    else if (typeof v === 'number' || typeof v === 'boolean') size += 8;
    else if (v === null || v === undefined) size += 4;
    else if (Array.isArray(v)) {
      size += 2 + v.length;
      if (size > limit) return true;
      for (const item of v) stack.push(item);
    } else if (typeof v === 'object') {
      const keys = Object.keys(v);
      size += 2;
      for (const k of keys) {
        size += k.length + 4;
        if (size > limit) return true;
        stack.push((v as Record<string, unknown>)[k]);
      }
    }
    if (size > limit) return true;
  }
  return false;
}

/**
 * Throws `code` when JSON `text` has a {@link jsonShapeProblem}. Manifests report the line and
 * column instead (`parseJsonText`).
 */
export function assertJsonShape(text: string, source: string, code: CoreErrorCode): void {
  const p = jsonShapeProblem(text);
  if (p === undefined) return;
  throw new SensorProxyError(code, `${source}: JSON ${p.reason} (at character ${p.offset})`, {
    details: { source, offset: p.offset, reason: p.reason },
    hint: `check that ${source} is the file you meant (the limits are listed in the README, "Input limits")`,
  });
}
