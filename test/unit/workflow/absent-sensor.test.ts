/**
 * A declared sensor that is not there never ends as "no matching components" or as installed
 * (issue 13 item 2): the CAN enumerator lists a configured ECU that does not answer as
 * `unreachable`, it is selected like any other component, and its steps fail naming it without a
 * handler call, while the engine reports the deployment failed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { MemoryCanNetwork } from '../../../drivers/can/memory-bus.js';
import { CanEnumerator } from '../../../enumerators/can/can-enumerator.js';
import { resolveCanEnumeratorConfig } from '../../../enumerators/can/can-config.js';
import { EcuSimulator } from '../../../hw-fixtures/can/ecu-simulator.js';
import { VirtualClock } from '../../../hw-fixtures/can/virtual-clock.js';
import { RecordingHandler } from '../../../hw-fixtures/handlers/recording-handler.js';
import { components, engineHarness, writeParentChildUpdate } from '../../../hw-fixtures/updates/engine-fixture.js';
import { Erc, ResultCode, formatErc } from '../../../src/model/result-codes.js';

const H = 'test/recording:1';
const log = pino({ level: 'silent' });

describe('a declared sensor that is absent or unreachable', () => {
  it('CAN: a configured ECU that does not answer is listed unreachable; its deployment fails naming it', async () => {
    const clock = new VirtualClock();
    const net = MemoryCanNetwork.named('absent1');
    const present = new EcuSimulator({
      bus: net.join(),
      rxId: 0x7e0,
      txId: 0x7e8,
      clock,
      identity: { version: '1.0.0', serial: 'BRK-001', hardware: 'HW-B1', systemName: 'brake-front' },
    });
    try {
      const cfg = resolveCanEnumeratorConfig({
        interfaces: [
          {
            interface: 'mem:absent1',
            physical: [
              { txId: '0x7E0', rxId: '0x7E8' },
              { txId: '0x7E1', rxId: '0x7E9' }, // nothing answers here: the rear brake is unplugged
            ],
          },
        ],
        rules: [
          { match: { rxId: '0x7E8' }, component: { group: 'brakes', name: 'brake-front' } },
          { match: { rxId: '0x7E9' }, component: { group: 'brakes', name: 'brake-rear' } },
        ],
      });
      const found = await new CanEnumerator(cfg, log, undefined, clock).getAllComponents();
      assert.deepEqual(
        found.map((c) => [c.name, c.group, c.status]),
        [
          ['brake-front', 'brakes', 'present'],
          ['brake-rear', 'brakes', 'unreachable'],
        ],
      );

      const handler = new RecordingHandler(H);
      const harness = await engineHarness([handler], found);
      const manifest = await writeParentChildUpdate(harness.dir, {
        handler: H,
        hostSteps: 0,
        childSteps: 1,
        group: 'brakes',
      });
      const out = await harness.run(await harness.plan(manifest), undefined, {
        parallel: { onComponentFailure: 'continue' },
      });
      assert.equal(out.succeeded, false);
      assert.equal(out.installedUpdateId, undefined);
      const step = out.lastInstallResult.stepResults.step_0!;
      assert.equal(step.resultCode, ResultCode.Failure);
      assert.notEqual(step.resultCode, ResultCode.InstallSkippedNoMatchingComponents);
      assert.equal(step.extendedResultCodes, formatErc(Erc.ComponentUnreachable));
      assert.match(
        step.resultDetails,
        /sensor "brake-rear" \(component can:mem:absent1:0x7E1, group brakes\) is unreachable/,
      );
      assert.match(step.resultDetails, /did not answer TesterPresent \(3E 00\); check the ECU's power and wiring/);
      // The handler never heard of the missing ECU; the present one was still flashed.
      assert.deepEqual([...new Set(handler.calls.map((c) => c.componentId))], ['BRK-001']);
      const rear = out.outcomes.find((o) => o.componentId === 'can:mem:absent1:0x7E1');
      assert.equal(rear?.outcome, 'failed');
    } finally {
      present.close();
      MemoryCanNetwork.forget('absent1');
    }
  });

  it('an absent component (status absent) fails its step with ComponentAbsent; a present one is untouched', async () => {
    const handler = new RecordingHandler(H);
    const [ok, gone] = components(2, 'cameras');
    gone!.status = 'absent';
    gone!.properties = { statusDetail: '/dev/ttyUSB9 does not exist', remedy: 'plug it in' };
    const harness = await engineHarness([handler], [ok!, gone!]);
    const manifest = await writeParentChildUpdate(harness.dir, {
      handler: H,
      hostSteps: 0,
      childSteps: 2,
      group: 'cameras',
    });
    const out = await harness.run(await harness.plan(manifest));
    assert.equal(out.succeeded, false);
    assert.equal(out.lastInstallResult.stepResults.step_0!.extendedResultCodes, formatErc(Erc.ComponentAbsent));
    assert.match(
      out.lastInstallResult.resultDetails,
      /sensor "cameras-1" \(component cameras-1, group cameras\) is absent: \/dev\/ttyUSB9 does not exist; plug it in/,
    );
    assert.ok(
      handler.calls.every((c) => c.componentId !== 'cameras-1'),
      'no handler action for the absent sensor',
    );
  });
});
