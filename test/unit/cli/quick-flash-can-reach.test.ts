import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { canError } from '../../../drivers/can/errors.js';
import { udsError } from '../../../drivers/can/uds/errors.js';
import { assertCanTargetsAnswer, canReachOf } from '../../../src/cli/quick-flash/can-reachability.js';
import type { ResolvedTarget } from '../../../src/cli/quick-flash/resolve-targets.js';
import { isSensorProxyError } from '../../../src/model/errors.js';

const target = (tx: number, rx: number): ResolvedTarget => ({
  label: `can0 ${tx.toString(16)}/${rx.toString(16)}`,
  key: `can:can0:${tx.toString(16)}`,
  component: {
    id: `can0-${tx.toString(16)}`,
    name: 'x',
    group: 'quick-flash',
    manufacturer: 'unknown',
    model: 'unknown',
    properties: { bus: 'can', interface: 'can0', txId: tx, rxId: rx },
  },
});

describe('quick flash: does a CAN target answer its first read?', () => {
  it('only silence after every attempt is "nobody there"; a negative response is an ECU', () => {
    assert.equal(canReachOf(undefined), 'answered');
    assert.equal(canReachOf(udsError('UDS_TIMEOUT_P2', 'no response', {})), 'silent');
    assert.equal(canReachOf(udsError('UDS_NEGATIVE_RESPONSE', 'NRC 0x31', { nrc: 0x31 })), 'answered');
    assert.equal(canReachOf(udsError('UDS_TIMEOUT_P2_STAR', 'late', {})), 'answered');
    assert.equal(canReachOf(canError('CAN_NETDOWN', 'down', {})), 'interface-down');
  });

  it('names every silent target with what to check, and passes when all answered', () => {
    assertCanTargetsAnswer([{ target: target(0x7e0, 0x7e8), reach: 'answered' }]);
    assert.throws(
      () =>
        assertCanTargetsAnswer([
          { target: target(0x7e0, 0x7e8), reach: 'answered' },
          { target: target(0x7e3, 0x7eb), reach: 'silent' },
          { target: target(0x7e4, 0x7ec), reach: 'silent' },
        ]),
      (e: unknown) =>
        isSensorProxyError(e) &&
        e.code === 'TARGET_NOT_FOUND' &&
        /no ECU answers at can0 7e3\/7eb, can0 7e4\/7ec/.test(e.message) &&
        /candump can0/.test(e.hint ?? '') &&
        /nothing was written/.test(e.hint ?? ''),
    );
    assert.throws(
      () => assertCanTargetsAnswer([{ target: target(0x7e0, 0x7e8), reach: 'interface-down' }]),
      (e: unknown) => isSensorProxyError(e) && e.code === 'TARGET_NOT_FOUND' && /can0 is down/.test(e.message),
    );
  });
});
