import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { BufferImageSource, type ImageSource } from '../../../drivers/shared/image-source.js';
import { isBusError, isCancelled } from '../../../drivers/shared/errors.js';
import { YmodemSender, type YmodemProgress } from '../../../drivers/serial/ymodem/sender.js';
import type { YmodemSenderOptions } from '../../../drivers/serial/ymodem/sender-options.js';
import { encodeBlock, encodeEndOfBatchBlock, encodeHeaderBlock } from '../../../drivers/serial/ymodem/codec.js';
import { ACK, CAN, CRC_REQUEST, EOT, NAK } from '../../../drivers/serial/ymodem/constants.js';
import { createMemoryLinkPair } from '../../../hw-fixtures/serial/ymodem-memory-link.js';
import {
  YmodemBootloaderSim,
  type YmodemBootloaderSimOptions,
} from '../../../hw-fixtures/serial/ymodem-bootloader-sim.js';

/** Deadlines, not asserted timings: long enough that a loaded CI machine never times out on a good path. */
const FAST: YmodemSenderOptions = { timeouts: { startMs: 3000, ackMs: 2000, endOfBatchMs: 1000, writeMs: 2000 } };
const SIM_TIMING = { cIntervalMs: 50, blockTimeoutMs: 1000, interByteTimeoutMs: 50, bootMs: 5 };

async function withSim<T>(
  simOpts: Partial<YmodemBootloaderSimOptions>,
  fn: (sender: YmodemSender, sim: YmodemBootloaderSim) => Promise<T>,
  senderOpts: YmodemSenderOptions = FAST,
): Promise<T> {
  const { host, device } = createMemoryLinkPair();
  const sim = new YmodemBootloaderSim({
    port: device,
    startIn: 'bootloader',
    ...simOpts,
    timing: { ...SIM_TIMING, ...simOpts.timing },
  });
  try {
    return await fn(new YmodemSender(host, senderOpts), sim);
  } finally {
    await sim.close();
    await host.close();
  }
}

for (const size of [0, 1, 128, 1024, 1025, 100 * 1024 + 7]) {
  test(`a ${size}-byte image reaches the simulated bootloader byte for byte`, { timeout: 10_000 }, async () => {
    const image = randomBytes(size);
    const progress: YmodemProgress[] = [];
    await withSim({}, async (sender, sim) => {
      const result = await sender.send(new BufferImageSource(image), {
        fileName: 'fw.bin',
        onProgress: (p) => progress.push(p),
      });
      const rec = await sim.waitForTransfer(1, 2000);
      assert.equal(rec.kind, 'complete');
      assert.deepEqual(Buffer.from(rec.files[0]!.data), image);
      assert.equal(rec.files[0]!.fileName, 'fw.bin');
      assert.equal(rec.files[0]!.size, size);
      assert.equal(result.bytesSent, size);
      assert.equal(result.retries, 1, 'only the EOT is repeated (the simulator NAKs the first one, figure 3)');
      assert.deepEqual(result.warnings, []);
    });
    assert.equal(progress.at(-1)?.bytesDone ?? 0, size);
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i]!.bytesDone > progress[i - 1]!.bytesDone);
  });
}

test(
  'on the wire: block 0, STX data block, SOH tail, EOT, null block 0; ACK and C in one read are both taken',
  { timeout: 10_000 },
  async () => {
    const { host, device } = createMemoryLinkPair();
    const image = randomBytes(1100);
    const sending = new YmodemSender(host, FAST).send(new BufferImageSource(image), { fileName: 'a.bin', mtime: 0 });
    await device.write(Uint8Array.of(CRC_REQUEST));
    assert.deepEqual(
      await device.readExactly(133, 2000),
      encodeHeaderBlock({ fileName: 'a.bin', size: 1100, mtime: 0 }),
    );
    await device.write(Uint8Array.of(ACK, CRC_REQUEST));
    assert.deepEqual(await device.readExactly(1029, 2000), encodeBlock(1, image.subarray(0, 1024), 1024));
    await device.write(Uint8Array.of(ACK));
    assert.deepEqual(await device.readExactly(133, 2000), encodeBlock(2, image.subarray(1024), 128));
    await device.write(Uint8Array.of(ACK));
    assert.deepEqual(await device.readExactly(1, 2000), Uint8Array.of(EOT));
    await device.write(Uint8Array.of(ACK, CRC_REQUEST)); // lrzsz rb: ACKs the first EOT, then asks for the next file
    assert.deepEqual(await device.readExactly(133, 2000), encodeEndOfBatchBlock());
    await device.write(Uint8Array.of(ACK));
    const result = await sending;
    assert.deepEqual(result, { bytesSent: 1100, blocks: 2, retries: 0, warnings: [] });
    await host.close();
  },
);

