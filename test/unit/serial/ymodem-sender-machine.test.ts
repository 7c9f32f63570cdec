import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACK, CAN, CRC_REQUEST, NAK } from '../../../drivers/serial/ymodem/constants.js';
import {
  YmodemSenderMachine,
  type SenderAction,
  type SenderMachineConfig,
} from '../../../drivers/serial/ymodem/sender-machine.js';

const cfg = (over: Partial<SenderMachineConfig> = {}): SenderMachineConfig => ({
  size: 2500,
  blockSize: 1024,
  shortLastBlock: true,
  endOfBatch: true,
  checksumFallback: true,
  maxRetries: 10,
  timeouts: { startMs: 60_000, ackMs: 10_000, endOfBatchMs: 3_000 },
  ...over,
});

/** Feeds bytes and returns all actions, without progress, as compact strings. */
function feed(m: YmodemSenderMachine, ...inputs: (number | 'timeout' | 'abort')[]): string[] {
  const out: SenderAction[] = [];
  for (const i of inputs) out.push(...m.step(typeof i === 'number' ? { type: 'byte', byte: i } : { type: i }));
  return out
    .filter((a) => a.type !== 'progress')
    .map((a) => (a.type === 'send-data' ? `data#${a.block}@${a.offset}+${a.length}/${a.blockSize}` : a.type));
}

test('happy path: C, block 0, C, 1K blocks, EOT NAKed once as in ymodem.txt figure 3, null block 0', () => {
  const m = new YmodemSenderMachine(cfg());
  assert.equal(m.timeoutMs, 60_000);
  assert.deepEqual(feed(m, CRC_REQUEST), ['send-header']);
  assert.equal(m.timeoutMs, 10_000);
  assert.deepEqual(feed(m, ACK, CRC_REQUEST), ['data#1@0+1024/1024']);
  assert.deepEqual(feed(m, ACK), ['data#2@1024+1024/1024']);
  assert.deepEqual(feed(m, ACK), ['data#3@2048+452/1024']);
  assert.deepEqual(feed(m, ACK), ['send-eot']);
  assert.deepEqual(feed(m, NAK), ['resend']);
  assert.deepEqual(feed(m, ACK), []);
  assert.equal(m.state, 'await-final-start');
  assert.equal(m.timeoutMs, 3_000);
  assert.deepEqual(feed(m, CRC_REQUEST), ['send-end-of-batch']);
  assert.deepEqual(feed(m, ACK), []);
  assert.equal(m.state, 'done');
  assert.equal(m.bytesDone, 2500);
  assert.deepEqual(m.warnings, []);
  assert.equal(m.retries, 1);
});

test('progress reports ACKed payload bytes, never the padding', () => {
  const m = new YmodemSenderMachine(cfg({ size: 1500 }));
  const seen: number[] = [];
  for (const b of [CRC_REQUEST, ACK, CRC_REQUEST, ACK, ACK]) {
    for (const a of m.step({ type: 'byte', byte: b })) if (a.type === 'progress') seen.push(a.bytesDone);
  }
  assert.deepEqual(seen, [1024, 1500]);
});

test('a tail of at most 128 bytes goes as an SOH block, unless shortLastBlock is off', () => {
  const m = new YmodemSenderMachine(cfg({ size: 1100 }));
  assert.deepEqual(feed(m, CRC_REQUEST, ACK, CRC_REQUEST, ACK), [
    'send-header',
    'data#1@0+1024/1024',
    'data#2@1024+76/128',
  ]);
  const n = new YmodemSenderMachine(cfg({ size: 1100, shortLastBlock: false }));
  assert.deepEqual(feed(n, CRC_REQUEST, ACK, CRC_REQUEST, ACK), [
    'send-header',
    'data#1@0+1024/1024',
    'data#2@1024+76/1024',
  ]);
});

