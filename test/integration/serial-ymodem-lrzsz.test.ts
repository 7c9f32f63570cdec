/**
 * Interop with lrzsz, an independent YMODEM implementation (reference/bus-protocols.md §2.3, §2.5):
 * our sender → `rb` over a socat pty pair, file compared byte for byte; `sb` → our bootloader
 * simulator, which proves the simulator. Without socat/lrzsz the suite is skipped with the reason,
 * except in CI where the rig must exist.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { BufferImageSource } from '../../drivers/shared/image-source.js';
import { openSerialLink } from '../../drivers/serial/serialport-link.js';
import { YmodemSender } from '../../drivers/serial/ymodem/sender.js';
import { openPtyPair } from '../../hw-fixtures/serial/pty-pair.js';
import { PacedPort } from '../../hw-fixtures/serial/paced-port.js';
import { YmodemBootloaderSim } from '../../hw-fixtures/serial/ymodem-bootloader-sim.js';

function has(cmd: string, arg: string): boolean {
  try {
    execFileSync(cmd, [arg], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const missing = [
  has('socat', '-V') ? '' : 'socat',
  has('rb', '--version') && has('sb', '--version') ? '' : 'lrzsz',
].filter(Boolean);
const skip =
  missing.length > 0 && process.env.CI !== 'true'
    ? `${missing.join(', ')} not installed (apt-get install ${missing.join(' ')})`
    : false;

/** Runs an lrzsz command with stdin and stdout on the pty `tty`, as on a real serial line. */
function onTty(
  tty: string,
  cmd: string,
  args: string[],
  cwd: string,
): { child: ChildProcess; exit: Promise<number | null>; stderr: () => string } {
  const child = spawn('sh', ['-c', 'tty="$1"; shift; exec "$@" < "$tty" > "$tty"', 'sh', tty, cmd, ...args], {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (t: string) => (err += t));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exit, stderr: () => err };
}

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms)),
    ),
  ]).finally(() => clearTimeout(timer));
}

describe('YMODEM interop with lrzsz over a pty pair', { skip }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ymodem-lrzsz-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const size of [1, 128, 1024, 1025, 100 * 1024]) {
    it(`our sender → rb: a ${size}-byte file arrives byte for byte`, { timeout: 30_000 }, async () => {
      const pair = await openPtyPair();
      const image = randomBytes(size);
      const name = `fw-${size}.bin`;
      const rb = onTty(pair.b, 'rb', ['--ymodem', '-b', '-y', '-q'], dir);
      const link = await openSerialLink({ path: pair.a, baudRate: 115200, assertControlLinesOnOpen: false });
      try {
        const result = await new YmodemSender(link, { timeouts: { startMs: 10_000, ackMs: 5_000 } }).send(
          new BufferImageSource(image),
          { fileName: name },
        );
        assert.equal(result.bytesSent, size);
        assert.equal(await withDeadline(rb.exit, 10_000, 'rb exit'), 0, `rb failed: ${rb.stderr()}`);
        assert.deepEqual(await readFile(join(dir, name)), image);
      } finally {
        rb.child.kill('SIGKILL');
        await link.close();
        await pair.close();
      }
    });
  }

  // rb -X without -c is an XMODEM receiver in checksum mode: it starts with NAK, takes 128-byte
  // blocks with an 8-bit checksum and pads the file to a whole block with CPMEOF (0x1A).
  // rb exits right after it ACKs the EOT; the test holds the pty open, as a real UART stays up,
  // because the last close of a pty makes socat hang up the pair, and the hangup drops the ACK
  // from our end's input queue before the sender reads it (lrzsz's own sx, blocked in read(),
  // wins that race; Node's poll-then-read does not).
  for (const size of [1, 300, 20 * 1024]) {
    it(
      `our sender → rb -X in checksum mode: a ${size}-byte file arrives (padded to 128)`,
      { timeout: 60_000 },
      async () => {
        const pair = await openPtyPair();
        const image = randomBytes(size);
        const name = `xm-${size}.bin`;
        const hold = await open(pair.b, constants.O_RDWR | constants.O_NOCTTY);
        const rb = onTty(pair.b, 'rb', ['-X', '-b', '-y', '-q', name], dir);
        const link = await openSerialLink({ path: pair.a, baudRate: 115200, assertControlLinesOnOpen: false });
        try {
          const result = await new YmodemSender(link, {
            endOfBatch: false,
            timeouts: { startMs: 20_000, ackMs: 5_000 },
          }).send(new BufferImageSource(image), { fileName: name });
          assert.equal(result.bytesSent, size);
          assert.equal(await withDeadline(rb.exit, 20_000, 'rb exit'), 0, `rb failed: ${rb.stderr()}`);
          const got = await readFile(join(dir, name));
          assert.equal(got.length, Math.ceil(size / 128) * 128, 'checksum mode sends 128-byte blocks');
          assert.deepEqual(got.subarray(0, size), image);
          assert.ok(
            got.subarray(size).every((b) => b === 0x1a),
            'padding is CPMEOF',
          );
        } finally {
          rb.child.kill('SIGKILL');
          await hold.close();
          await link.close();
          await pair.close();
        }
      },
    );
  }

  for (const size of [1, 1025, 100 * 1024]) {
    it(`sb → our bootloader simulator: a ${size}-byte file is stored byte for byte`, { timeout: 30_000 }, async () => {
      const pair = await openPtyPair();
      const image = randomBytes(size);
      const name = `sb-${size}.bin`;
      await writeFile(join(dir, name), image);
      const port = await PacedPort.open({ path: pair.a, baudRate: 0 });
      const sim = new YmodemBootloaderSim({ port, startIn: 'bootloader', timing: { cIntervalMs: 200 } });
      const sb = onTty(pair.b, 'sb', ['--ymodem', '-k', '-b', '-q', name], dir);
      try {
        const record = await sim.waitForTransfer(1, 20_000);
        assert.equal(record.kind, 'complete', JSON.stringify({ kind: record.kind, stats: record.stats }));
        assert.equal(record.files[0]!.fileName, name);
        assert.equal(record.files[0]!.size, size);
        assert.deepEqual(Buffer.from(record.files[0]!.data), image);
        assert.ok(record.kind === 'complete' && record.endOfBatch, 'sb sent the null block 0');
        assert.ok(record.stats.naks >= 1, 'the simulator NAKed the first EOT and sb repeated it');
      } finally {
        sb.child.kill('SIGKILL');
        await sim.close();
        await pair.close();
      }
    });
  }
});
