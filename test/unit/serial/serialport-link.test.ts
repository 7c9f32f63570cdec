/**
 * SerialLink contract on the real `serialport` backend over a socat pty pair
 * (drivers/serial/link.ts teardown contract; rig: reference/bus-protocols.md §2.5).
 * Without socat the suite is skipped with the reason, except in CI where the rig must exist.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { readdir, readlink, realpath } from 'node:fs/promises';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { isBusError, CancelledError } from '../../../drivers/shared/errors.js';
import type { SerialLink } from '../../../drivers/serial/link.js';
import { openSerialLink } from '../../../drivers/serial/serialport-link.js';
import { openPtyPair, type PtyPair } from '../../../hw-fixtures/serial/pty-pair.js';
import { PacedPort } from '../../../hw-fixtures/serial/paced-port.js';
import { ptyRigSkip } from '../../../hw-fixtures/serial/rig-availability.js';
import { failingControlLinesBinding } from '../../../hw-fixtures/serial/failing-lines-binding.js';
import { repoPath } from '../../../hw-fixtures/repo-root.js';
import type { Component } from '../../../src/model/component.js';
import { collect } from '../../helpers/cli.js';

const skip = ptyRigSkip();

const T = { timeout: 15_000 };
const bytes = (...v: number[]) => Uint8Array.from(v);

function codeOf(e: unknown): string {
  return isBusError(e) ? e.code : `not a BusError: ${String(e)}`;
}

describe('SerialportLink on a pty pair', { skip }, () => {
  let pair: PtyPair;
  let link: SerialLink;
  let peer: PacedPort;

  beforeEach(async () => {
    pair = await openPtyPair();
    link = await openSerialLink({ path: pair.a, baudRate: 115200, assertControlLinesOnOpen: false });
    peer = await PacedPort.open({ path: pair.b, baudRate: 0 });
  });

  afterEach(async () => {
    await link.close();
    await peer.close();
    await pair.close();
  });

  it('delivers every byte the peer wrote, in order, across reads of any size', T, async () => {
    const sent = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff);
    await peer.write(sent.subarray(0, 1000));
    await peer.write(sent.subarray(1000));
    const got: number[] = [];
    while (got.length < sent.length) {
      const chunk = await link.read(37, 2000);
      assert.ok(chunk.length >= 1 && chunk.length <= 37, `chunk of ${chunk.length}`);
      got.push(...chunk);
    }
    assert.deepEqual(Uint8Array.from(got), sent);
  });

  it('readExactly collects bytes from several arrivals', T, async () => {
    const pending = link.readExactly(6, 3000);
    await peer.write(bytes(1, 2));
    await peer.write(bytes(3, 4, 5));
    await peer.write(bytes(6, 7));
    assert.deepEqual(await pending, bytes(1, 2, 3, 4, 5, 6));
    assert.deepEqual(await link.read(10, 2000), bytes(7));
  });

  it('host writes reach the peer', T, async () => {
    const got: number[] = [];
    const done = new Promise<void>((resolve) =>
      peer.onData((d) => {
        got.push(...d);
        if (got.length >= 4) resolve();
      }),
    );
    await link.write(bytes(0x06, 0x09, 0x41, 0x0a));
    await done;
    assert.deepEqual(Uint8Array.from(got), bytes(0x06, 0x09, 0x41, 0x0a));
  });

  it('writes without drain (as the YMODEM sender writes its frames) reach the peer whole and in order', T, async () => {
    const frames = Array.from({ length: 8 }, (_, k) => Uint8Array.from({ length: 1029 }, (_, i) => (i * 7 + k) & 0xff));
    const total = frames.reduce((n, f) => n + f.length, 0);
    const got: number[] = [];
    const done = new Promise<void>((resolve) =>
      peer.onData((d) => {
        got.push(...d);
        if (got.length >= total) resolve();
      }),
    );
    for (const f of frames) await link.write(f, undefined, { drain: false });
    await done;
    assert.deepEqual(Uint8Array.from(got), Uint8Array.from(frames.flatMap((f) => [...f])));
  });

  it('a read with nothing to read fails with SERIAL_TIMEOUT and the link stays usable', T, async () => {
    await assert.rejects(
      link.read(10, 50),
      (e: unknown) => codeOf(e) === 'SERIAL_TIMEOUT' && isBusError(e) && e.details.timeoutMs === 50,
    );
    await peer.write(bytes(9));
    assert.deepEqual(await link.read(10, 2000), bytes(9));
  });

  it('a timed-out readExactly consumes nothing', T, async () => {
    await peer.write(bytes(1, 2, 3));
    await assert.rejects(link.readExactly(5, 200), (e: unknown) => codeOf(e) === 'SERIAL_TIMEOUT');
    assert.deepEqual(await link.readExactly(3, 2000), bytes(1, 2, 3));
  });

  it('abort rejects that read with CancelledError and leaves the link usable', T, async () => {
    const ac = new AbortController();
    const pending = link.read(10, 10_000, ac.signal);
    ac.abort(new Error('user cancel'));
    await assert.rejects(pending, (e: unknown) => e instanceof CancelledError);
    await assert.rejects(link.read(1, 10, AbortSignal.abort()), (e: unknown) => e instanceof CancelledError);
    await peer.write(bytes(5));
    assert.deepEqual(await link.read(10, 2000), bytes(5));
  });

  it('discardInput drops bytes received but not read', T, async () => {
    await peer.write(bytes(1, 2, 3));
    assert.deepEqual(await link.read(1, 2000), bytes(1));
    // The three bytes travel as one pty chunk, so 2 and 3 are buffered now.
    link.discardInput();
    await peer.write(bytes(4));
    assert.deepEqual(await link.read(10, 2000), bytes(4));
  });

  it('close rejects pending and later reads and writes with SERIAL_CLOSED; close is idempotent', T, async () => {
    const pending = assert.rejects(link.read(10, 10_000), (e: unknown) => codeOf(e) === 'SERIAL_CLOSED');
    await link.close();
    await pending;
    await assert.rejects(link.read(1, 100), (e: unknown) => codeOf(e) === 'SERIAL_CLOSED');
    await assert.rejects(link.write(bytes(1)), (e: unknown) => codeOf(e) === 'SERIAL_CLOSED');
    await link.close();
  });

  it('the pty vanishing (socat killed, like an unplug) rejects reads with SERIAL_DISCONNECTED', T, async () => {
    const pending = assert.rejects(link.readExactly(4, 10_000), (e: unknown) => codeOf(e) === 'SERIAL_DISCONNECTED');
    await pair.close();
    await pending;
    await assert.rejects(link.read(1, 100), (e: unknown) => codeOf(e) === 'SERIAL_DISCONNECTED');
    await assert.rejects(link.write(bytes(1)), (e: unknown) => codeOf(e) === 'SERIAL_DISCONNECTED');
  });

  it('setControlLines on a pty (no modem lines) is a no-op, not an error', T, async () => {
    await link.setControlLines({ dtr: true, rts: false });
    await link.write(bytes(1));
  });

  it('a second open of a locked port fails with SERIAL_OPEN_FAILED / EBUSY', T, async () => {
    await assert.rejects(
      openSerialLink({ path: pair.a }),
      (e: unknown) =>
        codeOf(e) === 'SERIAL_OPEN_FAILED' &&
        isBusError(e) &&
        e.details.errno === 'EBUSY' &&
        typeof e.details.hint === 'string',
    );
  });
});

describe('openSerialLink without a device', () => {
  it('a missing path fails with SERIAL_OPEN_FAILED / ENOENT and a hint', T, async () => {
    await assert.rejects(openSerialLink({ path: '/dev/does-not-exist-sensor-proxy' }), (e: unknown) => {
      assert.equal(codeOf(e), 'SERIAL_OPEN_FAILED');
      assert.ok(isBusError(e));
      assert.equal(e.details.errno, 'ENOENT');
      assert.match(String(e.details.hint), /path/);
      return true;
    });
  });
});

/** `/proc/self/fd` entries that point at `device` (the port is open in this process). */
async function openFdsOn(device: string): Promise<number> {
  const fds = await readdir('/proc/self/fd');
  const targets = await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
  return targets.filter((t) => t === device).length;
}