test('an empty file sends block 0 then EOT; lrzsz-style ACK of the first EOT is accepted', () => {
  const m = new YmodemSenderMachine(cfg({ size: 0 }));
  assert.deepEqual(feed(m, CRC_REQUEST, ACK, CRC_REQUEST, ACK, CRC_REQUEST, ACK), [
    'send-header',
    'send-eot',
    'send-end-of-batch',
  ]);
  assert.equal(m.state, 'done');
});

test('NAKs beyond maxRetries fail with too-many-retries and send the cancel sequence', () => {
  const m = new YmodemSenderMachine(cfg({ maxRetries: 2 }));
  feed(m, CRC_REQUEST, ACK, CRC_REQUEST);
  assert.deepEqual(feed(m, NAK, 'timeout'), ['resend', 'resend']);
  assert.deepEqual(feed(m, NAK), ['send-cancel']);
  assert.equal(m.state, 'failed');
  assert.deepEqual(m.failure, { reason: 'too-many-retries', phase: 'await-data-ack', block: 1, attempts: 3, naks: 2 });
});

test('an ACK resets the retry count: errors are per frame, not per transfer', () => {
  const m = new YmodemSenderMachine(cfg({ maxRetries: 1 }));
  feed(m, CRC_REQUEST, ACK, CRC_REQUEST);
  assert.deepEqual(feed(m, NAK, ACK, NAK, ACK, NAK, ACK), [
    'resend',
    'data#2@1024+1024/1024',
    'resend',
    'data#3@2048+452/1024',
    'resend',
    'send-eot',
  ]);
});

test('silence only (no NAK) fails as timeout', () => {
  const m = new YmodemSenderMachine(cfg({ maxRetries: 1 }));
  feed(m, CRC_REQUEST);
  assert.deepEqual(feed(m, 'timeout', 'timeout'), ['resend', 'send-cancel']);
  assert.equal(m.failure?.reason, 'timeout');
  assert.equal(m.failure?.phase, 'await-header-ack');
});

test('no C within the start timeout is no-receiver, and nothing is sent to an unknown peer', () => {
  // Without the checksum fallback a NAK is no start either.
  const m = new YmodemSenderMachine(cfg({ checksumFallback: false }));
  assert.deepEqual(feed(m, 0x41, 0x0d, NAK, 'timeout'), []);
  assert.equal(m.failure?.reason, 'no-receiver');
  const withFallback = new YmodemSenderMachine(cfg());
  assert.deepEqual(feed(withFallback, 0x41, 0x0d, 'timeout'), []);
  assert.equal(withFallback.failure?.reason, 'no-receiver');
});

test('two CANs in a row cancel; a single CAN between other bytes does not (§4.1)', () => {
  const m = new YmodemSenderMachine(cfg());
  feed(m, CRC_REQUEST, ACK, CRC_REQUEST);
  assert.deepEqual(feed(m, CAN, ACK), ['data#2@1024+1024/1024']);
  assert.deepEqual(feed(m, CAN, CAN), []);
  assert.equal(m.failure?.reason, 'cancelled-by-receiver');
  assert.equal(m.failure?.block, 2);
});

test('abort sends the cancel sequence and fails as aborted', () => {
  const m = new YmodemSenderMachine(cfg());
  feed(m, CRC_REQUEST, ACK, CRC_REQUEST);
  assert.deepEqual(feed(m, 'abort'), ['send-cancel']);
  assert.equal(m.failure?.reason, 'aborted');
  assert.deepEqual(feed(m, ACK), [], 'a finished machine ignores input');
});

test('a stale C while block 0 awaits its ACK is ignored; a NAK resends block 0', () => {
  const m = new YmodemSenderMachine(cfg());
  assert.deepEqual(feed(m, CRC_REQUEST, CRC_REQUEST, CRC_REQUEST, NAK), ['send-header', 'resend']);
});

