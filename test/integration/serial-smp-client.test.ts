/**
 * SmpClient through the real `serialport` package over a socat pty pair into the SMP device
 * simulator (reference/bus-protocols.md §2.2, §2.5): requests, upload, resume, fault switches.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { openSerialLink } from '../../drivers/serial/serialport-link.js';
import { requestsInFlightForBuffers } from '../../drivers/serial/smp/buffer-size.js';
import { SmpClient, type SmpClientOptions } from '../../drivers/serial/smp/smp-client.js';
import { isBusError } from '../../drivers/shared/errors.js';
import { BufferImageSource } from '../../drivers/shared/image-source.js';
import { startSmpRig, type SmpRig } from '../../hw-fixtures/serial/smp-rig.js';
import type { SmpDeviceSimOptions } from '../../hw-fixtures/serial/smp-device-sim.js';
import { buildTestImage } from '../../hw-fixtures/serial/test-image.js';
import { ptyRigSkip } from '../../hw-fixtures/serial/rig-availability.js';

const skip = ptyRigSkip();
const T = { timeout: 30_000 };

async function withClient(
  simOpts: Omit<SmpDeviceSimOptions, 'path'>,
  clientOpts: SmpClientOptions,
  body: (c: SmpClient, rig: SmpRig) => Promise<void>,
): Promise<void> {
  const rig = await startSmpRig({ baudRate: 921600, flashUsPerByte: 1, bootTimeMs: 100, ...simOpts });
  const link = await openSerialLink({ path: rig.port, assertControlLinesOnOpen: false });
  try {
    await body(new SmpClient(link, { timeouts: { responseMs: 400 }, ...clientOpts }), rig);
  } finally {
    await link.close();
    await rig.close();
  }
}

describe('SmpClient ↔ simulator over a pty', { skip }, () => {
  it('echo, OS info, MCUmgr parameters and image state', T, async () => {
    await withClient({}, {}, async (c) => {
      assert.equal(await c.echo('ping 123'), 'ping 123');
      assert.match(await c.osInfo(), /1\.0\.0/);
      assert.deepEqual(await c.mcumgrParams(), { bufSize: 256, bufCount: 4 });
      const [primary, ...rest] = await c.imageStateRead();
      assert.equal(rest.length, 0);
      assert.equal(primary?.version, '1.0.0');
      assert.ok(primary?.active && primary.confirmed);
    });
  });

  it('uploads, tests, resets into and confirms a new image', T, async () => {
    await withClient({}, {}, async (c, rig) => {
      const img = buildTestImage('2.1.0', 12_000, 3);
      const progress: number[] = [];
      const r = await c.imageUpload(new BufferImageSource(img), { onProgress: (p) => progress.push(p.bytesDone) });
      assert.equal(r.match, true);
      assert.equal(r.resumedFrom, 0);
      assert.deepEqual(
        progress,
        [...progress].sort((a, b) => a - b),
      );
      assert.equal(progress.at(-1), img.length);
      const slot1 = (await c.imageStateRead()).find((s) => s.slot === 1);
      assert.equal(slot1?.version, '2.1.0');
      await c.imageStateWrite({ hash: slot1!.hash, confirm: false });
      await c.reset();
      await waitFor(() => rig.sim.slots.boots.length === 1);
      const active = (await c.imageStateRead({ attempts: 10 })).find((s) => s.active);
      assert.equal(active?.version, '2.1.0');
      assert.equal(active?.confirmed, false);
      await c.imageStateWrite({ confirm: true });
      assert.equal(rig.sim.runningVersion, '2.1.0');
      assert.equal(rig.sim.slots.primaryConfirmed, true);
    });
  });

  it(
    'with the window its buffers allow (buf_count 4: 2 in flight) the device holds two requests, loses none',
    T,
    async () => {
      // A generous response timeout: a late answer on a loaded machine would (rightly) end the pipelining.
      await withClient({}, { timeouts: { responseMs: 10_000 } }, async (c, rig) => {
        const img = buildTestImage('2.2.0', 20_000, 5);
        const window = requestsInFlightForBuffers((await c.mcumgrParams()).bufCount);
        assert.equal(window, 2);
        const r = await c.imageUpload(new BufferImageSource(img), { requestsInFlight: window });
        assert.equal(r.match, true);
        assert.equal(r.requestsInFlight, 2);
        assert.equal(rig.sim.record.maxHeld, 2);
        assert.equal(rig.sim.record.overrun, 0);
        assert.equal((await c.imageStateRead()).find((s) => s.slot === 1)?.version, '2.2.0');
      });
    },
  );

  it(
    'more requests in flight than the device has buffers: the lost ones are sent again, the image arrives whole',
    T,
    async () => {
      await withClient({ bufCount: 2, flashUsPerByte: 20 }, {}, async (c, rig) => {
        const img = buildTestImage('2.3.0', 20_000, 6);
        const r = await c.imageUpload(new BufferImageSource(img), { requestsInFlight: 3 });
        assert.equal(r.match, true, 'the device checked the whole image against its SHA-256');
        assert.ok(rig.sim.record.overrun > 0, 'the device dropped requests');
        assert.equal(r.requestsInFlight, 1);
        assert.equal((await c.imageStateRead()).find((s) => s.slot === 1)?.version, '2.3.0');
      });
    },
  );

  it('a device that reboots mid-upload keeps its offset: the upload continues there, never from 0', T, async () => {
    const img = buildTestImage('2.0.0', 20_000, 5);
    await withClient({ faults: { rebootAtOffset: 10_000 } }, {}, async (c, rig) => {
      const r = await c.imageUpload(new BufferImageSource(img));
      assert.equal(r.match, true);
      assert.equal(rig.sim.record.reboots, 1);
      const offs = rig.sim.record.uploadOffsets;
      assert.equal(offs.filter((o) => o === 0).length, 1, `offsets: ${offs.join(',')}`);
      assert.ok(r.bytesSent < img.length * 1.1, `sent ${r.bytesSent} of ${img.length}`);
    });
  });

  it('an upload cut off at about half (device gone) resumes from the device offset on the next run', T, async () => {
    const img = buildTestImage('2.0.0', 20_000, 6);
    await withClient(
      { faults: { disappearAtOffset: 10_000, disappearForMs: 2_000 } },
      { attempts: { request: 2 } },
      async (c, rig) => {
        await assert.rejects(c.imageUpload(new BufferImageSource(img)), (e: unknown) => isBusError(e, 'SMP_TIMEOUT'));
        await waitFor(() => rig.sim.line.isOpen);
        const before = rig.sim.record.uploadOffsets.length;
        const r = await c.imageUpload(new BufferImageSource(img));
        const second = rig.sim.record.uploadOffsets.slice(before);
        assert.equal(second[0], 0); // the query: first-packet fields with the same sha
        assert.ok(r.resumedFrom >= 10_000 && r.resumedFrom < img.length, `resumed from ${r.resumedFrom}`);
        assert.equal(second[1], r.resumedFrom);
        assert.ok(r.bytesSent < img.length * 0.6, `second run sent ${r.bytesSent} bytes`);
        assert.equal(r.match, true);
      },
    );
  });

  for (const [name, faults] of [
    ['corrupted response frames', { corruptResponses: 2 }],
    ['bytes dropped from a response', { dropResponseBytes: 5 }],
    ['a short stall', { stallMs: 600 }],
  ] as const) {
    it(`recovers from ${name} by retrying`, T, async () => {
      await withClient({ faults: { ...faults } }, {}, async (c, rig) => {
        assert.equal(await c.echo('a'), 'a');
        assert.equal(await c.echo('b'), 'b');
        assert.ok(rig.sim.record.requests.length > 2, 'the client had to resend');
      });
    });
  }

  it('a stall longer than all attempts is SMP_TIMEOUT, not a hang', T, async () => {
    await withClient({ faults: { stallMs: 10_000 } }, { attempts: { request: 2 } }, async (c) => {
      await assert.rejects(c.echo('x'), (e: unknown) => isBusError(e, 'SMP_TIMEOUT') && e.details.attempts === 2);
    });
  });

  it('device errors come back as SMP_RC with names, v1 and v2', T, async () => {
    const notMcuboot = new Uint8Array(1000).fill(0x55);
    await withClient({}, { version: 1 }, async (c) => {
      await assert.rejects(
        c.imageUpload(new BufferImageSource(notMcuboot)),
        (e: unknown) =>
          isBusError(e, 'SMP_RC') &&
          e.details.name === 'IMG_MGMT_ERR_INVALID_IMAGE_HEADER_MAGIC' &&
          e.details.group === 1,
      );
    });
    await withClient({}, { version: 0 }, async (c) => {
      await assert.rejects(
        c.imageUpload(new BufferImageSource(notMcuboot)),
        (e: unknown) =>
          isBusError(e, 'SMP_RC') && e.details.name === 'MGMT_ERR_EUNKNOWN' && typeof e.details.rsn === 'string',
      );
      await assert.rejects(
        c.request(0, 0, 99, {}),
        (e: unknown) => isBusError(e, 'SMP_RC') && e.details.name === 'MGMT_ERR_ENOTSUP',
      );
    });
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
