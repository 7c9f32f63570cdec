import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodePdu,
  encodeConsecutiveFrame,
  encodeFirstFrame,
  encodeFlowControl,
  encodeSingleFrame,
  type FrameLayout,
} from '../../../drivers/can/isotp/pci.js';
import { decodeStMin, encodeStMin } from '../../../drivers/can/isotp/st-min.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const classic: FrameLayout = { prefix: undefined, txDataLength: 8, padding: 0xcc };
const optimised: FrameLayout = { prefix: undefined, txDataLength: 8, padding: false };
const fd64: FrameLayout = { prefix: undefined, txDataLength: 64, padding: false };

test('single frame: padded, length-optimised, extended address, FD escape', () => {
  assert.equal(hex(encodeSingleFrame(classic, Uint8Array.of(0x10, 0x02))), '021002cccccccccc');
  assert.equal(hex(encodeSingleFrame(optimised, Uint8Array.of(0x10, 0x02))), '021002');
  assert.equal(hex(encodeSingleFrame({ ...optimised, prefix: 0xf1 }, Uint8Array.of(0x3e, 0x00))), 'f1023e00');
  const big = new Uint8Array(20).fill(7);
  const sf = encodeSingleFrame(fd64, big);
  assert.equal(sf.length, 24, 'padded to the next CAN FD length');
  assert.equal(hex(sf.subarray(0, 3)), '001407');
  const d = decodePdu(sf, sf.length);
  assert.equal(d.type, 'SF');
  assert.equal(d.type === 'SF' && d.data.length, 20);
});

test('first frame: 12-bit FF_DL and the 32-bit escape above 4095 bytes', () => {
  const data = Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff);
  const small = encodeFirstFrame(classic, 4095, data);
  assert.equal(hex(small.frame), '1fff000102030405');
  assert.equal(small.used, 6);
  const large = encodeFirstFrame(classic, 5000, data);
  assert.equal(hex(large.frame), '1000000013880001');
  assert.equal(large.used, 2);
  const d = decodePdu(large.frame, 8);
  assert.deepEqual(d.type === 'FF' && [d.size, d.data.length], [5000, 2]);
});

test('consecutive and flow control frames', () => {
  assert.equal(hex(encodeConsecutiveFrame(optimised, 0x1f, Uint8Array.of(1, 2, 3))), '2f010203');
  assert.equal(hex(encodeFlowControl(optimised, 'CTS', 8, 0xf2)), '3008f2', 'kernel-style 3-byte FC without padding');
  assert.equal(hex(encodeFlowControl(classic, 'WAIT', 0, 0)), '310000cccccccccc');
  const fc = decodePdu(Uint8Array.of(0x32, 0, 0), 3);
  assert.deepEqual(fc, { type: 'FC', status: 'OVFLW', blockSize: 0, stMin: 0 });
  assert.equal(decodePdu(Uint8Array.of(0x35, 0, 0), 3).type, 'invalid', 'reserved flow status');
});

test('invalid single frames are reported, not decoded', () => {
  assert.equal(decodePdu(Uint8Array.of(0x00, 0x05, 1, 2, 3, 4, 5), 7).type, 'invalid', 'escape on a classic frame');
  assert.equal(decodePdu(Uint8Array.of(0x07, 1, 2), 3).type, 'invalid', 'SF_DL longer than the frame');
  assert.equal(decodePdu(Uint8Array.of(0x40), 1).type, 'invalid', 'reserved PCI type');
});

test('STmin: ms, 100-900 µs, reserved values read as 127 ms', () => {
  assert.equal(decodeStMin(0x05), 5000);
  assert.equal(decodeStMin(0xf2), 200);
  assert.equal(decodeStMin(0x80), 127_000);
  assert.equal(decodeStMin(0xfa), 127_000);
  assert.equal(encodeStMin(200), 0xf2);
  assert.equal(encodeStMin(5000), 5);
  assert.equal(encodeStMin(1500), 2, 'rounded up to a representable gap');
  assert.equal(encodeStMin(0), 0);
});
