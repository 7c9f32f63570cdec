import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frameBits, frameDurationUs, stuffBitCount, BIT_TIMING_PRESETS } from '../../../drivers/can/bit-timing.js';
import { MemoryCanNetwork } from '../../../drivers/can/memory-bus.js';
import { makeFrame, type CanFrame } from '../../../drivers/can/frame.js';
import { isBusError, isCancelled } from '../../../drivers/shared/errors.js';
import { VirtualClock } from '../../../hw-fixtures/can/virtual-clock.js';

test('every other member sees a frame, the sender does not (SocketCAN loopback semantics)', async () => {
  const net = new MemoryCanNetwork('t1');
  const [a, b, c] = [net.join(), net.join(), net.join({ receiveOwn: true })];
  const seen: Record<string, CanFrame[]> = { a: [], b: [], c: [] };
  a.subscribe(undefined, (f) => seen['a']!.push(f));
  b.subscribe(undefined, (f) => seen['b']!.push(f));
  c.subscribe(undefined, (f) => seen['c']!.push(f));
  await a.send({ id: 0x123, data: Uint8Array.of(1) });
  await c.send({ id: 0x124, data: Uint8Array.of(2) });
  assert.deepEqual(
    seen['a']!.map((f) => f.id),
    [0x124],
  );
  assert.deepEqual(
    seen['b']!.map((f) => f.id),
    [0x123, 0x124],
  );
  assert.deepEqual(
    seen['c']!.map((f) => f.id),
    [0x123, 0x124],
    'receiveOwn also gets its own frame',
  );
});

test('filters by id/mask and by 11/29-bit', async () => {
  const net = new MemoryCanNetwork('t2');
  const [tx, rx] = [net.join(), net.join()];
  const got: number[] = [];
  rx.subscribe([{ id: 0x7e8, mask: 0x7f8, extended: false }], (f) => got.push(f.id));
  for (const id of [0x7e8, 0x7ef, 0x7f0, 0x7e0]) await tx.send({ id, data: new Uint8Array(0) });
  await tx.send({ id: 0x7e9, extended: true, data: new Uint8Array(0) });
  assert.deepEqual(got, [0x7e8, 0x7ef]);
});

test('rejects invalid frames and FD on a classic wire with CAN_FRAME_INVALID', async () => {
  const classic = new MemoryCanNetwork('t3', { fd: false }).join();
  await assert.rejects(classic.send({ id: 1, fd: true, data: new Uint8Array(12) }), (e) =>
    isBusError(e, 'CAN_FRAME_INVALID'),
  );
  await assert.rejects(classic.send({ id: 1, data: new Uint8Array(9) }), (e) => isBusError(e, 'CAN_FRAME_INVALID'));
  await assert.rejects(classic.send({ id: 0x800, extended: false, data: new Uint8Array(1) }), (e) =>
    isBusError(e, 'CAN_FRAME_INVALID'),
  );
  const fd = new MemoryCanNetwork('t3fd').join();
  await assert.rejects(
    fd.send({ id: 1, fd: true, data: new Uint8Array(13) }),
    (e) => isBusError(e, 'CAN_FRAME_INVALID'),
    '13 is no FD length',
  );
});

test('teardown: close rejects pending receives with CAN_CLOSED; abort rejects one receive and keeps the bus', async () => {
  const net = new MemoryCanNetwork('t4');
  const [a, b] = [net.join(), net.join()];
  const ac = new AbortController();
  const aborted = b.receive(undefined, 60_000, ac.signal);
  ac.abort();
  await assert.rejects(aborted, (e) => isCancelled(e));
  const next = b.receive(undefined, 60_000);
  await a.send({ id: 5, data: Uint8Array.of(9) });
  assert.equal((await next).id, 5, 'still usable after an abort');
  const pending = b.receive(undefined, 60_000);
  await b.close();
  await assert.rejects(pending, (e) => isBusError(e, 'CAN_CLOSED'));
  await assert.rejects(b.send({ id: 1, data: new Uint8Array(0) }), (e) => isBusError(e, 'CAN_CLOSED'));
});

test('bus-off events reach every member and block sends until restarted', async () => {
  const net = new MemoryCanNetwork('t5');
  const a = net.join();
  const kinds: string[] = [];
  a.onEvent((e) => kinds.push(e.kind));
  net.injectEvent({ kind: 'bus-off' });
  await assert.rejects(a.send({ id: 1, data: new Uint8Array(0) }), (e) => isBusError(e, 'CAN_BUS_OFF'));
  net.injectEvent({ kind: 'restarted' });
  await a.send({ id: 1, data: new Uint8Array(0) });
  assert.deepEqual(kinds, ['bus-off', 'restarted']);
});

test('bit timing: 8-byte classic frame is 111 bits plus stuffing; frames are serialised on the wire', async () => {
  const f = makeFrame({ id: 0x7e0, data: new Uint8Array(8).fill(0x55) });
  const bits = frameBits(f).nominal;
  assert.ok(
    bits >= 111 && bits <= 135,
    `${bits} bits between the unstuffed 111 and the worst case 135 (reference §1.1)`,
  );
  assert.equal(stuffBitCount([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 2);
  assert.equal(frameDurationUs(f, BIT_TIMING_PRESETS.classic500k), bits * 2);
  const fd = makeFrame({ id: 0x7e0, fd: true, brs: true, data: new Uint8Array(64).fill(0x55) });
  const t = frameDurationUs(fd, BIT_TIMING_PRESETS.fd500k2M);
  assert.ok(t > 250 && t < 400, `${t} µs for a 64-byte FD frame at 500k/2M (reference §6: ~345 µs)`);

  const clock = new VirtualClock();
  const net = new MemoryCanNetwork('t6', { timing: BIT_TIMING_PRESETS.classic500k, clock, txQueueLength: 0 });
  const [a, b] = [net.join(), net.join()];
  const at: number[] = [];
  b.subscribe(undefined, (x) => at.push(x.timestamp!));
  await Promise.all([a.send({ id: 0x7e0, data: f.data }), a.send({ id: 0x7e0, data: f.data })]);
  assert.equal(at.length, 2);
  assert.equal(at[1]! - at[0]!, bits * 2, 'the second frame waits for the first');
  assert.equal(net.stats.frames, 2);
});
