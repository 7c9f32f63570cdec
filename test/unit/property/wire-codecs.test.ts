/**
 * Property-based tests of the wire codecs (issue 13 "Done when"): ISO-TP N_PDUs (drivers/can),
 * SMP packets, CBOR bodies and console framing (drivers/serial/smp), YMODEM blocks
 * (drivers/serial/ymodem), the DFU file suffix (drivers/usb) and the MCUboot image header.
 * Round trips where an encoder exists; on any bytes the decoders return a rejection or throw only
 * their coded BusError.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  consecutiveFramePayload,
  decodePdu,
  encodeConsecutiveFrame,
  encodeFirstFrame,
  encodeFlowControl,
  encodeSingleFrame,
  singleFrameMax,
  type FlowStatus,
  type FrameLayout,
} from '../../../drivers/can/isotp/pci.js';
import { BufferImageSource } from '../../../drivers/shared/image-source.js';
import { decodeBody, encodeBody } from '../../../drivers/serial/smp/cbor-body.js';
import { encodeConsoleFrames } from '../../../drivers/serial/smp/console-framing.js';
import { SmpConsoleReassembler } from '../../../drivers/serial/smp/console-reassembler.js';
import { buildMcubootHeader, parseMcubootHeader } from '../../../drivers/serial/smp/mcuboot-header.js';
import {
  decodeSmpPacket,
  encodeSmpPacket,
  type SmpOpValue,
  type SmpVersion,
} from '../../../drivers/serial/smp/smp-header.js';
import {
  decodeFrame,
  encodeBlock,
  encodeHeaderBlock,
  frameLength,
  parseHeaderBlock,
} from '../../../drivers/serial/ymodem/codec.js';
import { BLOCK_128, BLOCK_1K } from '../../../drivers/serial/ymodem/constants.js';
import { readDfuSuffix, withDfuSuffix } from '../../../drivers/usb/dfu/dfu-suffix.js';
import { check, checkAsync, codedOnly, codedOnlyAsync } from './property-helpers.js';

const bytes = (max: number, min = 0) => fc.uint8Array({ minLength: min, maxLength: max });

/** ISO-TP frame layouts: classic or FD TX_DL, with or without an address byte, padded or not. */
const layoutArb: fc.Arbitrary<FrameLayout> = fc.record({
  prefix: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
  txDataLength: fc.constantFrom(8, 12, 16, 20, 24, 32, 48, 64),
  padding: fc.oneof(fc.constant(false as const), fc.integer({ min: 0, max: 255 })),
});

/** The PDU of a built frame: without the address byte. */
const pduOf = (layout: FrameLayout, frame: Uint8Array) => frame.subarray(layout.prefix === undefined ? 0 : 1);

describe('property: ISO-TP N_PDU codec', () => {
  it('decodePdu never throws on any bytes and any frame length', () => {
    check(
      fc.property(bytes(64), fc.integer({ min: 0, max: 64 }), (pdu, frameLength) => {
        const d = decodePdu(pdu, frameLength);
        assert.ok(['SF', 'FF', 'CF', 'FC', 'invalid'].includes(d.type));
        if (d.type === 'SF') assert.ok(d.data.length >= 1 && d.data.length <= pdu.length);
      }),
    );
  });

  it('single frames round-trip: the data comes back exactly', () => {
    check(
      fc.property(
        layoutArb.chain((l) => fc.tuple(fc.constant(l), bytes(singleFrameMax(l), 1))),
        ([layout, data]) => {
          const frame = encodeSingleFrame(layout, data);
          assert.ok(frame.length <= layout.txDataLength || frame.length <= 8);
          if (layout.prefix !== undefined) assert.equal(frame[0], layout.prefix);
          const d = decodePdu(pduOf(layout, frame), frame.length);
          assert.equal(d.type, 'SF');
          assert.deepEqual(d.type === 'SF' && [...d.data], [...data]);
        },
      ),
    );
  });

  it('first frames round-trip the message size (12-bit and 32-bit escape) and the leading bytes', () => {
    check(
      fc.property(
        layoutArb,
        fc.oneof(fc.integer({ min: 8, max: 0xfff }), fc.integer({ min: 0x1000, max: 0xffffffff })),
        bytes(80, 80),
        (layout, size, data) => {
          const { frame, used } = encodeFirstFrame(layout, size, data);
          assert.equal(frame.length, layout.txDataLength);
          const d = decodePdu(pduOf(layout, frame), frame.length);
          assert.equal(d.type, 'FF');
          if (d.type !== 'FF') return;
          assert.equal(d.size, size);
          assert.deepEqual([...d.data.subarray(0, used)], [...data.subarray(0, used)]);
        },
      ),
    );
  });

  it('consecutive and flow control frames round-trip', () => {
    const status = fc.constantFrom<FlowStatus>('CTS', 'WAIT', 'OVFLW');
    check(
      fc.property(
        layoutArb.chain((l) => fc.tuple(fc.constant(l), bytes(consecutiveFramePayload(l), 1))),
        fc.integer({ min: 0, max: 15 }),
        status,
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
        ([layout, data], sn, st, bs, stMin) => {
          const cf = encodeConsecutiveFrame(layout, sn, data);
          const c = decodePdu(pduOf(layout, cf), cf.length);
          assert.ok(c.type === 'CF' && c.sn === sn);
          assert.deepEqual([...c.data.subarray(0, data.length)], [...data]);
          const fcFrame = encodeFlowControl(layout, st, bs, stMin);
          const f = decodePdu(pduOf(layout, fcFrame), fcFrame.length);
          assert.deepEqual(f, { type: 'FC', status: st, blockSize: bs, stMin });
        },
      ),
    );
  });
});

