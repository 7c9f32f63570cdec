/**
 * SMP image upload throughput through the real `serialport` package over a socat pty pair into
 * the SMP device simulator, which runs in its own process and paces both directions at the baud
 * rate (8N1, 10 bits per byte). Prints figures; asserts nothing about speed.
 *
 * Two references per line rate (reference/bus-protocols.md §6):
 *  - line rate: baud / 10 bytes per second;
 *  - SMP framing ceiling: the line time of the upload's bytes, with the exact CBOR, header, length,
 *    CRC, base64 and frame markers of every request this client sends and every response the device
 *    returns, for the way the client uploads:
 *      one request in flight: image bytes / (request + response bytes) × line rate (the protocol's
 *        request/response turnaround, both directions one after the other);
 *      k > 1 requests in flight (the device reported `buf_count` >= 4 in `mcumgr params`; the
 *        product's SMP handler does the same): the first request and its response alone, then
 *        the line is full duplex, so every further request back to back and the last response:
 *        image bytes / (request bytes + first and last response bytes) × line rate.
 *    Flash write time is 0 in this run, so the ceiling is the protocol's own. Both modes run; the
 *    figure with a goal is the product's mode (the window from the device's buffers).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SerialLink } from '../../drivers/serial/link.js';
import { openSerialLink } from '../../drivers/serial/serialport-link.js';
import { encodeBody } from '../../drivers/serial/smp/cbor-body.js';
import { framedSize, rawBytesPerFrame } from '../../drivers/serial/smp/console-framing.js';
import {
  buildUploadRequest,
  fitChunkLength,
  sha256OfSource,
  type UploadPlan,
} from '../../drivers/serial/smp/image-upload.js';
import { SmpClient } from '../../drivers/serial/smp/smp-client.js';
import { FileImageSource } from '../../drivers/shared/image-source.js';
import { openPtyPair } from '../../hw-fixtures/serial/pty-pair.js';
import { buildTestImage } from '../../hw-fixtures/serial/test-image.js';
import { requestLimitForBuffer, requestsInFlightForBuffers } from '../../drivers/serial/smp/buffer-size.js';
import { recordFigure } from './summary.js';

/** The simulated device's SMP buffer; requests are 4 bytes shorter (length + CRC, buffer-size.ts). */
const BUF_SIZE = 256;
const MTU = requestLimitForBuffer(BUF_SIZE);

