import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { CanFrame } from '../../drivers/can/frame.js';
import { IsoTpChannel } from '../../drivers/can/isotp/channel.js';
import type { IsoTpOptions } from '../../drivers/can/isotp/options.js';
import type { IsoTpBackend, IsoTpTransport } from '../../drivers/can/isotp/transport.js';
import { kernelIsoTpAvailability } from '../../drivers/can/kernel-isotp/availability.js';
import { KernelIsoTpChannel } from '../../drivers/can/kernel-isotp/kernel-channel.js';
import type { SocketCanBus } from '../../drivers/can/socketcan-bus.js';
import { isBusError, isCancelled } from '../../drivers/shared/errors.js';
import { IFACE, TEST_TIMEOUT_MS, openVcan, scaled } from './vm-env.js';

/**
 * The ISO-TP transport contract, run on vcan against both backends: the kernel's CAN_ISOTP sockets
 * through our addon and our user-space ISO-TP over SocketCanBus. Each backend talks to a peer of the
 * other backend (so kernel and user space also interoperate), and a raw socket watches the wire.
 */
const BACKENDS: IsoTpBackend[] = ['kernel', 'user'];
const A = 0x7e0;
const B = 0x7e8;

interface Rig {
  ch: IsoTpTransport;
  peer: IsoTpTransport;
  wire: CanFrame[];
  close(): Promise<void>;
}

function other(b: IsoTpBackend): IsoTpBackend {
  return b === 'kernel' ? 'user' : 'kernel';
}

async function open(
  t: TestContext,
  backend: IsoTpBackend,
  o: IsoTpOptions,
  buses: SocketCanBus[],
): Promise<IsoTpTransport> {
  if (backend === 'kernel') return KernelIsoTpChannel.open(IFACE, o);
  const bus = (await openVcan(t))!;
  buses.push(bus);
  // A JavaScript CAN_RAW reader cannot keep up with a kernel sender writing a 585-frame block back to
  // back on vcan (its socket buffer overflows): as a receiver, user space announces BS 16, like the simulator.
  return new IsoTpChannel(bus, { blockSize: 16, ...o });
}

/** `backend` on A→B, a peer of the other backend on B→A, a raw observer; undefined (skipped) without the rig. */
async function rig(
  t: TestContext,
  backend: IsoTpBackend,
  mine: Partial<IsoTpOptions> = {},
  theirs: Partial<IsoTpOptions> = {},
): Promise<Rig | undefined> {
  const observer = await openVcan(t);
  if (!observer) return undefined;
  const a = kernelIsoTpAvailability(IFACE);
  if (!a.available) {
    await observer.close();
    if (process.env['CI'] === 'true') throw new Error(`kernel ISO-TP unavailable in CI: ${a.reason}`);
    t.skip(`kernel ISO-TP unavailable: ${a.reason}`);
    return undefined;
  }
  const wire: CanFrame[] = [];
  observer.subscribe(undefined, (f) => wire.push(f));
  const buses: SocketCanBus[] = [observer];
  const timeouts = { nAsMs: scaled(1000), nBsMs: scaled(1000), nCrMs: scaled(1000) };
  const ch = await open(t, backend, { txId: A, rxId: B, timeouts, ...mine }, buses);
  const peer = await open(t, other(backend), { txId: B, rxId: A, timeouts, ...theirs }, buses);
  return {
    ch,
    peer,
    wire,
    async close() {
      ch.close();
      peer.close();
      for (const b of buses) await b.close();
    },
  };
}

function payload(size: number, seed = 1): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 13 + seed) & 0xff);
}

/** Waits until the raw observer has seen every frame (its reader thread may lag the peer's socket). */
async function settle(r: Rig): Promise<void> {
  let n = -1;
  while (n !== r.wire.length) {
    n = r.wire.length;
    await new Promise((res) => setTimeout(res, scaled(20)));
  }
}

async function roundTrip(r: Rig, size: number): Promise<void> {
  const out = payload(size, size);
  const got = r.peer.receive(scaled(10_000));
  await r.ch.send(out);
  assert.deepEqual(Buffer.from(await got), Buffer.from(out), `${size} bytes arrive intact`);
  const back = payload(size, size + 1);
  const got2 = r.ch.receive(scaled(10_000));
  await r.peer.send(back);
  assert.deepEqual(Buffer.from(await got2), Buffer.from(back), `${size} bytes come back intact`);
  await settle(r);
}

