import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { BufferImageSource } from '../../../drivers/shared/image-source.js';
import { isBusError, isCancelled } from '../../../drivers/shared/errors.js';
import { flashUds, type UdsFlashOptions } from '../../../drivers/can/uds/flash-session.js';
import { makeFirmwareImage } from '../../../hw-fixtures/can/firmware-image.js';
import { makeUdsRig, xorKey, type UdsRig, type UdsRigOptions } from '../../../hw-fixtures/can/uds-rig.js';
import type { EcuFaults } from '../../../hw-fixtures/can/ecu-faults.js';

/**
 * Every fault switch of the ECU simulator: each run ends in success after a retry, or in a clear
 * coded error naming the NRC or the timer, never in a hang (each test has a deadline; the virtual
 * clock makes protocol timeouts instant).
 */
const IMG = makeFirmwareImage(24 * 1024, '2.0.0');

async function flashWith(
  faults: EcuFaults,
  extra: Partial<UdsFlashOptions> = {},
  rigOpts: UdsRigOptions = {},
): Promise<{ rig: UdsRig; result?: Awaited<ReturnType<typeof flashUds>>; error?: unknown }> {
  const rig = makeUdsRig(rigOpts);
  rig.sim.faults = faults;
  try {
    const result = await flashUds({
      client: rig.client,
      image: new BufferImageSource(IMG),
      memory: { address: 0x0800_0000 },
      security: { level: 1, keyFunction: xorKey() },
      expectedVersion: '2.0.0',
      clock: rig.clock,
      ...extra,
    });
    return { rig, result };
  } catch (error) {
    return { rig, error };
  } finally {
    await rig.close();
  }
}

const T = { timeout: 30_000 };

test('drop a response frame: the client resends, a repeated block is acknowledged without rewriting', T, async () => {
  const { rig, result, error } = await flashWith({ dropFrame: { kind: 'SF', count: 1, skip: 8 } });
  assert.equal(error, undefined);
  assert.equal(result!.version, '2.0.0');
  assert.equal(rig.sim.faultCounters.framesDropped, 1);
  const blocks = rig.sim.requests.filter((r) => r[0] === 0x36).map((r) => r[1]);
  assert.ok(blocks.length > new Set(blocks).size, 'one TransferData block was sent twice');
  assert.equal(rig.sim.flash.counters.bytesWritten, IMG.length, 'the repeated block was not written again');
});

test('drop the ECU flow control: N_Bs expires, the request is resent and succeeds', T, async () => {
  const { rig, result, error } = await flashWith({ dropFrame: { kind: 'FC', count: 1, skip: 2 } });
  assert.equal(error, undefined);
  assert.equal(result!.version, '2.0.0');
  assert.equal(rig.sim.faultCounters.framesDropped, 1);
});

test('a response lost every time ends in UDS_TIMEOUT_P2 naming the service', T, async () => {
  const { rig, error } = await flashWith({ dropFrame: { kind: 'SF', count: 1000 } });
  assert.ok(isBusError(error, 'UDS_TIMEOUT_P2'), `got ${String(error)}`);
  assert.equal(error.details['service'], 'DiagnosticSessionControl');
  assert.equal(rig.sim.requests.filter((r) => r[0] === 0x10).length, 6, '3 client attempts × 2 flash attempts');
});

test('a late answer to a resent block is not taken for the next block (stale 0x76 dropped, no WARN)', T, async () => {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  const log = pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l) as (typeof lines)[0]) });
  // Block 3's answer comes 400 ms late, past P2 (50 ms server P2 + 100 ms margin) twice: the client
  // resends block 3 at 150 and 300 ms and takes the late answer for the second resend, sends block 4,
  // and then the ECU's answers to the two resends (`76 03`, repeats acknowledged without rewriting)
  // arrive while block 4 is awaited.
  const { rig, result, error } = await flashWith({ lateResponse: { sid: 0x36, delayMs: 400, skip: 2 } }, {}, { log });
  assert.equal(error, undefined, `got ${String(error)}`);
  assert.equal(result!.attempts, 1, 'no restart of the whole flash');
  assert.equal(rig.sim.faultCounters.lateResponses, 1);
  const blocks = rig.sim.requests.filter((r) => r[0] === 0x36).map((r) => r[1]);
  assert.deepEqual(blocks.slice(0, 6), [1, 2, 3, 3, 3, 4], 'block 3 was sent three times, then block 4 followed');
  assert.equal(rig.sim.flash.counters.bytesWritten, IMG.length, 'the repeated block was not written again');
  assert.deepEqual(Buffer.from(rig.sim.flash.read(0x0800_0000, IMG.length)), Buffer.from(IMG));
  const stale = lines.filter((l) => /stale/i.test(l.msg));
  assert.equal(stale.length, 2, 'both answers to the resends are dropped as stale, each logged once');
  assert.deepEqual(
    stale.map((l) => [l.level, l['echo']]),
    [
      [20, '03'],
      [20, '03'],
    ],
    'at debug, naming the echoed block',
  );
  assert.deepEqual(
    lines.filter((l) => l.level >= 40).map((l) => l.msg),
    [],
    'a recovered retry logs no WARN or ERROR',
  );
});