const smpHeaderArb = fc.record({
  op: fc.constantFrom<SmpOpValue>(0, 1, 2, 3),
  version: fc.constantFrom<SmpVersion>(0, 1),
  flags: fc.integer({ min: 0, max: 255 }),
  group: fc.integer({ min: 0, max: 0xffff }),
  seq: fc.integer({ min: 0, max: 255 }),
  id: fc.integer({ min: 0, max: 255 }),
});

/** What SMP bodies carry: text keys; integers, text, byte strings, booleans, nested maps and lists. */
const smpValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer({ min: -(2 ** 31), max: 2 ** 32 }),
    fc.string({ maxLength: 20 }),
    fc.boolean(),
    bytes(40),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), tie('value'), { maxKeys: 4 }),
  ),
})).value;
const smpBody = fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), smpValue, { maxKeys: 6 });

describe('property: SMP', () => {
  it('packets round-trip through encodeSmpPacket / decodeSmpPacket', () => {
    check(
      fc.property(smpHeaderArb, bytes(300), (h, data) => {
        const { header, data: out } = decodeSmpPacket(encodeSmpPacket(h, data));
        assert.deepEqual(header, { ...h, length: data.length });
        assert.deepEqual([...out], [...data]);
      }),
    );
  });

  it('decodeSmpPacket on any bytes: a packet or SMP_BAD_PACKET', () => {
    check(fc.property(bytes(64), (p) => void codedOnly(() => decodeSmpPacket(p), ['SMP_BAD_PACKET'])));
  });

  it('CBOR bodies round-trip', () => {
    check(
      fc.property(smpBody, (body) => {
        const back = decodeBody(encodeBody(body));
        // cborg returns byte strings as Uint8Array views: compare as plain data.
        assert.deepEqual(normalise(back), normalise(body));
      }),
    );
  });

  it('decodeBody on any bytes: a map or SMP_BAD_CBOR', () => {
    check(fc.property(bytes(64), (b) => void codedOnly(() => decodeBody(b), ['SMP_BAD_CBOR'])));
  });

  it('console frames round-trip through the reassembler, split anywhere and after line noise', () => {
    check(
      fc.property(
        bytes(400, 8),
        fc.constantFrom(127, 64, 16),
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 0x20, max: 0x7e }), { maxLength: 30 }),
        (packet, maxFrameSize, cuts, noise) => {
          const wire = encodeConsoleFrames(packet, maxFrameSize);
          const r = new SmpConsoleReassembler({ maxFrameSize });
          const out: Uint8Array[] = [...r.feed(Uint8Array.from([...noise, 0x0a]))];
          let off = 0;
          for (let i = 0; off < wire.length; i++) {
            const n = cuts[i % cuts.length]!;
            out.push(...r.feed(wire.subarray(off, off + n)));
            off += n;
          }
          assert.equal(out.length, 1);
          assert.deepEqual([...out[0]!], [...packet]);
        },
      ),
    );
  });

  it('the reassembler never throws on any bytes, and only yields CRC-checked packets', () => {
    check(
      fc.property(fc.array(bytes(64), { maxLength: 6 }), (chunks) => {
        const r = new SmpConsoleReassembler({ maxFrameSize: 127 });
        for (const c of chunks) for (const p of r.feed(c)) assert.ok(p.length >= 8);
      }),
    );
  });

  it('MCUboot headers round-trip; any 32 bytes parse or fail with SMP_BAD_IMAGE', () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    const u16 = fc.integer({ min: 0, max: 0xffff });
    const u8 = fc.integer({ min: 0, max: 255 });
    check(
      fc.property(
        fc.record(
          {
            loadAddr: u32,
            hdrSize: u16,
            protectTlvSize: u16,
            imgSize: u32,
            flags: u32,
            version: fc.record({ major: u8, minor: u8, revision: u16, build: u32 }, { noNullPrototype: true }),
          },
          { noNullPrototype: true },
        ),
        bytes(40),
        (h, garbage) => {
          assert.deepEqual(parseMcubootHeader(buildMcubootHeader(h)), h);
          codedOnly(() => parseMcubootHeader(garbage), ['SMP_BAD_IMAGE']);
        },
      ),
    );
  });
});

