import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { BufferImageSource } from '../../../drivers/shared/image-source.js';
import { isBusError } from '../../../drivers/shared/errors.js';
import { YmodemSender } from '../../../drivers/serial/ymodem/sender.js';
import type { YmodemSenderOptions } from '../../../drivers/serial/ymodem/sender-options.js';
import { createMemoryLinkPair } from '../../../hw-fixtures/serial/ymodem-memory-link.js';
import { YmodemBootloaderSim, type YmodemSimFaults } from '../../../hw-fixtures/serial/ymodem-bootloader-sim.js';

/**
 * Every fault switch of the bootloader simulator ends in a delivered image after retries, or in a
 * clear YMODEM/serial error: never a hang (each test has a deadline well above its timeouts).
 */

/** Good paths never wait for a timeout, so the ACK deadline can be generous; tests that need a timeout set their own. */
const SENDER: YmodemSenderOptions = {
  timeouts: { startMs: 3000, ackMs: 1500, endOfBatchMs: 250, writeMs: 2000 },
  attempts: { maxRetries: 5 },
};
const SHORT_ACK: YmodemSenderOptions = { ...SENDER, timeouts: { ...SENDER.timeouts, ackMs: 400 } };
const TIMING = { cIntervalMs: 50, blockTimeoutMs: 1000, interByteTimeoutMs: 40, bootMs: 5 };
const IMAGE = randomBytes(8 * 1024 + 300);

/** `expectRecord`: whether the simulator ends a batch (a stalled one never does). */
async function run(faults: YmodemSimFaults, expectRecord = true, senderOpts: YmodemSenderOptions = SENDER) {
  const { host, device } = createMemoryLinkPair();
  const sim = new YmodemBootloaderSim({ port: device, startIn: 'bootloader', timing: TIMING, faults });
  try {
    const outcome = await new YmodemSender(host, senderOpts)
      .send(new BufferImageSource(IMAGE), { fileName: 'fw.bin' })
      .then(
        (r) => ({ ok: true as const, r }),
        (e: unknown) => ({ ok: false as const, e }),
      );
    const record = expectRecord ? await sim.waitForTransfer(1, 3000) : undefined;
    return { outcome, record, sim };
  } finally {
    await sim.close();
    await host.close();
  }
}

function assertDelivered(x: Awaited<ReturnType<typeof run>>): void {
  assert.ok(x.outcome.ok, `send failed: ${x.outcome.ok ? '' : String(x.outcome.e)}`);
  assert.equal(x.record?.kind, 'complete');
  assert.deepEqual(Buffer.from(x.record!.files[0]!.data), IMAGE);
}

test('corrupted block: NAK, resent, image intact', { timeout: 10_000 }, async () => {
  const x = await run({ corruptBlock: { block: 3, times: 2 } });
  assertDelivered(x);
  assert.ok(x.outcome.ok && x.outcome.r.retries >= 3, 'two block resends plus the EOT');
  assert.ok(x.record!.stats.naks >= 3);
});

test(
  'dropped bytes: the short frame times out inside the receiver, NAK, resent, image intact',
  { timeout: 10_000 },
  async () => {
    const x = await run({ dropBytes: { block: 2, count: 17 } });
    assertDelivered(x);
    assert.ok(x.outcome.ok && x.outcome.r.retries >= 2);
  },
);

test('stall shorter than the ACK timeout: delivered without a resend', { timeout: 10_000 }, async () => {
  const x = await run({ stall: { block: 4, ms: 100 } });
  assertDelivered(x);
  assert.ok(x.outcome.ok && x.outcome.r.retries === 1, 'only the EOT');
});

test(
  'stall longer than the ACK timeout: the resend is lost in the stall, the late ACK carries on',
  { timeout: 10_000 },
  async () => {
    // Resend at 400 ms (lost in the stall), ACK at 600 ms, next timeout at 800 ms: 200 ms margins.
    const x = await run({ stall: { block: 4, ms: 600 } }, true, SHORT_ACK);
    assertDelivered(x);
    assert.ok(x.outcome.ok && x.outcome.r.retries >= 2);
  },
);

test('stall forever: YMODEM_TIMEOUT naming the block, after maxRetries resends', { timeout: 10_000 }, async () => {
  const x = await run({ stall: { block: 4, ms: Infinity } }, false, {
    ...SHORT_ACK,
    timeouts: { ...SHORT_ACK.timeouts, ackMs: 200 },
  });
  assert.equal(x.sim.transfers.length, 0);
  assert.ok(!x.outcome.ok);
  assert.ok(isBusError(x.outcome.e, 'YMODEM_TIMEOUT'), String(x.outcome.e));
  assert.equal(x.outcome.e.details['block'], 4);
  assert.equal(x.outcome.e.details['attempts'], 6);
});

test('NAK storm within maxRetries: delivered', { timeout: 10_000 }, async () => {
  const x = await run({ nakStorm: { block: 1, count: 4 } });
  assertDelivered(x);
});

test(
  'NAK storm beyond maxRetries: YMODEM_TOO_MANY_RETRIES, and the bootloader sees the cancel',
  { timeout: 10_000 },
  async () => {
    const x = await run({ nakStorm: { block: 5, count: 50 } });
    assert.ok(!x.outcome.ok);
    assert.ok(isBusError(x.outcome.e, 'YMODEM_TOO_MANY_RETRIES'), String(x.outcome.e));
    assert.deepEqual([x.outcome.e.details['block'], x.outcome.e.details['naks']], [5, 6]);
    assert.equal(x.record?.kind, 'cancelled');
    assert.equal(x.record?.stats.blocks, 4);
  },
);

test('device disappears mid-transfer: the link reports SERIAL_DISCONNECTED', { timeout: 10_000 }, async () => {
  const x = await run({ disappearAt: { block: 3 } });
  assert.ok(!x.outcome.ok);
  assert.ok(isBusError(x.outcome.e, 'SERIAL_DISCONNECTED'), String(x.outcome.e));
  assert.equal(x.record?.kind, 'gone');
  assert.equal(x.sim.mode, 'stopped');
});

test(
  'bootloader that jumps to the app after the EOT (no end of batch): delivered with a warning',
  { timeout: 10_000 },
  async () => {
    const x = await run({ noEndOfBatch: true });
    assertDelivered(x);
    assert.ok(x.outcome.ok);
    assert.deepEqual(x.outcome.r.warnings, ['no-end-of-batch-request']);
    assert.equal(x.record?.kind === 'complete' && x.record.endOfBatch, false);
  },
);

test('receiver that ACKs the first EOT (lrzsz rb): no EOT resend', { timeout: 10_000 }, async () => {
  const x = await run({ nakFirstEot: false });
  assertDelivered(x);
  assert.ok(x.outcome.ok && x.outcome.r.retries === 0);
});
