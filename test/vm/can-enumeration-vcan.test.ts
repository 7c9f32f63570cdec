import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { systemClock } from '../../drivers/can/clock.js';
import { CanEnumerator } from '../../enumerators/can/can-enumerator.js';
import { resolveCanEnumeratorConfig } from '../../enumerators/can/can-config.js';
import { EcuSimulator } from '../../hw-fixtures/can/ecu-simulator.js';
import { IFACE, TEST_TIMEOUT_MS, openVcan, scaled } from './vm-env.js';

const log = pino({ level: 'silent' });

test('enumerates three simulated ECUs with different ids on vcan', { timeout: TEST_TIMEOUT_MS }, async (t) => {
  const buses = [await openVcan(t)];
  if (!buses[0]) return;
  buses.push(await openVcan(t), await openVcan(t));
  const timeouts = { nAsMs: scaled(1000), nBsMs: scaled(1000), nCrMs: scaled(1000) };
  const sims = [
    new EcuSimulator({
      bus: buses[0]!,
      rxId: 0x7e0,
      txId: 0x7e8,
      clock: systemClock,
      isotp: { timeouts },
      identity: { serial: 'ECU-A', version: '1.0.0', systemName: 'brake' },
    }),
    new EcuSimulator({
      bus: buses[1]!,
      rxId: 0x7e4,
      txId: 0x7ec,
      clock: systemClock,
      isotp: { timeouts },
      identity: { serial: 'ECU-B', version: '2.0.0', systemName: 'brake' },
    }),
    new EcuSimulator({
      bus: buses[2]!,
      rxId: 0x7a0,
      txId: 0x7a8,
      clock: systemClock,
      functionalId: null,
      isotp: { timeouts },
      identity: { serial: 'ECU-C', version: '3.0.0', systemName: 'lidar' },
    }),
  ];
  try {
    const cfg = resolveCanEnumeratorConfig({
      interfaces: [
        {
          interface: IFACE,
          responseTimeoutMs: scaled(250),
          probeIntervalMs: 20,
          physical: [
            { txId: '0x7A0', rxId: '0x7A8' },
            { txId: '0x7B0', rxId: '0x7B8' },
          ],
        },
      ],
      rules: [
        {
          match: { systemName: 'brake' },
          component: { group: 'brakes', name: 'brake-{serial}', model: '{systemName}' },
        },
        { match: { systemName: 'lidar' }, component: { group: 'lidars' } },
      ],
    });
    const comps = await new CanEnumerator(cfg, log).getAllComponents();
    assert.deepEqual(
      comps.map((c) => [
        c.id,
        c.name,
        c.group,
        c.version,
        c.properties['txId'],
        c.properties['rxId'],
        c.properties['interface'],
      ]),
      [
        ['ECU-A', 'brake-ECU-A', 'brakes', '1.0.0', '0x7E0', '0x7E8', IFACE],
        ['ECU-B', 'brake-ECU-B', 'brakes', '2.0.0', '0x7E4', '0x7EC', IFACE],
        ['ECU-C', 'ECU-C', 'lidars', '3.0.0', '0x7A0', '0x7A8', IFACE],
        // The configured pair 0x7B0/0x7B8 has no ECU: listed unreachable in group "can" (issue 13 item 2).
        [`can:${IFACE}:0x7B0`, `can:${IFACE}:0x7B0`, 'can', undefined, '0x7B0', '0x7B8', IFACE],
      ],
    );
    assert.deepEqual(
      comps.map((c) => c.status),
      ['present', 'present', 'present', 'unreachable'],
    );
  } finally {
    sims.forEach((s) => s.close());
    for (const b of buses) await b?.close();
  }
});
