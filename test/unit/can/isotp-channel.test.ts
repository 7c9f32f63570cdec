import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryCanNetwork } from '../../../drivers/can/memory-bus.js';
import type { CanFrame } from '../../../drivers/can/frame.js';
import { IsoTpChannel } from '../../../drivers/can/isotp/channel.js';
import type { IsoTpOptions } from '../../../drivers/can/isotp/options.js';
import { isBusError } from '../../../drivers/shared/errors.js';
import { VirtualClock } from '../../../hw-fixtures/can/virtual-clock.js';

let n = 0;
function pair(a: Partial<IsoTpOptions> = {}, b: Partial<IsoTpOptions> = {}) {
  const clock = new VirtualClock();
  const net = new MemoryCanNetwork(`isotp${++n}`, { clock });
  const wire = net.join();
  const frames: CanFrame[] = [];
  wire.subscribe(undefined, (f) => frames.push(f));
  const tester = new IsoTpChannel(net.join(), { txId: 0x7e0, rxId: 0x7e8, ...a }, { clock });
  const ecu = new IsoTpChannel(net.join(), { txId: 0x7e8, rxId: 0x7e0, ...b }, { clock });
  return { clock, net, frames, tester, ecu };
}

const data = (size: number) => Uint8Array.from({ length: size }, (_, i) => (i * 13 + 5) & 0xff);
const T = { timeout: 30_000 };

for (const [label, size, opts] of [
  ['single frame', 7, {}],
  ['4095 bytes classic', 4095, {}],
  ['5000 bytes (32-bit FF_DL)', 5000, {}],
  ['FD TX_DL 64, 3000 bytes', 3000, { txDataLength: 64 }],
  ['FD single frame of 62 bytes', 62, { txDataLength: 64 }],
  ['extended addressing', 100, { addressing: 'extended', txAddress: 0x10, rxAddress: 0xf1 }],
  ['mixed addressing (address extension 0x42)', 300, { addressing: 'mixed', txAddress: 0x42, rxAddress: 0x42 }],
  ['29-bit ids, no padding', 50, { txId: 0x18da10f1, rxId: 0x18daf110, padding: false }],
] as const) {
  test(`round trip: ${label}`, T, async () => {
    const o = opts as Partial<IsoTpOptions>;
    const peer: Partial<IsoTpOptions> = {
      ...o,
      ...(o.txId ? { txId: o.rxId, rxId: o.txId } : {}),
      ...(o.addressing ? { txAddress: o.rxAddress, rxAddress: o.txAddress } : {}),
    };
    const p = pair(o, peer);
    const msg = data(size);
    const got = p.ecu.receive(10_000);
    await p.tester.send(msg);
    assert.deepEqual(Buffer.from(await got), Buffer.from(msg));
    if (o.addressing === 'extended')
      assert.ok(
        p.frames.filter((f) => f.id === 0x7e0).every((f) => f.data[0] === 0x10),
        'byte 0 carries the target address',
      );
    if (o.padding === false)
      assert.ok(
        p.frames.some((f) => f.data.length < 8),
        'length-optimised frames',
      );
    if (o.txDataLength === 64 && size > 62) assert.equal(p.frames[0]!.data.length, 64);
  });
}

test('block size and STmin of the receiver are followed: one FC per block, CF gaps ≥ STmin', T, async () => {
  const p = pair({}, { blockSize: 4, stMinUs: 5000 });
  const got = p.ecu.receive(60_000);
  await p.tester.send(data(200));
  await got;
  const fcs = p.frames.filter((f) => f.id === 0x7e8);
  const cfs = p.frames.filter((f) => f.id === 0x7e0 && f.data[0]! >> 4 === 2);
  assert.equal(cfs.length, Math.ceil((200 - 6) / 7));
  assert.equal(fcs.length, 1 + Math.floor((cfs.length - 1) / 4));
  assert.deepEqual([...fcs[0]!.data.subarray(0, 3)], [0x30, 4, 5]);
  for (let i = 1; i < cfs.length; i++) {
    if (i % 4 === 0) continue; // first CF of a block follows the FC
    assert.ok(cfs[i]!.timestamp! - cfs[i - 1]!.timestamp! >= 5000, `CF ${i} keeps STmin`);
  }
});

test('FC.OVFLW from a receiver with a small buffer: ISOTP_OVERFLOW', T, async () => {
  const p = pair({}, { maxMessageSize: 100 });
  await assert.rejects(p.tester.send(data(500)), (e) => isBusError(e, 'ISOTP_OVERFLOW'));
});

test('no receiver: ISOTP_TIMEOUT_BS after N_Bs (virtual time)', T, async () => {
  const p = pair({ timeouts: { nBsMs: 250 } });
  p.ecu.close();
  const t0 = p.clock.now();
  await assert.rejects(
    p.tester.send(data(100)),
    (e) => isBusError(e, 'ISOTP_TIMEOUT_BS') && e.details['timeoutMs'] === 250,
  );
  assert.equal(p.clock.now() - t0, 250_000);
});

test('a sender that stops mid-message: the receiver reports ISOTP_TIMEOUT_CR', T, async () => {
  const p = pair();
  const bus = p.net.join();
  const got = p.ecu.receive(60_000);
  await bus.send({ id: 0x7e0, data: Uint8Array.of(0x10, 20, 1, 2, 3, 4, 5, 6) });
  await bus.send({ id: 0x7e0, data: Uint8Array.of(0x21, 7, 8, 9, 10, 11, 12, 13) });
  await assert.rejects(got, (e) => isBusError(e, 'ISOTP_TIMEOUT_CR') && e.details['received'] === 13);
});

test('a wrong sequence number aborts the reception: ISOTP_WRONG_SN', T, async () => {
  const p = pair();
  const bus = p.net.join();
  const got = p.ecu.receive(60_000);
  await bus.send({ id: 0x7e0, data: Uint8Array.of(0x10, 20, 1, 2, 3, 4, 5, 6) });
  await bus.send({ id: 0x7e0, data: Uint8Array.of(0x22, 7, 8, 9, 10, 11, 12, 13) });
  await assert.rejects(
    got,
    (e) => isBusError(e, 'ISOTP_WRONG_SN') && e.details['expected'] === 1 && e.details['got'] === 2,
  );
});

test('FC.WAIT frames restart N_Bs; more than maxWaitFrames: ISOTP_WAIT_LIMIT', T, async () => {
  const p = pair({ maxWaitFrames: 2, timeouts: { nBsMs: 1000 } });
  p.ecu.close();
  const ecu = p.net.join();
  ecu.subscribe([{ id: 0x7e0, mask: 0x7ff }], (f) => {
    if (f.data[0]! >> 4 === 1)
      for (let i = 0; i < 3; i++) void ecu.send({ id: 0x7e8, data: Uint8Array.of(0x31, 0, 0) });
  });
  await assert.rejects(p.tester.send(data(100)), (e) => isBusError(e, 'ISOTP_WAIT_LIMIT'));
});
