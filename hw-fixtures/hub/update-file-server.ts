/**
 * The emulator's download endpoint: serves registered update files over HTTP with single-range
 * support (RFC 9110 §14: `Range: bytes=a-` / `a-b` → 206 + `Content-Range`), as the Device Update
 * CDN does. Fault switches per file: cut the connection after N bytes (the next request gets the
 * rest), answer 404, or stall after N bytes. Every request is logged for assertions.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { basename } from 'node:path';

export interface ServedRequest {
  name: string;
  range: string | undefined;
  status: number;
  /** Bytes actually written before the response ended or was cut. */
  bytesSent: number;
}

interface Fault {
  kind: 'cut' | 'missing';
  /** For `cut`: bytes of the body sent before the socket is destroyed. */
  afterBytes?: number;
  /** Requests left that the fault applies to (Infinity = always). */
  times: number;
}

export type AdminHandler = (req: IncomingMessage, body: string) => Promise<{ status: number; json: unknown }>;

export class UpdateFileServer {
  readonly requests: ServedRequest[] = [];
  private readonly files = new Map<string, string>();
  private readonly faults = new Map<string, Fault>();
  private readonly sockets = new Set<Socket>();
  /** Requests under `/admin/` go here (the emulator CLI's deploy API). */
  admin: AdminHandler | undefined;
  port = 0;

  private constructor(
    private readonly server: Server,
    readonly host: string,
  ) {}

  static async start(host = '127.0.0.1', port = 0): Promise<UpdateFileServer> {
    const fs = new UpdateFileServer(createServer(), host);
    fs.server.on('request', (req, res) => void fs.handle(req, res));
    fs.server.on('connection', (s: Socket) => {
      fs.sockets.add(s);
      s.on('close', () => fs.sockets.delete(s));
    });
    await new Promise<void>((resolve) => fs.server.listen(port, host, resolve));
    const addr = fs.server.address();
    fs.port = typeof addr === 'object' && addr ? addr.port : 0;
    return fs;
  }

  /** Serves `path` as `/files/<name>` (name defaults to the base name); returns the URL. */
  add(path: string, name = basename(path)): string {
    this.files.set(name, path);
    return this.url(name);
  }

  url(name: string): string {
    return `http://${this.host}:${this.port}/files/${encodeURIComponent(name)}`;
  }

  /** The next `times` requests for `name` are cut after `afterBytes` body bytes. */
  cutAfter(name: string, afterBytes: number, times = 1): void {
    this.faults.set(name, { kind: 'cut', afterBytes, times });
  }

  /** Requests for `name` answer 404 (the URL is dead). */
  missing(name: string): void {
    this.faults.set(name, { kind: 'missing', times: Infinity });
  }

  clearFaults(): void {
    this.faults.clear();
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private takeFault(name: string): Fault | undefined {
    const f = this.faults.get(name);
    if (!f) return undefined;
    if (--f.times <= 0) this.faults.delete(name);
    return f;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.startsWith('/admin/') && this.admin) {
      let body = '';
      for await (const c of req) body += c;
      try {
        const r = await this.admin(req, body);
        res.writeHead(r.status, { 'content-type': 'application/json' }).end(JSON.stringify(r.json));
      } catch (e) {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: (e as Error).message }));
      }
      return;
    }
    const name = decodeURIComponent(url.pathname.replace(/^\/files\//, ''));
    const path = this.files.get(name);
    const range = req.headers.range;
    const log = (status: number, bytesSent = 0) => this.requests.push({ name, range, status, bytesSent });
    const fault = path ? this.takeFault(name) : undefined;
    if (!path || fault?.kind === 'missing') {
      log(404);
      res.writeHead(404).end('not found');
      return;
    }
    const size = (await stat(path)).size;
    let start = 0;
    let end = size - 1;
    let status = 200;
    if (range) {
      const m = /^bytes=(\d+)-(\d*)$/.exec(range);
      if (!m || Number(m[1]) >= size) {
        log(416);
        res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
        return;
      }
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
      status = 206;
    }
    const headers: Record<string, string | number> = {
      'content-length': end - start + 1,
      'accept-ranges': 'bytes',
      'content-type': 'application/octet-stream',
    };
    if (status === 206) headers['content-range'] = `bytes ${start}-${end}/${size}`;
    res.writeHead(status, headers);
    let sent = 0;
    const limit = fault?.kind === 'cut' ? (fault.afterBytes ?? 0) : Infinity;
    const stream = createReadStream(path, { start, end, highWaterMark: 64 * 1024 });
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      if (sent + buf.length > limit) {
        const part = buf.subarray(0, limit - sent);
        sent += part.length;
        await new Promise<void>((resolve) => res.write(part, () => resolve()));
        stream.destroy();
        log(status, sent);
        res.socket?.destroy();
        return;
      }
      sent += buf.length;
      if (!res.write(buf)) await new Promise((resolve) => res.once('drain', resolve));
    }
    res.end();
    log(status, sent);
  }
}
