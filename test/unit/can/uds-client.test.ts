import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UdsClient, type UdsTransport } from '../../../drivers/can/uds/client.js';
import { nrcName, Nrc } from '../../../drivers/can/uds/nrc.js';
import { encodeRequestDownload } from '../../../drivers/can/uds/services/request-download.js';
import { BusError, isBusError } from '../../../drivers/shared/errors.js';
import { VirtualClock } from '../../../hw-fixtures/can/virtual-clock.js';
import { sleep } from '../../../drivers/can/clock.js';
import { makeUdsRig } from '../../../hw-fixtures/can/uds-rig.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** A scripted server (udsoncan ClientServerTest style): asserts each request's bytes and plays answers, with delays in virtual ms. */
function scripted(
  clock: VirtualClock,
  script: { expect: string; answers: { afterMs: number; hex: string }[] }[],
): UdsTransport & { sent: string[] } {
  const inbox: Uint8Array[] = [];
  const waiters: ((b: Uint8Array) => void)[] = [];
  const deliver = (b: Uint8Array) => (waiters.length ? waiters.shift()!(b) : inbox.push(b));
  const sent: string[] = [];
  return {
    sent,
    async send(payload) {
      sent.push(hex(payload));
      const step = script.shift();
      assert.ok(step, `unexpected request ${hex(payload)}`);
      assert.equal(hex(payload), step.expect);
      for (const a of step.answers)
        clock.schedule(a.afterMs * 1000, () => deliver(Uint8Array.from(Buffer.from(a.hex, 'hex'))));
    },
    receive(timeoutMs) {
      const q = inbox.shift();
      if (q) return Promise.resolve(q);
      return new Promise((resolve, reject) => {
        waiters.push(resolve);
        clock.schedule(timeoutMs * 1000, () => {
          const i = waiters.indexOf(resolve);
          if (i >= 0) {
            waiters.splice(i, 1);
            reject(new BusError('ISOTP_RX_TIMEOUT', 'rx timeout', { timeoutMs }));
          }
        });
      });
    },
    discard() {
      inbox.length = 0;
    },
  };
}

test('every NRC has its ISO name; unnamed codes say their range', () => {
  assert.equal(nrcName(0x78), 'requestCorrectlyReceivedResponsePending');
  assert.equal(nrcName(0x73), 'wrongBlockSequenceCounter');
  assert.equal(nrcName(0xf3), 'vehicleManufacturerSpecific(0xf3)');
  assert.equal(Object.keys(Nrc).length, new Set(Object.values(Nrc)).size, 'no duplicate codes');
});

test('request bytes are exact: RequestDownload 34 00 44 <addr4> <size4>', () => {
  assert.equal(hex(encodeRequestDownload({ address: 0x08000000, size: 0x40000 })), '340044080000000004000' + '0');
  assert.throws(
    () => encodeRequestDownload({ address: 0x1_0000_0000, size: 1 }),
    (e) => isBusError(e, 'UDS_INVALID_REQUEST'),
  );
});

test('P2/P2* come from the session response; NRC 0x78 switches to P2*', { timeout: 10_000 }, async () => {
  const clock = new VirtualClock();
  const t = scripted(clock, [
    {
      expect: '1002',
      answers: [
        { afterMs: 10, hex: '7f1078' },
        { afterMs: 600, hex: '5002001901f4' },
      ],
    },
    {
      expect: '3101ff00',
      answers: [
        { afterMs: 10, hex: '7f3178' },
        { afterMs: 4000, hex: '7f3178' },
        { afterMs: 8000, hex: '7101ff0000' },
      ],
    },
  ]);
  const client = new UdsClient({ transport: t, clock, timeouts: { p2Ms: 100, p2StarMs: 5000, marginMs: 0 } });
  const timing = await client.diagnosticSessionControl(2);
  assert.deepEqual([timing.p2ServerMs, timing.p2StarServerMs], [25, 5000]);
  assert.deepEqual(client.timing, { p2Ms: 25, p2StarMs: 5000, source: 'server' });
  assert.equal(hex(await client.routineControl(1, 0xff00)), '00');
});

test(
  'a final answer later than P2* after 0x78 fails with UDS_TIMEOUT_P2_STAR naming the count',
  { timeout: 10_000 },
  async () => {
    const clock = new VirtualClock();
    const t = scripted(clock, [
      {
        expect: '3101ff00',
        answers: [
          { afterMs: 10, hex: '7f3178' },
          { afterMs: 9000, hex: '7101ff0000' },
        ],
      },
    ]);
    const client = new UdsClient({ transport: t, clock, timeouts: { p2Ms: 100, p2StarMs: 5000 }, requestAttempts: 1 });
    await assert.rejects(
      client.routineControl(1, 0xff00),
      (e) => isBusError(e, 'UDS_TIMEOUT_P2_STAR') && e.details['pending'] === 1,
    );
  },
);

test('NRC 0x21 busyRepeatRequest is resent; other NRCs throw with service and name', { timeout: 10_000 }, async () => {
  const clock = new VirtualClock();
  const t = scripted(clock, [
    { expect: '22f189', answers: [{ afterMs: 5, hex: '7f2221' }] },
    { expect: '22f189', answers: [{ afterMs: 5, hex: '62f189312e30' }] },
    { expect: '2701', answers: [{ afterMs: 5, hex: '7f2722' }] },
  ]);
  const client = new UdsClient({ transport: t, clock });
  assert.equal(Buffer.from(await client.readDataByIdentifier(0xf189)).toString(), '1.0');
  await assert.rejects(
    client.securityAccess(1, (s) => s),
    (e) =>
      isBusError(e, 'UDS_NEGATIVE_RESPONSE') &&
      e.details['nrcName'] === 'conditionsNotCorrect' &&
      e.details['service'] === 'SecurityAccess',
  );
});

test(
  'block sequence counter wraps 0xFF → 0x00 and a wrong echo is UDS_UNEXPECTED_RESPONSE',
  { timeout: 10_000 },
  async () => {
    const clock = new VirtualClock();
    const t = scripted(clock, [
      { expect: '36ffaa', answers: [{ afterMs: 1, hex: '76ff' }] },
      { expect: '3600bb', answers: [{ afterMs: 1, hex: '7600' }] },
      { expect: '3601cc', answers: [{ afterMs: 1, hex: '7602' }] },
    ]);
    const client = new UdsClient({ transport: t, clock });
    await client.transferData(0xff, Uint8Array.of(0xaa));
    await client.transferData(0x00, Uint8Array.of(0xbb));
    await assert.rejects(client.transferData(0x01, Uint8Array.of(0xcc)), (e) =>
      isBusError(e, 'UDS_UNEXPECTED_RESPONSE'),
    );
  },
);

test(
  'functional TesterPresent goes out on 0x7DF as a single frame and the ECU answers physically',
  { timeout: 10_000 },
  async () => {
    const rig = makeUdsRig();
    try {
      const frames: { id: number; hex: string }[] = [];
      rig.network!.join().subscribe(undefined, (f) => frames.push({ id: f.id, hex: hex(f.data) }));
      await rig.client.testerPresent({ functional: true });
      await sleep(rig.clock, 1000);
      assert.deepEqual(frames.slice(0, 2), [
        { id: 0x7df, hex: '023e00cccccccccc' },
        { id: 0x7e8, hex: '027e00cccccccccc' },
      ]);
    } finally {
      await rig.close();
    }
  },
);
