import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { MemoryCanNetwork } from '../../../drivers/can/memory-bus.js';
import { CanEnumerator } from '../../../enumerators/can/can-enumerator.js';
import { resolveCanEnumeratorConfig } from '../../../enumerators/can/can-config.js';
import { builtinEnumerators } from '../../../enumerators/builtin-enumerators.js';
import { EcuSimulator } from '../../../hw-fixtures/can/ecu-simulator.js';
import { VirtualClock } from '../../../hw-fixtures/can/virtual-clock.js';
import { isSensorProxyError } from '../../../src/model/errors.js';

const log = pino({ level: 'silent' });

function threeEcus(name: string, clock: VirtualClock) {
  const net = MemoryCanNetwork.named(name);
  return [
    new EcuSimulator({
      bus: net.join(),
      rxId: 0x7e0,
      txId: 0x7e8,
      clock,
      identity: { version: '1.0.0', serial: 'BRK-001', hardware: 'HW-B1', systemName: 'brake-front' },
    }),
    new EcuSimulator({
      bus: net.join(),
      rxId: 0x7e1,
      txId: 0x7e9,
      clock,
      identity: { version: '1.1.0', serial: 'BRK-002', hardware: 'HW-B1', systemName: 'brake-rear' },
    }),
    new EcuSimulator({
      bus: net.join(),
      rxId: 0x7e3,
      txId: 0x7eb,
      clock,
      functionalId: null,
      identity: { version: '3.2.1', serial: 'CAM-77', hardware: 'HW-C', systemName: 'camera' },
    }),
  ];
}

test(
  'finds three ECUs (two by functional request, one by physical probe) and maps them through rules',
  { timeout: 30_000 },
  async () => {
    const clock = new VirtualClock();
    const sims = threeEcus('enum1', clock);
    try {
      const cfg = resolveCanEnumeratorConfig({
        interfaces: [
          {
            interface: 'mem:enum1',
            physical: [
              { txId: '0x7E3', rxId: '0x7EB' },
              { txId: '0x7E5', rxId: '0x7ED' },
            ],
          },
        ],
        rules: [
          {
            match: { systemName: 'brake*' },
            component: { group: 'brakes', name: '{systemName}', manufacturer: 'contoso', model: '{hardware}' },
            properties: { memoryAddress: '0x08000000' },
          },
          { match: { rxId: '0x7EB' }, component: { group: 'cameras', manufacturer: 'fabrikam' } },
        ],
      });
      const comps = await new CanEnumerator(cfg, log, undefined, clock).getAllComponents();
      assert.deepEqual(
        comps.map((c) => [
          c.id,
          c.name,
          c.group,
          c.model,
          c.version,
          c.properties['txId'],
          c.properties['rxId'],
          c.status,
        ]),
        [
          ['BRK-001', 'brake-front', 'brakes', 'HW-B1', '1.0.0', '0x7E0', '0x7E8', 'present'],
          ['BRK-002', 'brake-rear', 'brakes', 'HW-B1', '1.1.0', '0x7E1', '0x7E9', 'present'],
          ['CAM-77', 'CAM-77', 'cameras', 'HW-C', '3.2.1', '0x7E3', '0x7EB', 'present'],
          // The configured pair 0x7E5/0x7ED has no ECU behind it: listed, not dropped (issue 13 item 2).
          ['can:mem:enum1:0x7E5', 'can:mem:enum1:0x7E5', 'can', 'unknown', undefined, '0x7E5', '0x7ED', 'unreachable'],
        ],
      );
      assert.match(String(comps[3]!.properties['statusDetail']), /did not answer TesterPresent/);
      assert.match(String(comps[3]!.properties['remedy']), /ip -details link show mem:enum1/);
      assert.equal(comps[0]!.properties['memoryAddress'], '0x08000000');
      assert.equal(comps[0]!.properties['interface'], 'mem:enum1');
      assert.equal(sims[2]!.requests[0]![0], 0x3e, 'the camera was probed physically with TesterPresent first');
    } finally {
      sims.forEach((s) => s.close());
      MemoryCanNetwork.forget('enum1');
    }
  },
);

test('nodes without a rule are skipped unless includeUnmatched', { timeout: 30_000 }, async () => {
  const clock = new VirtualClock();
  const sims = threeEcus('enum2', clock);
  try {
    const base = {
      interfaces: [{ interface: 'mem:enum2' }],
      rules: [{ match: { serial: 'BRK-002' }, component: { group: 'brakes' } }],
    };
    const only = await new CanEnumerator(resolveCanEnumeratorConfig(base), log, undefined, clock).getAllComponents();
    assert.deepEqual(
      only.map((c) => c.id),
      ['BRK-002'],
    );
    const all = await new CanEnumerator(
      resolveCanEnumeratorConfig({ ...base, includeUnmatched: true }),
      log,
      undefined,
      clock,
    ).getAllComponents();
    assert.deepEqual(
      all.map((c) => [c.id, c.group]),
      [
        ['BRK-001', 'can'],
        ['BRK-002', 'brakes'],
      ],
    );
  } finally {
    sims.forEach((s) => s.close());
    MemoryCanNetwork.forget('enum2');
  }
});

test('is registered as "can" and validates its entry naming the field', () => {
  assert.ok(builtinEnumerators['can']);
  assert.throws(
    () => resolveCanEnumeratorConfig({ interfaces: [], rules: [] }),
    (e) => isSensorProxyError(e, 'CONFIG_INVALID') && e.details['field'] === 'interfaces',
  );
  assert.throws(
    () =>
      resolveCanEnumeratorConfig({
        interfaces: [{ interface: 'can0', physical: [{ txId: 'x', rxId: 1 }] }],
        rules: [],
      }),
    (e) => isSensorProxyError(e) && e.details['field'] === 'interfaces[0].physical[0].txId',
  );
});