test('late flow control with FC.WAIT frames within N_Bs: success', T, async () => {
  const { rig, result, error } = await flashWith({ lateFlowControl: { delayMs: 600, waitFrames: 2, count: 3 } });
  assert.equal(error, undefined);
  assert.equal(result!.attempts, 1);
  assert.equal(rig.sim.faultCounters.lateFlowControls, 3);
});

test('flow control later than N_Bs: the sender times out, the resent request is served by the late FC', T, async () => {
  const { rig, result, error } = await flashWith({ lateFlowControl: { delayMs: 1500 } });
  assert.equal(error, undefined);
  assert.equal(result!.version, '2.0.0');
  const blocks = Math.ceil(IMG.length / 4093);
  assert.ok(rig.sim.faultCounters.lateFlowControls > blocks, 'every block needed a second flow control');
});

test('no flow control at all: clear ISOTP_TIMEOUT_BS naming N_Bs', T, async () => {
  const { error } = await flashWith({ dropFrame: { kind: 'FC', count: 1000 } });
  assert.ok(isBusError(error, 'ISOTP_TIMEOUT_BS'), `got ${String(error)}`);
  assert.equal(error.details['timeoutMs'], 1000);
});

test('NRC 0x78 storm: P2* is adopted from the session response and the request completes', T, async () => {
  const { rig, result, error } = await flashWith({ responsePendingStorm: { count: 30, intervalMs: 1000, sid: 0x36 } });
  assert.equal(error, undefined);
  assert.equal(result!.version, '2.0.0');
  assert.ok(rig.sim.faultCounters.pendingSent >= 30);
  assert.equal(result!.attempts, 1);
});

test('NRC 0x78 beyond maxResponsePending: UDS_TIMEOUT_OVERALL', T, async () => {
  const { error } = await flashWith(
    { responsePendingStorm: { count: 30, intervalMs: 10, sid: 0x36 } },
    {},
    { client: { maxResponsePending: 10 } },
  );
  assert.ok(isBusError(error, 'UDS_TIMEOUT_OVERALL'), `got ${String(error)}`);
});

test('ECU reset in the middle of the transfer: the flash starts over and succeeds on attempt 2', T, async () => {
  const { rig, result, error } = await flashWith({ resetMidTransfer: { afterBlocks: 3 } });
  assert.equal(error, undefined);
  assert.equal(result!.attempts, 2);
  assert.equal(rig.sim.faultCounters.resets, 2, 'the mid-transfer reset and the final ECUReset');
  assert.deepEqual(Buffer.from(rig.sim.flash.read(0x0800_0000, IMG.length)), Buffer.from(IMG));
});

test('a refused block (NRC 0x72) is recovered by starting over', T, async () => {
  const { rig, result, error } = await flashWith({ refuseBlock: { block: 2, nrc: 0x72 } });
  assert.equal(error, undefined);
  assert.equal(result!.attempts, 2);
  assert.equal(rig.sim.faultCounters.blocksRefused, 1);
});

test('a block refused with NRC 0x31 is fatal and named', T, async () => {
  const { error } = await flashWith({ refuseBlock: { block: 2, nrc: 0x31, times: 5 } });
  assert.ok(isBusError(error, 'UDS_NEGATIVE_RESPONSE'), `got ${String(error)}`);
  assert.equal(error.details['nrc'], 0x31);
  assert.equal(error.details['nrcName'], 'requestOutOfRange');
  assert.equal(error.details['service'], 'TransferData');
});

test('a wrong security key gives NRC 0x35 invalidKey', T, async () => {
  const { error } = await flashWith({}, { security: { level: 1, keyFunction: (seed) => seed } });
  assert.ok(isBusError(error, 'UDS_NEGATIVE_RESPONSE'));
  assert.equal(error.details['nrcName'], 'invalidKey');
});

test('an image reporting another version after the reset: UDS_VERSION_MISMATCH', T, async () => {
  const { error } = await flashWith({}, { expectedVersion: '3.0.0' });
  assert.ok(isBusError(error, 'UDS_VERSION_MISMATCH'));
  assert.deepEqual([error.details['expected'], error.details['actual']], ['3.0.0', '2.0.0']);
});

test('abort during the download ends at once with CANCELLED', T, async () => {
  const ac = new AbortController();
  let blocks = 0;
  const { error } = await flashWith(
    {},
    {
      signal: ac.signal,
      onProgress: (p) => {
        if (p.phase === 'download' && ++blocks === 3) ac.abort(new Error('user cancel'));
      },
    },
  );
  assert.ok(isCancelled(error), `got ${String(error)}`);
});
