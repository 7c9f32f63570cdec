import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BusEventListener, CanBus, FrameListener } from '../../../drivers/can/bus.js';
import { sleep } from '../../../drivers/can/clock.js';
import type { CanFilter, CanFrame, CanFrameInit } from '../../../drivers/can/frame.js';
import { IsoTpChannel } from '../../../drivers/can/isotp/channel.js';
import { MemoryCanNetwork, type MemoryCanBus } from '../../../drivers/can/memory-bus.js';
import { isBusError, isCancelled } from '../../../drivers/shared/errors.js';
import { VirtualClock } from '../../../hw-fixtures/can/virtual-clock.js';

/**
 * The ISO-TP sender's synchronous path (CanBus.trySend, issue 16): a memory-bus node that also offers
 * trySend, as SocketCanBus does, and can refuse it (a full tx queue) for a number of frames.
 */
class SyncBus implements CanBus {
  trySent = 0;
  sent = 0;
  /** trySend calls still to refuse. */
  refuse = 0;
  constructor(private readonly inner: MemoryCanBus) {}
  get name() {
    return this.inner.name;
  }
  get fdCapable() {
    return this.inner.fdCapable;
  }
  trySend(f: CanFrameInit): boolean {
    if (this.refuse > 0) {
      this.refuse--;
      return false;
    }
    this.trySent++;
    // The channel reuses `f`: copy what is needed now, as the kernel does on write().
    void this.inner.send({ ...f });
    return true;
  }
  send(f: CanFrameInit, signal?: AbortSignal) {
    this.sent++;
    return this.inner.send(f, signal);
  }
  subscribe(filters: readonly CanFilter[] | undefined, l: FrameListener) {
    return this.inner.subscribe(filters, l);
  }
  receive(filters: readonly CanFilter[] | undefined, ms: number, signal?: AbortSignal): Promise<CanFrame> {
    return this.inner.receive(filters, ms, signal);
  }
  onEvent(l: BusEventListener) {
    return this.inner.onEvent(l);
  }
  close() {
    return this.inner.close();
  }
}

let n = 0;
function rig() {
  const clock = new VirtualClock();
  const net = new MemoryCanNetwork(`fast${++n}`, { clock });
  const wire: CanFrame[] = [];
  net.join().subscribe(undefined, (f) => wire.push(f));
  const bus = new SyncBus(net.join());
  const tester = new IsoTpChannel(bus, { txId: 0x7e0, rxId: 0x7e8 }, { clock });
  const ecuBus = new SyncBus(net.join());
  const ecu = new IsoTpChannel(ecuBus, { txId: 0x7e8, rxId: 0x7e0, blockSize: 8 }, { clock });
  return { clock, net, wire, bus, tester, ecu, ecuBus };
}
const data = (size: number) => Uint8Array.from({ length: size }, (_, i) => (i * 7 + 3) & 0xff);
const T = { timeout: 30_000 };

test('back-to-back frames go through trySend, in order, and the message arrives whole', T, async () => {
  const r = rig();
  const got = r.ecu.receive(10_000);
  await r.tester.send(data(4095));
  assert.deepEqual(await got, data(4095));
  // 4095 B classic: FF (6 B) + 585 CFs (7 B), all with gap 0; the FCs (BS 8) come from the ECU.
  assert.equal(r.bus.trySent, 586);
  assert.equal(r.bus.sent, 0, 'no frame took the promise path');
  assert.equal(r.tester.stats.framesSent, 586);
  // The receiver's FCs (after the FF, then every 8 CFs: 1 + 73) also went out synchronously.
  assert.equal(r.ecuBus.trySent, 74);
  assert.equal(r.ecuBus.sent, 0);
  const sns = r.wire.filter((f) => f.id === 0x7e0 && f.data[0]! >> 4 === 2).map((f) => f.data[0]! & 0xf);
  assert.deepEqual(sns.slice(0, 17), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1]);
});

test('a refused trySend (full tx queue) falls back to send: nothing lost, nothing doubled', T, async () => {
  const r = rig();
  const got = r.ecu.receive(10_000);
  r.bus.refuse = 3;
  await r.tester.send(data(1000));
  assert.deepEqual(await got, data(1000));
  assert.equal(r.bus.sent, 3, 'each refused frame went through send() once');
  assert.equal(r.bus.trySent + r.bus.sent, r.tester.stats.framesSent);
  assert.equal(r.tester.stats.framesSent, 1 + Math.ceil((1000 - 6) / 7));
});

test('a hook that inspects frames keeps every frame on the promise path', T, async () => {
  const clock = new VirtualClock();
  const net = new MemoryCanNetwork(`fast${++n}`, { clock });
  const bus = new SyncBus(net.join());
  const seen: string[] = [];
  const tester = new IsoTpChannel(
    bus,
    { txId: 0x7e0, rxId: 0x7e8 },
    { clock, hooks: { beforeSend: (_d, kind) => (seen.push(kind), true) } },
  );
  const ecu = new IsoTpChannel(net.join(), { txId: 0x7e8, rxId: 0x7e0 }, { clock });
  const got = ecu.receive(10_000);
  await tester.send(data(100));
  assert.deepEqual(await got, data(100));
  assert.equal(bus.trySent, 0);
  assert.equal(seen.length, 15);
});

test('an abort stops a fast burst with CancelledError', T, async () => {
  const r = rig();
  const ac = new AbortController();
  void r.ecu.receive(10_000).catch(() => {});
  const sending = r.tester.send(data(60_000), ac.signal);
  await new Promise((res) => setImmediate(res));
  ac.abort('stop');
  await assert.rejects(sending, (e) => isCancelled(e));
  assert.ok(r.tester.stats.framesSent < 8572, 'stopped before the end of the message');
});

test('N_Cr restarts on every CF: slow but steady CFs are received, silence is not', T, async () => {
  const clock = new VirtualClock();
  const net = new MemoryCanNetwork(`fast${++n}`, { clock });
  const ecu = new IsoTpChannel(net.join(), { txId: 0x7e8, rxId: 0x7e0, timeouts: { nCrMs: 100 } }, { clock });
  const raw = net.join();
  const got = ecu.receive(60_000);
  await raw.send({ id: 0x7e0, data: Uint8Array.of(0x10, 27, 1, 2, 3, 4, 5, 6) });
  // Three CFs 80 ms apart: 240 ms in all, more than N_Cr, but no gap reaches it.
  for (let i = 0; i < 3; i++) {
    await sleep(clock, 80_000);
    await raw.send({ id: 0x7e0, data: Uint8Array.of(0x21 + i, 7, 8, 9, 10, 11, 12, 13) });
  }
  assert.equal((await got).length, 27);
  const next = ecu.receive(60_000);
  const t0 = clock.now();
  await raw.send({ id: 0x7e0, data: Uint8Array.of(0x10, 27, 1, 2, 3, 4, 5, 6) });
  await sleep(clock, 60_000);
  await raw.send({ id: 0x7e0, data: Uint8Array.of(0x21, 7, 8, 9, 10, 11, 12, 13) });
  await assert.rejects(next, (e) => isBusError(e, 'ISOTP_TIMEOUT_CR'));
  assert.equal(clock.now() - t0, 160_000, 'N_Cr ran from the last CF (60 + 100 ms)');
});