describe('openSerialLink when setting the control lines fails (issue 13 item 7)', { skip }, () => {
  let pair: PtyPair;
  beforeEach(async () => {
    pair = await openPtyPair();
  });
  afterEach(async () => {
    await pair.close();
  });

  it('EIO (adapter gone between open and ioctl): SERIAL_IO, and the port is closed again', T, async () => {
    const device = await realpath(pair.a);
    const { binding, stats } = failingControlLinesBinding('EIO: Input/output error, cannot set');
    await assert.rejects(
      openSerialLink({ path: pair.a, baudRate: 115200, assertControlLinesOnOpen: false, binding }),
      (e: unknown) => {
        assert.equal(codeOf(e), 'SERIAL_IO');
        assert.match(String((e as Error).message), /control lines.*Input\/output error/);
        return true;
      },
    );
    assert.deepEqual(stats, { opened: 1, closed: 1, setCalls: 1 });
    assert.equal(await openFdsOn(device), 0, 'no descriptor of the port left open');
    // The exclusive lock went with it: a second open (locked, like every open) succeeds.
    const again = await openSerialLink({ path: pair.a, baudRate: 115200 });
    await again.close();
  });

  it('ENOSYS (qemu-user, "Function not implemented") still means "no modem lines": the link opens', T, async () => {
    const { binding, stats } = failingControlLinesBinding('Function not implemented, cannot set');
    const link = await openSerialLink({ path: pair.a, baudRate: 115200, assertControlLinesOnOpen: false, binding });
    const peer = await PacedPort.open({ path: pair.b, baudRate: 0 });
    try {
      await peer.write(bytes(0x42));
      assert.deepEqual(await link.read(1, 3000), bytes(0x42));
      assert.equal(stats.setCalls, 1);
    } finally {
      await link.close();
      await peer.close();
    }
    assert.equal(stats.closed, 1);
  });

  it('a process that identifies the port through a failing ioctl ends by itself (no leaked handle)', T, async () => {
    const child = spawn(
      process.execPath,
      [repoPath('dist', 'hw-fixtures', 'serial', 'identify-failing-lines-main.js'), pair.a, 'EIO: Input/output error'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    // Before the fix the open port kept the event loop alive: this run never ended (collect's timeout fails it).
    const r = await collect(child, 12_000);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { components: Component[]; stats: Record<string, number> };
    assert.deepEqual(out.stats, { opened: 1, closed: 1, setCalls: 1 });
    assert.equal(out.components[0]!.properties.status, 'open-failed');
    assert.match(String(out.components[0]!.properties.statusDetail), /SERIAL_IO/);
  });
});
