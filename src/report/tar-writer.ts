import { gzipSync } from 'node:zlib';

/** One regular file of a tar archive. */
export interface TarEntry {
  /** Path inside the archive, `/`-separated, relative. */
  name: string;
  data: Buffer | string;
  /** Unix mode; default 0644. */
  mode?: number;
}

const BLOCK = 512;

/**
 * A POSIX ustar archive (IEEE Std 1003.1-2001 "pax" format without extensions) of regular files,
 * gzip-compressed: what `tar xzf` unpacks everywhere. The bundle is small (bounded logs and
 * records), so it is built in memory. Names up to 255 bytes (ustar prefix + name split).
 */
export function tarGz(entries: TarEntry[], mtime: Date = new Date()): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = typeof e.data === 'string' ? Buffer.from(e.data, 'utf8') : e.data;
    parts.push(header(e.name, data.length, e.mode ?? 0o644, mtime), data);
    const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(BLOCK * 2)); // end of archive: two zero blocks
  return gzipSync(Buffer.concat(parts));
}

function header(name: string, size: number, mode: number, mtime: Date): Buffer {
  const [prefix, base] = splitName(name);
  const h = Buffer.alloc(BLOCK);
  h.write(base, 0, 100, 'utf8');
  octal(h, 100, 8, mode);
  octal(h, 108, 8, 0); // uid
  octal(h, 116, 8, 0); // gid
  octal(h, 124, 12, size);
  octal(h, 136, 12, Math.floor(mtime.getTime() / 1000));
  h.fill(0x20, 148, 156); // checksum field counts as spaces while summing
  h.write('0', 156, 1, 'ascii'); // typeflag: regular file
  h.write('ustar\u000000', 257, 8, 'ascii'); // magic "ustar\0" + version "00"
  h.write('root', 265, 32, 'ascii');
  h.write('root', 297, 32, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\u0000 ', 148, 8, 'ascii');
  return h;
}

function octal(buf: Buffer, offset: number, len: number, value: number): void {
  buf.write(value.toString(8).padStart(len - 1, '0') + '\u0000', offset, len, 'ascii');
}

/** ustar keeps a path as prefix (≤155 bytes) + "/" + name (≤100 bytes). */
function splitName(path: string): [string, string] {
  if (Buffer.byteLength(path) <= 100) return ['', path];
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const base = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(base) <= 100 && base) return [prefix, base];
  }
  throw new Error(`archive path too long for ustar: ${path}`);
}