test('a NAKed block is sent again unchanged', { timeout: 10_000 }, async () => {
  const { host, device } = createMemoryLinkPair();
  const image = randomBytes(300);
  const sending = new YmodemSender(host, FAST).send(new BufferImageSource(image), { fileName: 'a.bin' });
  await device.write(Uint8Array.of(CRC_REQUEST));
  await device.readExactly(133, 2000);
  await device.write(Uint8Array.of(ACK, CRC_REQUEST));
  const first = await device.readExactly(1029, 2000);
  await device.write(Uint8Array.of(NAK));
  assert.deepEqual(await device.readExactly(1029, 2000), first);
  await device.write(Uint8Array.of(CAN, CAN));
  await assert.rejects(sending, (e) => isBusError(e, 'YMODEM_CANCELLED_BY_RECEIVER') && e.details['block'] === 1);
  await host.close();
});

test('no C at all is YMODEM_NO_RECEIVER and nothing is written to the port', { timeout: 10_000 }, async () => {
  const { host, device } = createMemoryLinkPair();
  await device.write(new TextEncoder().encode('hello from the app\r\n'));
  await assert.rejects(
    new YmodemSender(host, { timeouts: { startMs: 100 } }).send(new BufferImageSource(new Uint8Array(10)), {
      fileName: 'x',
    }),
    (e) => isBusError(e, 'YMODEM_NO_RECEIVER'),
  );
  assert.equal(host.bytesWritten, 0);
  await host.close();
});

test('a file name that cannot go in block 0 is YMODEM_INVALID_OPTIONS before anything is sent', async () => {
  const { host } = createMemoryLinkPair();
  await assert.rejects(
    new YmodemSender(host).send(new BufferImageSource(new Uint8Array(1)), { fileName: 'has space' }),
    (e) => isBusError(e, 'YMODEM_INVALID_OPTIONS'),
  );
  assert.throws(
    () => new YmodemSender(host, { attempts: { maxRetries: -1 } }),
    (e) => isBusError(e, 'YMODEM_INVALID_OPTIONS') && e.details['field'] === 'attempts.maxRetries',
  );
  await host.close();
});

test(
  'an image source that runs short is YMODEM_IMAGE_READ and the receiver is cancelled',
  { timeout: 10_000 },
  async () => {
    const short: ImageSource = {
      size: 5000,
      readAt: async (o, l) => new Uint8Array(Math.max(0, Math.min(l, 2000 - o))),
      close: async () => {},
    };
    await withSim({}, async (sender, sim) => {
      await assert.rejects(
        sender.send(short, { fileName: 'x' }),
        (e) => isBusError(e, 'YMODEM_IMAGE_READ') && e.details['offset'] === 1024,
      );
      const rec = await sim.waitForTransfer(1, 2000);
      assert.equal(rec.kind, 'cancelled');
    });
  },
);

test(
  'abort mid-transfer sends the CAN sequence: the bootloader sees a cancelled batch',
  { timeout: 10_000 },
  async () => {
    const ac = new AbortController();
    await withSim({ timing: { flashWriteMsPerBlock: 5 } }, async (sender, sim) => {
      const sending = sender.send(new BufferImageSource(randomBytes(50 * 1024)), {
        fileName: 'x',
        signal: ac.signal,
        onProgress: (p) => {
          if (p.bytesDone >= 10 * 1024) ac.abort(new Error('user pressed Ctrl-C'));
        },
      });
      await assert.rejects(sending, (e) => isCancelled(e));
      const rec = await sim.waitForTransfer(1, 2000);
      assert.equal(rec.kind, 'cancelled');
      assert.ok(rec.stats.blocks >= 10 && rec.stats.blocks < 50, JSON.stringify(rec.stats));
    });
  },
);
