import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc16Xmodem } from '../../../drivers/serial/crc16-xmodem.js';
import {
  checksum8,
  decodeFrame,
  encodeBlock,
  encodeEndOfBatchBlock,
  encodeHeaderBlock,
  frameLength,
  parseHeaderBlock,
} from '../../../drivers/serial/ymodem/codec.js';
import { CPMEOF, SOH, STX } from '../../../drivers/serial/ymodem/constants.js';

const ascii = (s: string) => new TextEncoder().encode(s);
const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

test('CRC-16/XMODEM check value of "123456789" is 0x31C3', () => {
  assert.equal(crc16Xmodem(ascii('123456789')), 0x31c3);
  assert.equal(crc16Xmodem(new Uint8Array(0)), 0);
});

test('block 0 reproduces the sz filename block of ymodem.txt figure 6 byte for byte', () => {
  // "-rw-r--r--  6347 Jun 17 1984 20:34 bbcsched.txt": 0100FF, name, NUL, "6347 3314742513 100644", NULs, CRC CA56.
  const frame = encodeHeaderBlock({
    fileName: 'bbcsched.txt',
    size: 6347,
    mtime: parseInt('3314742513', 8),
    mode: 0o100644,
  });
  const expected = new Uint8Array(133);
  expected.set(hex('0100FF 62626373636865642E74787400 36333437203333313437343235313320313030363434'));
  expected.set([0xca, 0x56], 131);
  assert.deepEqual(frame, expected);
});

test('a 1K data block is STX, number, complement, data padded with 0x1A, CRC high byte first', () => {
  const data = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);
  const frame = encodeBlock(3, data, 1024);
  assert.equal(frame.length, 1029);
  assert.deepEqual([...frame.subarray(0, 3)], [STX, 0x03, 0xfc]);
  assert.deepEqual(frame.subarray(3, 1003), data);
  assert.ok(frame.subarray(1003, 1027).every((b) => b === CPMEOF));
  const crc = crc16Xmodem(frame, 3, 1027);
  assert.deepEqual([...frame.subarray(1027)], [crc >> 8, crc & 0xff]);
});

test('block numbers wrap 0xFF to 0x00, not to 0x01 (§7.2 figure 9)', () => {
  assert.deepEqual([...encodeBlock(255, new Uint8Array(1), 128).subarray(0, 3)], [SOH, 0xff, 0x00]);
  assert.deepEqual([...encodeBlock(256, new Uint8Array(1), 128).subarray(0, 3)], [SOH, 0x00, 0xff]);
  assert.deepEqual([...encodeBlock(257, new Uint8Array(1), 128).subarray(0, 3)], [SOH, 0x01, 0xfe]);
});

test('the end-of-batch block is SOH 00 FF with 128 NULs and CRC 0000', () => {
  const frame = encodeEndOfBatchBlock();
  assert.equal(frame.length, 133);
  assert.deepEqual([...frame.subarray(0, 3)], [SOH, 0x00, 0xff]);
  assert.ok(frame.subarray(3).every((b) => b === 0));
  assert.deepEqual(parseHeaderBlock(frame.subarray(3, 131)), { end: true });
});

test('a header that does not fit 128 bytes goes in a 1K block; over 1K it is refused', () => {
  const long = encodeHeaderBlock({ fileName: 'x'.repeat(200), size: 1 });
  assert.equal(long[0], STX);
  assert.equal(long.length, 1029);
  assert.throws(() => encodeHeaderBlock({ fileName: 'x'.repeat(1020), size: 12345 }), RangeError);
  assert.throws(() => encodeHeaderBlock({ fileName: 'a b', size: 1 }), RangeError);
  assert.throws(() => encodeHeaderBlock({ fileName: '', size: 1 }), RangeError);
  assert.throws(() => encodeHeaderBlock({ fileName: 'a', size: -1 }), RangeError);
});

test('decodeFrame accepts a good frame and names what is wrong with a bad one', () => {
  const frame = encodeBlock(7, ascii('hello'), 128);
  const ok = decodeFrame(frame);
  assert.ok(ok.ok);
  assert.equal(ok.blockNumber, 7);
  assert.deepEqual(ok.data.subarray(0, 5), ascii('hello'));
  const badCrc = frame.slice();
  badCrc[10]! ^= 0x01;
  assert.deepEqual(decodeFrame(badCrc), { ok: false, reason: 'bad-crc' });
  const badCompl = frame.slice();
  badCompl[2] = 0x00;
  assert.deepEqual(decodeFrame(badCompl), { ok: false, reason: 'bad-complement' });
  assert.deepEqual(decodeFrame(frame.subarray(0, 100)), { ok: false, reason: 'bad-length' });
  assert.deepEqual(decodeFrame(Uint8Array.of(0x41)), { ok: false, reason: 'bad-type' });
  assert.equal(frameLength(SOH), 133);
  assert.equal(frameLength(STX), 1029);
  assert.equal(frameLength(0x04), undefined);
});

test('parseHeaderBlock reads name, size and optional octal fields; a missing size is -1', () => {
  const frame = encodeHeaderBlock({ fileName: 'fw/app.bin', size: 100 * 1024, mtime: 0o1234 });
  assert.deepEqual(parseHeaderBlock(frame.subarray(3, 131)), {
    end: false,
    fileName: 'fw/app.bin',
    size: 102400,
    mtime: 0o1234,
  });
  const bare = new Uint8Array(128);
  bare.set(ascii('only-name'));
  assert.deepEqual(parseHeaderBlock(bare), { end: false, fileName: 'only-name', size: -1 });
});

test('checksum mode: SOH frame of 132 bytes ending in the 8-bit sum of the padded data; decoded back', () => {
  const data = ascii('hello');
  const frame = encodeBlock(3, data, 128, undefined, 'checksum');
  assert.equal(frame.length, 132);
  assert.deepEqual([...frame.subarray(0, 3)], [0x01, 3, 0xfc]);
  let sum = 0;
  for (const b of frame.subarray(3, 131)) sum += b;
  assert.equal(frame[131], sum & 0xff);
  assert.equal(checksum8(frame, 3, 131), frame[131]);
  assert.equal(frameLength(0x01, 'checksum'), 132);
  assert.equal(frameLength(0x02, 'checksum'), 1028);
  const d = decodeFrame(frame, 'checksum');
  assert.ok(d.ok && d.blockNumber === 3);
  const bad = frame.slice();
  bad[10]! ^= 1;
  assert.deepEqual(decodeFrame(bad, 'checksum'), { ok: false, reason: 'bad-crc' });
  // A checksum frame is not a CRC frame.
  assert.deepEqual(decodeFrame(frame), { ok: false, reason: 'bad-length' });
  const header = encodeHeaderBlock({ fileName: 'fw.bin', size: 10 }, 'checksum');
  assert.equal(header.length, 132);
  const h = decodeFrame(header, 'checksum');
  assert.ok(h.ok && h.blockNumber === 0);
  assert.deepEqual(parseHeaderBlock(h.data), { end: false, fileName: 'fw.bin', size: 10 });
});
