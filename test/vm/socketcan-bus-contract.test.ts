import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CanFrame } from '../../drivers/can/frame.js';
import { isBusError, isCancelled } from '../../drivers/shared/errors.js';
import { SocketCanBus } from '../../drivers/can/socketcan-bus.js';
import { openCanBus } from '../../drivers/can/open-bus.js';
import { openVcan, scaled, TEST_TIMEOUT_MS } from './vm-env.js';

/** The CanBus contract (same as the memory bus unit tests) on the real socketcan backend on vcan. */
test(
  'SocketCanBus: loopback to other sockets only, filters, FD, 29-bit, teardown',
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    const a = await openVcan(t);
    if (!a) return;
    const b = (await openVcan(t))!;
    try {
      assert.equal(a.fdCapable, true, 'vcan0 has MTU 72');
      const seenA: CanFrame[] = [];
      const seenB: CanFrame[] = [];
      a.subscribe(undefined, (f) => seenA.push(f));
      b.subscribe([{ id: 0x100, mask: 0x700 }], (f) => seenB.push(f));
      const last = b.receive([{ id: 0x1abcdef0, mask: 0x1fffffff, extended: true }], scaled(2000));
      await a.send({ id: 0x123, data: Uint8Array.of(1, 2, 3) });
      await a.send({ id: 0x223, data: Uint8Array.of(4) });
      await a.send({ id: 0x1ab, fd: true, brs: true, data: new Uint8Array(64).fill(7) });
      await a.send({ id: 0x1abcdef0, extended: true, data: Uint8Array.of(9) });
      const ext = await last;
      assert.deepEqual([ext.id, ext.extended, [...ext.data]], [0x1abcdef0, true, [9]]);
      assert.deepEqual(
        seenB.map((f) => [f.id, f.data.length, f.fd]),
        [
          [0x123, 3, false],
          [0x1ab, 64, true],
        ],
        'id/mask filter, FD frame of 64 bytes',
      );
      assert.equal(seenA.length, 0, 'a socket does not receive its own frames');
      const ac = new AbortController();
      const aborted = b.receive(undefined, scaled(10_000), ac.signal);
      ac.abort();
      await assert.rejects(aborted, (e) => isCancelled(e));
      const pending = b.receive(undefined, scaled(10_000));
      await b.close();
      await assert.rejects(pending, (e) => isBusError(e, 'CAN_CLOSED'));
      await assert.rejects(b.send({ id: 1, data: new Uint8Array(0) }), (e) => isBusError(e, 'CAN_CLOSED'));
    } finally {
      await a.close();
      await b.close();
    }
  },
);

test(
  'opening a missing interface is CAN_OPEN_FAILED; an unknown scheme is CAN_BACKEND_UNKNOWN',
  { timeout: TEST_TIMEOUT_MS },
  async () => {
    await assert.rejects(SocketCanBus.open({ iface: 'nocan9' }), (e) => isBusError(e, 'CAN_OPEN_FAILED'));
    await assert.rejects(openCanBus('tcp:1.2.3.4'), (e) => isBusError(e, 'CAN_BACKEND_UNKNOWN'));
  },
);
