import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  requestLimitForBuffer,
  requestsInFlightForBuffers,
  smallerRequestLimit,
  SERIAL_PACKET_OVERHEAD,
} from '../../../drivers/serial/smp/buffer-size.js';

test('a request leaves room for the serial packet length and CRC in the SMP buffer (reference §7)', () => {
  assert.equal(SERIAL_PACKET_OVERHEAD, 4);
  assert.equal(requestLimitForBuffer(256), 252);
  assert.equal(requestLimitForBuffer(384), 380);
});

test('stepping down goes through the common buffer sizes and ends after 128', () => {
  const steps: number[] = [];
  for (let l: number | undefined = 65535; l !== undefined; l = smallerRequestLimit(l)) steps.push(l);
  assert.deepEqual(steps, [65535, 4092, 2044, 1020, 508, 380, 252, 124]);
  assert.equal(smallerRequestLimit(256), 252, 'an mtu of 256 (the old default) steps to what a 256 buffer takes');
  assert.equal(smallerRequestLimit(384), 380);
});

test('requests in flight from buf_count: a buffer for each request and its response, 1 when unknown, at most 4', () => {
  assert.equal(requestsInFlightForBuffers(undefined), 1);
  assert.equal(requestsInFlightForBuffers(0), 1);
  assert.equal(requestsInFlightForBuffers(1), 1);
  assert.equal(requestsInFlightForBuffers(3), 1);
  assert.equal(requestsInFlightForBuffers(4), 2, "Zephyr's default CONFIG_MCUMGR_BUF_COUNT");
  assert.equal(requestsInFlightForBuffers(6), 3);
  assert.equal(requestsInFlightForBuffers(64), 4);
});
