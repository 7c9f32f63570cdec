import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGatewayConfig } from '../../../src/config/gateway-config.js';

describe('gateway config', () => {
  it('resolves relative paths against the config file and applies defaults', () => {
    const c = parseGatewayConfig(
      { stateDir: 'state', enumerators: [{ type: 'inventory', files: ['i.json'] }] },
      '/etc/sp/gateway.json',
    );
    assert.equal(c.stateDir, '/etc/sp/state');
    assert.equal(c.workDir, '/etc/sp/state/work');
    assert.equal(c.logLevel, 'info');
    assert.equal(c.baseDir, '/etc/sp');
    assert.deepEqual(c.handlers, {});
  });

  it('reports every problem with its path in one CONFIG_INVALID error', () => {
    assert.throws(
      () =>
        parseGatewayConfig(
          { stateDir: 3, logLevel: 'loud', enumerators: [{}], handlers: { 'microsoft/script:1': 5 }, stateDri: 'typo' },
          'g.json',
        ),
      (e: Error & { code?: string }) =>
        e.code === 'CONFIG_INVALID' &&
        [
          '$.stateDri: unknown key',
          '$.stateDir: must be',
          '$.logLevel: must be one of',
          '$.enumerators[0]: must be an object with a string "type"',
          '$.handlers["microsoft/script:1"]: must be an object',
        ].every((p) => e.message.includes(p)),
    );
  });

  it('referenceStepsOnHost: false by default, true only when set to true, a non-boolean is an error', () => {
    assert.equal(parseGatewayConfig({}, '/g.json').referenceStepsOnHost, false);
    assert.equal(parseGatewayConfig({ referenceStepsOnHost: true }, '/g.json').referenceStepsOnHost, true);
    assert.throws(
      () => parseGatewayConfig({ referenceStepsOnHost: 'yes' }, '/g.json'),
      /\$\.referenceStepsOnHost: must be true or false/,
    );
  });

  it('reads the parallel policy and onComponentFailure, with defaults, and names bad values', () => {
    const d = parseGatewayConfig({}, '/etc/sp/g.json');
    assert.deepEqual(d.parallel, {
      enabled: true,
      maxPerCanInterface: 4,
      acrossReferenceSteps: false,
      onComponentFailure: 'stop',
    });
    const c = parseGatewayConfig(
      {
        parallel: { enabled: false, maxPerCanInterface: 8, acrossReferenceSteps: true },
        onComponentFailure: 'continue',
      },
      '/etc/sp/g.json',
    );
    assert.deepEqual(c.parallel, {
      enabled: false,
      maxPerCanInterface: 8,
      acrossReferenceSteps: true,
      onComponentFailure: 'continue',
    });
    assert.throws(
      () =>
        parseGatewayConfig(
          {
            parallel: { enabled: 'yes', maxPerCanInterface: 0, max: 1, acrossReferenceSteps: 1 },
            onComponentFailure: 'abort',
          },
          'g.json',
        ),
      (e: Error & { code?: string }) =>
        e.code === 'CONFIG_INVALID' &&
        [
          '$.parallel.enabled: must be true or false',
          '$.parallel.maxPerCanInterface: must be an integer 1..64',
          '$.parallel.acrossReferenceSteps: must be true or false',
          '$.parallel.max: unknown key',
          '$.onComponentFailure: must be "stop" or "continue"',
        ].every((p) => e.message.includes(p)),
    );
  });

  it('rebootCommand: an argv array, kept as given; anything else is an error naming the key', () => {
    assert.deepEqual(parseGatewayConfig({ rebootCommand: ['sudo', '-n', '/sbin/reboot'] }, 'g.json').rebootCommand, [
      'sudo',
      '-n',
      '/sbin/reboot',
    ]);
    assert.equal(parseGatewayConfig({}, 'g.json').rebootCommand, undefined);
    for (const bad of ['systemctl reboot', [], ['systemctl', '']])
      assert.throws(
        () => parseGatewayConfig({ rebootCommand: bad }, 'g.json'),
        (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && e.message.includes('$.rebootCommand: must be'),
      );
  });
});