/** Wraps a link to time the host's own turnaround: last response byte read → next request written. */
function timedLink(inner: SerialLink): SerialLink & { turnaroundsMs: number[] } {
  let lastRead = 0;
  const turnaroundsMs: number[] = [];
  return {
    path: inner.path,
    turnaroundsMs,
    async write(data, signal) {
      await inner.write(data, signal);
      if (lastRead > 0) turnaroundsMs.push(performance.now() - lastRead); // the first write has no response before it
    },
    async read(max, timeoutMs, signal) {
      const d = await inner.read(max, timeoutMs, signal);
      lastRead = performance.now();
      return d;
    },
    readExactly: (n, t, s) => inner.readExactly(n, t, s),
    discardInput: () => inner.discardInput(),
    setControlLines: (l) => inner.setControlLines(l),
    close: () => inner.close(),
  };
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? 0;

/** Wire bytes of the whole upload, request and response directions, the first and last response, and the number of requests and frames. */
function uploadWireCost(plan: UploadPlan): {
  requestBytes: number;
  responseBytes: number;
  firstResponseBytes: number;
  lastResponseBytes: number;
  requests: number;
  frames: number;
} {
  let off = 0;
  let requestBytes = 0;
  let responseBytes = 0;
  let firstResponseBytes = 0;
  let lastResponseBytes = 0;
  let requests = 0;
  let frames = 0;
  while (off < plan.size) {
    const n = fitChunkLength(plan, off, MTU);
    const packet = 8 + encodeBody(buildUploadRequest(plan, off, new Uint8Array(n))).length;
    requestBytes += framedSize(packet);
    frames += Math.ceil((packet + 4) / rawBytesPerFrame());
    off += n;
    const rsp = off === plan.size ? { off, match: true } : { off };
    lastResponseBytes = framedSize(8 + encodeBody(rsp).length);
    if (requests === 0) firstResponseBytes = lastResponseBytes;
    responseBytes += lastResponseBytes;
    requests++;
  }
  return { requestBytes, responseBytes, firstResponseBytes, lastResponseBytes, requests, frames };
}

/** Starts the simulator as a separate process so the host's CPU figures are the host's alone. */
async function startSim(port: string, baud: number): Promise<() => Promise<void>> {
  const here = fileURLToPath(import.meta.url);
  const ts = here.endsWith('.ts');
  const script = fileURLToPath(new URL(`../../hw-fixtures/serial/smp-device-sim.${ts ? 'ts' : 'js'}`, import.meta.url));
  const child = spawn(
    process.execPath,
    [
      ...(ts ? ['--import', 'tsx'] : []),
      script,
      '--port',
      port,
      '--baud',
      String(baud),
      '--flash-us-per-byte',
      '0',
      '--buf-size',
      String(BUF_SIZE),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('simulator did not start within 15 s')), 15_000);
    let err = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (t: string) => {
      err += t;
      if (err.includes('smp-device-sim on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`simulator exited (${code}): ${err}`));
    });
  });
  return () =>
    new Promise<void>((resolve) => {
      child.removeAllListeners('exit');
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
}

async function run(baud: number, size: number, dir: string, product: boolean): Promise<void> {
  const file = join(dir, `image-${baud}.bin`);
  await writeFile(file, buildTestImage('9.9.9', size - 32, baud));
  const source = await FileImageSource.open(file);
  const pair = await openPtyPair();
  const stopSim = await startSim(pair.b, baud);
  const link = timedLink(await openSerialLink({ path: pair.a, baudRate: baud, assertControlLinesOnOpen: false }));
  try {
    const client = new SmpClient(link, { mtu: MTU, timeouts: { responseMs: 5000 } });
    await client.echo('warm-up');
    // As the SMP handler does (smp-connection.ts): the window from the buffers the device reports.
    const window = product ? requestsInFlightForBuffers((await client.mcumgrParams()).bufCount) : 1;
    const sha = await sha256OfSource(source);
    const cost = uploadWireCost({ size: source.size, sha });
    let peakRss = process.memoryUsage().rss;
    const rssStart = peakRss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
    link.turnaroundsMs.length = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await client.imageUpload(source, { sha, requestsInFlight: window });
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    clearInterval(sampler);

    const line = baud / 10;
    const achieved = source.size / seconds;
    const wireBytes =
      window > 1
        ? cost.requestBytes + cost.firstResponseBytes + cost.lastResponseBytes
        : cost.requestBytes + cost.responseBytes;
    const ceiling = (source.size / wireBytes) * line;
    const streaming = (source.size / cost.requestBytes) * line;
    const cpuMs = (cpu.user + cpu.system) / 1000;
    console.log(
      `-- ${baud} baud, ${source.size} B image, MTU ${MTU}, ${window} request(s) in flight${product ? ' (from the device buffers, as the SMP handler)' : ''}, ${r.requests} requests (${(source.size / r.requests).toFixed(0)} B of image each), match=${r.match}, ended with ${r.requestsInFlight} in flight, load ${loadavg()[0]!.toFixed(1)}`,
    );
    console.log(`   time                      ${seconds.toFixed(2)} s`);
    console.log(`   throughput                ${(achieved / 1000).toFixed(2)} kB/s`);
    console.log(
      `   line rate (8N1)           ${(line / 1000).toFixed(2)} kB/s   → ${((100 * achieved) / line).toFixed(1)} % of line rate`,
    );
    console.log(
      `   SMP framing ceiling       ${(ceiling / 1000).toFixed(2)} kB/s   → ${((100 * achieved) / ceiling).toFixed(1)} % of ceiling (${window > 1 ? `requests ${cost.requestBytes} B back to back + first and last response ${cost.firstResponseBytes + cost.lastResponseBytes} B` : `requests ${cost.requestBytes} B + responses ${cost.responseBytes} B`} on the wire)`,
    );
    console.log(
      `   (streaming ceiling, no turnaround: ${(streaming / 1000).toFixed(2)} kB/s = ${((100 * streaming) / line).toFixed(1)} % of line)`,
    );
    if (product)
      recordFigure({
        name: `smp ${baud} baud: fraction of the SMP framing ceiling`,
        value: achieved / ceiling,
        goal: baud >= 921600 ? 0.9 : 0.95,
        better: 'higher',
        unit: 'ratio',
      });
    const hostMs = median(link.turnaroundsMs);
    const perRequestLineMs = (wireBytes / r.requests / line) * 1000;
    // With requests in flight the turnaround overlaps the next request's line time: only meaningful with one.
    if (window === 1) {
      console.log(
        `   host turnaround           ${hostMs.toFixed(3)} ms median per request (response read → next request written and drained); with an instant device: ${((100 * perRequestLineMs) / (perRequestLineMs + hostMs)).toFixed(1)} % of ceiling`,
      );
      console.log(
        `   rig turnaround            ${((seconds * 1000) / r.requests - perRequestLineMs - hostMs).toFixed(3)} ms per request (socat hops + simulator process)`,
      );
    }
    console.log(
      `   host CPU                  ${cpuMs.toFixed(0)} ms total, ${((1000 * cpuMs) / cost.frames).toFixed(0)} µs per request frame (${cost.frames} frames), ${((1000 * cpuMs) / r.requests).toFixed(0)} µs per request`,
    );
    console.log(
      `   host RSS                  ${(rssStart / 2 ** 20).toFixed(1)} MiB at start, ${(peakRss / 2 ** 20).toFixed(1)} MiB peak while streaming`,
    );
  } finally {
    await link.close();
    await stopSim();
    await pair.close();
    await source.close();
  }
}

const dir = await mkdtemp(join(tmpdir(), 'smp-bench-'));
try {
  for (const [baud, size] of [
    [115200, 64 * 1024],
    [921600, 256 * 1024],
  ] as const) {
    await run(baud, size, dir, false); // one request in flight: the request/response turnaround
    await run(baud, size, dir, true); // the product's way: requests in flight from the device's buffers
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