test('end of batch is lenient: no C after the EOT ACK, or no ACK of the null block, ends with a warning', () => {
  const a = new YmodemSenderMachine(cfg({ size: 10 }));
  feed(a, CRC_REQUEST, ACK, CRC_REQUEST, ACK, ACK, 'timeout');
  assert.equal(a.state, 'done');
  assert.deepEqual(a.warnings, ['no-end-of-batch-request']);
  const b = new YmodemSenderMachine(cfg({ size: 10 }));
  feed(b, CRC_REQUEST, ACK, CRC_REQUEST, ACK, ACK, CRC_REQUEST, 'timeout');
  assert.equal(b.state, 'done');
  assert.deepEqual(b.warnings, ['end-of-batch-unanswered']);
  const c = new YmodemSenderMachine(cfg({ size: 10, endOfBatch: false }));
  assert.deepEqual(feed(c, CRC_REQUEST, ACK, CRC_REQUEST, ACK, ACK), ['send-header', 'data#1@0+10/128', 'send-eot']);
  assert.equal(c.state, 'done');
});

test('waiting for the data C after block 0: silence counts against maxRetries without resending block 0', () => {
  const m = new YmodemSenderMachine(cfg({ maxRetries: 2 }));
  feed(m, CRC_REQUEST, ACK);
  assert.deepEqual(feed(m, 'timeout', 'timeout'), []);
  assert.deepEqual(feed(m, CRC_REQUEST), ['data#1@0+1024/1024']);
  const n = new YmodemSenderMachine(cfg({ maxRetries: 1 }));
  feed(n, CRC_REQUEST, ACK);
  assert.deepEqual(feed(n, 'timeout', 'timeout'), ['send-cancel']);
  assert.equal(n.failure?.reason, 'timeout');
});

test('block sequence numbers keep counting past 255 (the wire byte wraps in the codec)', () => {
  const m = new YmodemSenderMachine(cfg({ size: 300 * 128, blockSize: 128 }));
  feed(m, CRC_REQUEST, ACK, CRC_REQUEST);
  for (let i = 1; i < 257; i++) feed(m, ACK);
  assert.equal(m.block, 257);
});

test('checksum fallback: a NAK start gives checksum mode, 128-byte blocks, and NAK starts the data', () => {
  const m = new YmodemSenderMachine(cfg({ size: 300 }));
  assert.equal(m.check, 'crc');
  assert.deepEqual(feed(m, NAK), ['send-header']);
  assert.equal(m.check, 'checksum');
  assert.deepEqual(feed(m, ACK, NAK), ['data#1@0+128/128']);
  assert.deepEqual(feed(m, NAK), ['resend'], 'a NAK after a data block still asks for it again');
  assert.deepEqual(feed(m, ACK), ['data#2@128+128/128']);
  assert.deepEqual(feed(m, ACK), ['data#3@256+44/128']);
  assert.deepEqual(feed(m, ACK), ['send-eot']);
  assert.deepEqual(feed(m, ACK, NAK), ['send-end-of-batch']);
  assert.deepEqual(feed(m, ACK), []);
  assert.equal(m.state, 'done');
  assert.equal(m.check, 'checksum');
});

test('checksum fallback off: a NAK start is ignored until a C arrives', () => {
  const m = new YmodemSenderMachine(cfg({ checksumFallback: false }));
  assert.deepEqual(feed(m, NAK, NAK), []);
  assert.equal(m.state, 'await-start');
  assert.deepEqual(feed(m, CRC_REQUEST), ['send-header']);
  assert.equal(m.check, 'crc');
  assert.deepEqual(feed(m, ACK, NAK), [], 'in CRC mode a NAK does not start the data');
});

test('checksum mode: no request after block 0 within a second sends block 1 anyway (an XMODEM receiver)', () => {
  const m = new YmodemSenderMachine(cfg({ size: 200 }));
  feed(m, NAK);
  assert.deepEqual(feed(m, ACK), []);
  assert.equal(m.state, 'await-data-start');
  assert.equal(m.timeoutMs, 1000);
  assert.deepEqual(feed(m, 'timeout'), ['data#1@0+128/128']);
  assert.deepEqual(feed(m, ACK), ['data#2@128+72/128']);
});
