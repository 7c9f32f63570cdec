/**
 * Byte-exact tests of the SMP codecs (header, console framing, CRC, CBOR bodies, errors, upload
 * requests). Sources of the expected bytes:
 *  - Header layout: https://docs.zephyrproject.org/latest/services/device_mgmt/smp_protocol.html
 *    ("Frame: The envelope").
 *  - Console framing and CRC: https://docs.zephyrproject.org/latest/services/device_mgmt/smp_transport.html
 *    ("UART/serial and console", "CRC Details") and apache/mynewt-mcumgr transport/smp-console.md.
 *  - Golden vector (mcumgr protocol.md, quoted in reference/bus-protocols.md §2.2): the request
 *    header 00 00 00 00 00 00 00 02 travels as 06 09 "AAoAAAAAAAAAAiBC" 0A.
 *  - mcumgr-cli trace of a reset request (https://devzone.nordicsemi.com/f/nordic-q-a/102545/dfu-mcumgr-base64-encoder-decoder/439815):
 *    packet 02 00 00 01 00 00 8a 05 a0 travels as 06 09 "AAsCAAABAACKBaA1Qw==" 0A.
 *  - Image upload fields: https://docs.zephyrproject.org/latest/services/device_mgmt/smp_groups/smp_group_1.html
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { isBusError } from '../../../drivers/shared/errors.js';
import { decodeBody, encodeBody } from '../../../drivers/serial/smp/cbor-body.js';
import { encodeConsoleFrames, framedSize } from '../../../drivers/serial/smp/console-framing.js';
import { SmpConsoleReassembler, type Discard } from '../../../drivers/serial/smp/console-reassembler.js';
import { crc16Xmodem } from '../../../drivers/serial/crc16-xmodem.js';
import {
  buildUploadRequest,
  fitChunkLength,
  nextUploadStep,
  type UploadPlan,
} from '../../../drivers/serial/smp/image-upload.js';
import {
  buildMcubootHeader,
  formatImageVersion,
  parseImageVersion,
  parseMcubootHeader,
} from '../../../drivers/serial/smp/mcuboot-header.js';
import { throwIfSmpError } from '../../../drivers/serial/smp/smp-errors.js';
import { decodeSmpPacket, encodeSmpPacket, SmpOp } from '../../../drivers/serial/smp/smp-header.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const ascii = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'));
const cat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

describe('SMP header (smp_protocol.rst)', () => {
  it('encodes the 8-byte big-endian header with Ver and OP in byte 0', () => {
    const p = encodeSmpPacket({ op: SmpOp.Write, version: 1, flags: 0, group: 0x0102, seq: 0x7f, id: 5 }, hex('a0'));
    assert.deepEqual(p, hex('0a 00 0001 0102 7f 05 a0'));
    const { header, data } = decodeSmpPacket(p);
    assert.deepEqual(header, { op: 2, version: 1, flags: 0, length: 1, group: 0x0102, seq: 0x7f, id: 5 });
    assert.deepEqual(data, hex('a0'));
  });

  it('rejects a packet whose Data Length disagrees', () => {
    assert.throws(
      () => decodeSmpPacket(hex('00 00 0005 0000 00 00 a0')),
      (e: unknown) => isBusError(e, 'SMP_BAD_PACKET'),
    );
  });
});

describe('console framing (smp_transport.rst)', () => {
  it('CRC-16/XMODEM check value', () => {
    assert.equal(crc16Xmodem(ascii('123456789')), 0x31c3);
  });

  it('golden vector: header 00..02 → 06 09 "AAoAAAAAAAAAAiBC" 0A', () => {
    const packet = encodeSmpPacket(
      { op: SmpOp.Read, version: 0, flags: 0, group: 0, seq: 0, id: 2 },
      new Uint8Array(0),
    );
    assert.deepEqual(encodeConsoleFrames(packet), cat(hex('0609'), ascii('AAoAAAAAAAAAAiBC'), hex('0a')));
  });

  it('mcumgr-cli reset request: 02 00 00 01 00 00 8a 05 a0 → 06 09 "AAsCAAABAACKBaA1Qw==" 0A', () => {
    const packet = encodeSmpPacket(
      { op: SmpOp.Write, version: 0, flags: 0, group: 0, seq: 0x8a, id: 5 },
      encodeBody({}),
    );
    assert.deepEqual(packet, hex('02 00 00 01 00 00 8a 05 a0'));
    const wire = encodeConsoleFrames(packet);
    assert.deepEqual(wire, cat(hex('0609'), ascii('AAsCAAABAACKBaA1Qw=='), hex('0a')));
    assert.deepEqual(new SmpConsoleReassembler().feed(wire), [packet]);
  });

  it('splits a long packet into ≤127-byte frames: 06 09 first, 04 14 after, each ending in 0A', () => {
    const packet = Uint8Array.from({ length: 300 }, (_, i) => (i * 31) & 0xff);
    const wire = encodeConsoleFrames(packet);
    assert.equal(wire.length, framedSize(300));
    const frames: Uint8Array[] = [];
    let start = 0;
    for (let i = 0; i < wire.length; i++)
      if (wire[i] === 0x0a) {
        frames.push(wire.subarray(start, i + 1));
        start = i + 1;
      }
    assert.equal(start, wire.length);
    assert.equal(frames.length, 4); // 304 raw bytes / 93 per frame
    frames.forEach((f, i) => {
      assert.ok(f.length <= 127, `frame ${i} is ${f.length} bytes`);
      assert.deepEqual([...f.subarray(0, 2)], i === 0 ? [0x06, 0x09] : [0x04, 0x14]);
    });
    const raw = Buffer.concat(
      frames.map((f) => Buffer.from(Buffer.from(f.subarray(2, -1)).toString('latin1'), 'base64')),
    );
    assert.equal(raw.readUInt16BE(0), 302); // total_len = body + 2 (CRC)
    assert.equal(raw.readUInt16BE(raw.length - 2), crc16Xmodem(packet));
    assert.deepEqual(new SmpConsoleReassembler().feed(wire), [packet]);
  });
});

describe('console reassembler', () => {
  const pkt = (seq: number) =>
    encodeSmpPacket({ op: SmpOp.ReadRsp, version: 0, flags: 0, group: 1, seq, id: 0 }, encodeBody({ images: [] }));

  it('resyncs after log text, bad CRC, cut frames and orphan continuations, reporting each discard', () => {
    const discards: Discard[] = [];
    const r = new SmpConsoleReassembler({ onDiscard: (d) => discards.push(d) });
    const good1 = encodeConsoleFrames(pkt(1));
    const bad = encodeConsoleFrames(pkt(2));
    bad[5] = bad[5] === 0x41 ? 0x42 : 0x41; // flip one base64 character → CRC mismatch
    const cut = encodeConsoleFrames(pkt(3)).subarray(0, 10);
    const good2 = encodeConsoleFrames(pkt(4));
    const orphan = cat(hex('0414'), ascii('AAAA'), hex('0a'));
    const stream = cat(ascii('[00:00:01.000] <inf> app: booting\r\n'), good1, bad, cut, good2, orphan);
    const got: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i += 7) got.push(...r.feed(stream.subarray(i, i + 7))); // arbitrary chunking
    assert.deepEqual(
      got.map((p) => p[6]),
      [1, 4],
    );
    const reasons = discards.map((d) => d.reason);
    assert.ok(reasons.includes('garbage'));
    assert.ok(reasons.includes('bad-crc'));
    assert.ok(reasons.includes('overlong-frame')); // the cut frame, ended by the next marker
    assert.ok(reasons.includes('orphan-continuation'));
    assert.equal(r.stats.packets, 2);
  });

  it('a new 06 09 packet before the previous one completed drops the partial one', () => {
    const discards: Discard[] = [];
    const r = new SmpConsoleReassembler({ onDiscard: (d) => discards.push(d) });
    const big = encodeSmpPacket(
      { op: SmpOp.WriteRsp, version: 0, flags: 0, group: 1, seq: 9, id: 1 },
      new Uint8Array(200),
    );
    const first = encodeConsoleFrames(big);
    const firstFrame = first.subarray(0, first.indexOf(0x0a) + 1);
    const got = r.feed(cat(firstFrame, encodeConsoleFrames(pkt(5))));
    assert.deepEqual(
      got.map((p) => p[6]),
      [5],
    );
    assert.deepEqual(
      discards.map((d) => d.reason),
      ['interrupted-packet'],
    );
  });
});

describe('CBOR bodies and errors', () => {
  it('decodes the indefinite-length map legacy mcumgr sends (bf 62 72 63 00 ff)', () => {
    assert.deepEqual(decodeBody(hex('bf 62 72 63 00 ff')), { rc: 0 });
  });

  it('leaves undefined fields out of the encoding', () => {
    assert.deepEqual(encodeBody({ slot: undefined }), hex('a0'));
  });

  // Found by test/unit/property/wire-codecs.test.ts: `clean[k] = v` turned a "__proto__" key into
  // a prototype change, so the key vanished from the encoding.
  it('encodes a "__proto__" key like any other (regression)', () => {
    const body = JSON.parse('{"__proto__": 0, "x": 1}') as Record<string, unknown>;
    assert.deepEqual(Object.keys(decodeBody(encodeBody(body))).sort(), ['__proto__', 'x']);
  });

  it('v1 {rc, rsn} and v2 {err: {group, rc}} become SMP_RC with names', () => {
    assert.throws(
      () => throwIfSmpError({ rc: 8 }, { group: 0, id: 7 }),
      (e: unknown) => isBusError(e, 'SMP_RC') && e.details.name === 'MGMT_ERR_ENOTSUP' && e.details.rc === 8,
    );
    assert.throws(
      () => throwIfSmpError({ rc: 3, rsn: 'bad off' }, { group: 1, id: 1 }),
      (e: unknown) => isBusError(e, 'SMP_RC') && e.details.rsn === 'bad off',
    );
    assert.throws(
      () => throwIfSmpError({ err: { group: 1, rc: 9 } }, { group: 1, id: 1 }),
      (e: unknown) =>
        isBusError(e, 'SMP_RC') && e.details.name === 'IMG_MGMT_ERR_NO_FREE_SLOT' && e.details.group === 1,
    );
    throwIfSmpError({ rc: 0, off: 5 }, { group: 1, id: 1 });
    throwIfSmpError({}, { group: 1, id: 1 });
  });
});

describe('image upload requests (smp_group_1.rst)', () => {
  const plan: UploadPlan = { size: 100_000, sha: new Uint8Array(32).fill(0xab), image: 0 };

  it('the first request carries image, len, off, sha and data; later ones only off and data', () => {
    assert.deepEqual(Object.keys(decodeBody(encodeBody(buildUploadRequest(plan, 0, hex('01'))))).sort(), [
      'data',
      'image',
      'len',
      'off',
      'sha',
    ]);
    assert.deepEqual(Object.keys(decodeBody(encodeBody(buildUploadRequest(plan, 4096, hex('01'))))).sort(), [
      'data',
      'off',
    ]);
  });

  for (const [mtu, off] of [
    [256, 0],
    [256, 70_000],
    [128, 300],
    [1024, 0],
  ] as const) {
    it(`chunk length fills an MTU of ${mtu} exactly at off ${off}`, () => {
      const n = fitChunkLength(plan, off, mtu);
      const size = (k: number) => 8 + encodeBody(buildUploadRequest(plan, off, new Uint8Array(k))).length;
      assert.ok(size(n) <= mtu, `packet ${size(n)} > mtu ${mtu}`);
      assert.ok(size(n + 1) > mtu, 'one more byte would still fit');
    });
  }

  it('interprets the device offset: continue, resume, restart, done, mismatch, bad offset', () => {
    assert.deepEqual(nextUploadStep(plan, 0, 200, { off: 200 }), {
      kind: 'continue',
      off: 200,
      resumed: false,
      restarted: false,
    });
    assert.deepEqual(nextUploadStep(plan, 0, 200, { off: 50_000 }), {
      kind: 'continue',
      off: 50_000,
      resumed: true,
      restarted: false,
    });
    assert.deepEqual(nextUploadStep(plan, 40_000, 200, { off: 0 }), {
      kind: 'continue',
      off: 0,
      resumed: false,
      restarted: true,
    });
    assert.deepEqual(nextUploadStep(plan, 99_900, 100, { off: 100_000, match: true }), { kind: 'done', match: true });
    assert.throws(
      () => nextUploadStep(plan, 99_900, 100, { off: 100_000, match: false }),
      (e: unknown) => isBusError(e, 'SMP_IMAGE_MISMATCH'),
    );
    assert.throws(
      () => nextUploadStep(plan, 0, 100, { off: 100_001 }),
      (e: unknown) => isBusError(e, 'SMP_UPLOAD_BAD_OFFSET'),
    );
    assert.throws(
      () => nextUploadStep(plan, 0, 100, {}),
      (e: unknown) => isBusError(e, 'SMP_UPLOAD_BAD_OFFSET'),
    );
  });
});

describe('MCUboot image header', () => {
  it('magic 0x96f3b83d at 0 and version at offset 20, little-endian', () => {
    const h = buildMcubootHeader({ imgSize: 4096, version: { major: 1, minor: 2, revision: 3, build: 0 } });
    assert.deepEqual(h.subarray(0, 4), hex('3db8f396'));
    assert.deepEqual(h.subarray(20, 28), hex('01 02 0300 00000000'));
    const p = parseMcubootHeader(h);
    assert.equal(p.imgSize, 4096);
    assert.equal(p.hdrSize, 32);
    assert.equal(formatImageVersion(p.version), '1.2.3');
    assert.equal(formatImageVersion({ major: 1, minor: 2, revision: 3, build: 7 }), '1.2.3.7');
    assert.deepEqual(parseImageVersion('1.2.3+7'), { major: 1, minor: 2, revision: 3, build: 7 });
    assert.throws(
      () => parseMcubootHeader(new Uint8Array(32)),
      (e: unknown) => isBusError(e, 'SMP_BAD_IMAGE'),
    );
  });
});