for (const backend of BACKENDS) {
  test(
    `[${backend}] classic CAN, padded: 1..4500 bytes both ways, every frame 8 bytes of 0xCC fill`,
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const r = await rig(t, backend);
      if (!r) return;
      try {
        for (const size of [1, 7, 8, 100, 4095, 4500]) await roundTrip(r, size);
        const ours = r.wire.filter((f) => f.id === A);
        // (no frame count: the raw observer, a JavaScript reader, may drop frames of a back-to-back burst)
        assert.ok(
          ours.every((f) => f.data.length === 8 && !f.fd),
          'every frame we sent is a classic frame padded to 8 bytes',
        );
        const sf = ours[0]!;
        assert.deepEqual([...sf.data], [0x01, 0x01, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc], 'SF of 1 byte, 0xCC padding');
      } finally {
        await r.close();
      }
    },
  );

  test(`[${backend}] padding off: frames are length-optimised`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const r = await rig(t, backend, { padding: false }, { padding: false });
    if (!r) return;
    try {
      await roundTrip(r, 3);
      await roundTrip(r, 21); // FF 6 + CF 7 + CF 7 + CF 1
      const ours = r.wire.filter((f) => f.id === A);
      assert.equal(ours[0]!.data.length, 4, 'SF of 3 bytes is 4 bytes on the wire');
      assert.ok(
        ours.some((f) => f.data.length < 8 && f.data[0]! >> 4 === 2),
        'the last CF is shorter than 8 bytes',
      );
    } finally {
      await r.close();
    }
  });

  test(`[${backend}] CAN FD, TX_DL 64 with BRS: 4095 bytes both ways`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const r = await rig(t, backend, { txDataLength: 64 }, { txDataLength: 64 });
    if (!r) return;
    try {
      await roundTrip(r, 62);
      await roundTrip(r, 4095);
      // (SocketCanBus marks received frames FD only when longer than 8 bytes.)
      const ours = r.wire.filter((f) => f.id === A);
      const ff = ours.filter((f) => f.data[0]! >> 4 === 1);
      assert.ok(ff.length === 1 && ff[0]!.fd && ff[0]!.data.length === 64, 'the FF is a 64-byte CAN FD frame');
      const cfs = ours.filter((f) => f.data[0]! >> 4 === 2);
      assert.equal(
        cfs.filter((f) => f.data.length === 64).length,
        64,
        '4095 bytes: 64 full CFs of 63 bytes, then 1 byte',
      );
    } finally {
      await r.close();
    }
  });

  test(`[${backend}] 29-bit ids (normal fixed 0x18DA…)`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const ids = { txId: 0x18da10f1, rxId: 0x18daf110 };
    const r = await rig(t, backend, ids, { txId: ids.rxId, rxId: ids.txId });
    if (!r) return;
    try {
      await roundTrip(r, 5);
      await roundTrip(r, 300);
      const ours = r.wire.filter((f) => f.id === ids.txId);
      assert.ok(ours.length > 40, 'our frames carry the 29-bit id');
      assert.ok(
        ours.every((f) => f.extended),
        'as extended frames',
      );
    } finally {
      await r.close();
    }
  });

  test(`[${backend}] the flow control we send announces our BS and STmin`, { timeout: TEST_TIMEOUT_MS }, async (t) => {
    const r = await rig(t, backend, { blockSize: 4, stMinUs: 2000 });
    if (!r) return;
    try {
      const got = r.ch.receive(scaled(10_000));
      await r.peer.send(payload(200));
      assert.equal((await got).length, 200);
      await settle(r);
      const fcs = r.wire.filter((f) => f.id === A && f.data[0]! >> 4 === 3);
      assert.ok(fcs.length >= 2, 'one FC after the FF and one per block of 4');
      assert.deepEqual([...fcs[0]!.data.subarray(0, 3)], [0x30, 4, 2], 'FC.CTS, BS 4, STmin 2 ms');
    } finally {
      await r.close();
    }
  });

  test(
    `[${backend}] an STmin override spaces our CFs at least that far apart`,
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const r = await rig(t, backend, { txStMinOverrideUs: 5000 });
      if (!r) return;
      try {
        const got = r.peer.receive(scaled(10_000));
        await r.ch.send(payload(50));
        await got;
        await settle(r);
        const cfs = r.wire.filter((f) => f.id === A && f.data[0]! >> 4 === 2);
        assert.equal(cfs.length, 7, '50 bytes = FF + 7 CFs');
        const gaps = cfs.slice(1).map((f, i) => (f.timestamp! - cfs[i]!.timestamp!) / 1000);
        // A lower bound only: load can stretch gaps, never shorten them.
        assert.ok(
          gaps.every((g) => g >= 4.5),
          `CF gaps ${gaps.map((g) => g.toFixed(1)).join(', ')} ms are ≥ 5 ms (the peer asked for 0)`,
        );
      } finally {
        await r.close();
      }
    },
  );

  test(
    `[${backend}] errors: no flow control, wrong SN, receive timeout, abort, close`,
    { timeout: TEST_TIMEOUT_MS },
    async (t) => {
      const r = await rig(t, backend, { timeouts: { nAsMs: 1000, nBsMs: 1000, nCrMs: 1000 } });
      if (!r) return;
      const raw = (await openVcan(t))!;
      try {
        r.peer.close(); // nobody answers the FF now
        await assert.rejects(
          r.ch.send(payload(100)),
          (e) => isBusError(e, 'ISOTP_TIMEOUT_BS'),
          'no FC → ISOTP_TIMEOUT_BS',
        );

        // A FF to us, then a CF with SN 2 instead of 1.
        const got = r.ch.receive(scaled(10_000));
        await raw.send({ id: B, data: Uint8Array.of(0x10, 20, 1, 2, 3, 4, 5, 6) });
        await raw.receive([{ id: A, mask: 0x7ff }], scaled(5000)); // our FC
        await raw.send({ id: B, data: Uint8Array.of(0x22, 7, 8, 9, 10, 11, 12, 13) });
        await assert.rejects(got, (e) => isBusError(e, 'ISOTP_WRONG_SN'), 'wrong SN → ISOTP_WRONG_SN');

        await assert.rejects(r.ch.receive(200), (e) => isBusError(e, 'ISOTP_RX_TIMEOUT'));
        const ac = new AbortController();
        const aborted = r.ch.receive(scaled(10_000), ac.signal);
        ac.abort();
        await assert.rejects(aborted, (e) => isCancelled(e));
        const pending = r.ch.receive(scaled(10_000));
        r.ch.close();
        await assert.rejects(pending, (e) => isCancelled(e), 'close rejects a pending receive');
        await assert.rejects(
          r.ch.send(payload(3)),
          (e) => isBusError(e, 'ISOTP_BUSY'),
          'a closed channel refuses sends',
        );
      } finally {
        await raw.close();
        await r.close();
      }
    },
  );
}

test(
  '[kernel] CAN_ISOTP_WAIT_TX_DONE (thread-pool write) sends and reports a missing flow control',
  { timeout: TEST_TIMEOUT_MS },
  async (t) => {
    const r = await rig(t, 'kernel');
    if (!r) return;
    const waiting = KernelIsoTpChannel.open(IFACE, { txId: 0x7e1, rxId: 0x7e9, waitTxDone: true });
    try {
      const peer = KernelIsoTpChannel.open(IFACE, { txId: 0x7e9, rxId: 0x7e1 });
      const got = peer.receive(scaled(10_000));
      await waiting.send(payload(4095));
      assert.equal((await got).length, 4095);
      peer.close();
      await assert.rejects(waiting.send(payload(100)), (e) => isBusError(e, 'ISOTP_TIMEOUT_BS'));
      const again = KernelIsoTpChannel.open(IFACE, { txId: 0x7e9, rxId: 0x7e1 });
      const got2 = again.receive(scaled(10_000));
      await waiting.send(payload(10));
      assert.equal((await got2).length, 10, 'the socket works again after the error');
      again.close();
    } finally {
      waiting.close();
      await r.close();
    }
  },
);