describe('property: YMODEM block codec', () => {
  it('data blocks round-trip: block number mod 256, data then padding', () => {
    check(
      fc.property(
        fc.integer({ min: 0, max: 100_000 }),
        fc.constantFrom(BLOCK_128, BLOCK_1K).chain((size) => fc.tuple(fc.constant(size), bytes(size))),
        (blockNumber, [size, data]) => {
          const frame = encodeBlock(blockNumber, data, size);
          assert.equal(frameLength(frame[0]!), frame.length);
          const d = decodeFrame(frame);
          assert.ok(d.ok);
          assert.equal(d.blockNumber, blockNumber & 0xff);
          assert.deepEqual([...d.data.subarray(0, data.length)], [...data]);
          assert.ok(d.data.subarray(data.length).every((b) => b === 0x1a));
        },
      ),
    );
  });

  it('header blocks round-trip name, size, mtime and mode', () => {
    const name = fc
      .string({
        minLength: 1,
        maxLength: 200,
        unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
      })
      .filter((s) => !s.includes(' '));
    check(
      fc.property(
        name,
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 0o177777 }), { nil: undefined }),
        (fileName, size, mtime, mode) => {
          const info = {
            fileName,
            size,
            ...(mtime !== undefined && { mtime }),
            ...(mtime !== undefined && mode !== undefined && { mode }),
          };
          const d = decodeFrame(encodeHeaderBlock({ fileName, size, mtime, mode }));
          assert.ok(d.ok && d.blockNumber === 0);
          assert.deepEqual(parseHeaderBlock(d.data), { end: false, ...info });
        },
      ),
    );
  });

  it('decodeFrame and parseHeaderBlock never throw on any bytes; a corrupted frame is rejected', () => {
    check(
      fc.property(bytes(1100), bytes(128, 1), fc.nat(), (garbage, data, at) => {
        const g = decodeFrame(garbage);
        if (g.ok) parseHeaderBlock(g.data);
        parseHeaderBlock(garbage);
        const frame = encodeBlock(1, data, BLOCK_128);
        const i = at % frame.length;
        frame[i] = frame[i]! ^ (1 + (at % 255));
        assert.equal(decodeFrame(frame).ok, false);
      }),
    );
  });
});

describe('property: DFU file suffix', () => {
  it('withDfuSuffix / readDfuSuffix round-trip the ids and the payload size', async () => {
    const u16 = fc.integer({ min: 0, max: 0xffff });
    await checkAsync(
      fc.asyncProperty(bytes(300), u16, u16, u16, u16, async (payload, vendorId, productId, bcdDevice, bcdDFU) => {
        const file = withDfuSuffix(payload, { vendorId, productId, bcdDevice, bcdDFU });
        const s = await readDfuSuffix(new BufferImageSource(file));
        assert.ok(s);
        assert.deepEqual(
          { v: s.idVendor, p: s.idProduct, d: s.bcdDevice, b: s.bcdDFU, n: s.payloadSize },
          { v: vendorId, p: productId, d: bcdDevice, b: bcdDFU, n: payload.length },
        );
      }),
    );
  });

  it('any bytes: no suffix, a suffix, or DFU_FILE_INVALID / DFU_FILE_CRC; one flipped bit is caught', async () => {
    await checkAsync(
      fc.asyncProperty(bytes(100), bytes(100), fc.nat(), async (garbage, payload, at) => {
        // Garbage with the signature forced in, half the time, to reach the length and CRC checks.
        const g = Uint8Array.from(garbage);
        if (g.length >= 16 && at % 2 === 0) g.set([0x55, 0x46, 0x44], g.length - 8);
        await codedOnlyAsync(() => readDfuSuffix(new BufferImageSource(g)), ['DFU_FILE_INVALID', 'DFU_FILE_CRC']);
        const file = withDfuSuffix(payload, { vendorId: 0x0483, productId: 0xdf11 });
        const i = at % file.length;
        file[i] = file[i]! ^ (1 << (at % 8));
        // A flip in the signature makes it "no suffix"; in bLength invalid or CRC; anywhere else CRC.
        const r = await codedOnlyAsync(
          () => readDfuSuffix(new BufferImageSource(file)),
          ['DFU_FILE_INVALID', 'DFU_FILE_CRC'],
        );
        assert.ok(r === undefined, `a flipped bit at ${i} of ${file.length} went unnoticed`);
      }),
    );
  });
});

/** Plain data for deepEqual: byte views as arrays of numbers. */
function normalise(v: unknown): unknown {
  if (v instanceof Uint8Array) return { bytes: [...v] };
  if (Array.isArray(v)) return v.map(normalise);
  if (typeof v === 'object' && v !== null)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalise(x)]));
  return v;
}
