import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  NOT_AVAILABLE,
  buildScriptArgv,
  lookupProperty,
  resultFilePath,
  substituteArguments,
} from '../../../src/handlers/script/argv.js';
import type { Component } from '../../../src/model/component.js';

const camera: Component = {
  id: 'cam-0042',
  name: 'front-camera',
  group: 'cameras',
  manufacturer: 'contoso',
  model: 'virtual-camera',
  version: '1.0',
  properties: {
    path: '/var/lib/sensor-proxy/cameras/front camera',
    version: 'not-the-top-level-version',
    bus: { can: { txId: 1793, fd: true }, port: '/dev/ttyACM0' },
  },
};

const WF = '/var/lib/sensor-proxy/downloads/wf-1/1';

describe('script argv: ADU PrepareScriptArguments', () => {
  it('apiVersion 1.0: --action-<action>, user tokens, then work folder, result file, installed criteria', () => {
    const argv = buildScriptArgv({
      action: 'install',
      arguments: '--firmware-file camera-firmware-1.1.json --component-name --component-name-val',
      component: camera,
      workFolder: WF,
      installedCriteria: '1.1',
    });
    assert.deepEqual(argv, [
      '--action-install',
      '--firmware-file',
      'camera-firmware-1.1.json',
      '--component-name',
      'front-camera',
      '--work-folder',
      WF,
      '--result-file',
      `${WF}/action_install_aduc_result.json`,
      '--installed-criteria',
      '1.1',
    ]);
  });

  it('apiVersion 1.1: the action is two elements, --action <action>', () => {
    for (const action of ['is-installed', 'download', 'install', 'apply', 'cancel'] as const) {
      const argv = buildScriptArgv({
        action,
        apiVersion: '1.1',
        arguments: '--x',
        component: undefined,
        workFolder: WF,
        installedCriteria: undefined,
      });
      assert.deepEqual(argv, [
        '--action',
        action,
        '--x',
        '--work-folder',
        WF,
        '--result-file',
        `${WF}/action_${action}_aduc_result.json`,
      ]);
    }
  });

  it('apiVersion 1.0 spells every action as one --action-<action> token', () => {
    const first = (action: 'is-installed' | 'download' | 'apply' | 'cancel') =>
      buildScriptArgv({ action, component: undefined, workFolder: WF, installedCriteria: 'x' })[0];
    assert.deepEqual((['is-installed', 'download', 'apply', 'cancel'] as const).map(first), [
      '--action-is-installed',
      '--action-download',
      '--action-apply',
      '--action-cancel',
    ]);
  });

  it('replaces every field placeholder with the component value; version is the top-level one', () => {
    const out = substituteArguments(
      '--id --component-id-val --name --component-name-val --mfr --component-manufacturer-val --model --component-model-val --ver --component-version-val --group --component-group-val',
      camera,
    );
    assert.deepEqual(out, [
      '--id',
      'cam-0042',
      '--name',
      'front-camera',
      '--mfr',
      'contoso',
      '--model',
      'virtual-camera',
      '--ver',
      '1.0',
      '--group',
      'cameras',
    ]);
  });

  it('--component-prop-val <p> consumes both tokens, follows dotted paths, n/a when missing', () => {
    const out = substituteArguments(
      '--component-prop path --component-prop-val path --tx --component-prop-val bus.can.txId --fd --component-prop-val bus.can.fd --missing --component-prop-val bus.lin.id --obj --component-prop-val bus.can --through-string --component-prop-val bus.port.x',
      camera,
    );
    assert.deepEqual(out, [
      '--component-prop',
      'path',
      '/var/lib/sensor-proxy/cameras/front camera',
      '--tx',
      '1793',
      '--fd',
      'true',
      '--missing',
      NOT_AVAILABLE,
      '--obj',
      NOT_AVAILABLE,
      '--through-string',
      NOT_AVAILABLE,
    ]);
  });

  it('a trailing --component-prop-val without a name gives n/a', () => {
    assert.deepEqual(substituteArguments('--a --component-prop-val', camera), ['--a', 'n/a']);
    assert.deepEqual(substituteArguments('--component-prop-val', undefined), ['n/a']);
  });

  it('missing top-level fields give n/a', () => {
    const bare: Component = { id: 'x', name: 'n', group: 'g', manufacturer: 'm', model: 'mo', properties: {} };
    assert.deepEqual(substituteArguments('--component-version-val --component-prop-val path', bare), ['n/a', 'n/a']);
  });

  it('without a component every placeholder is n/a and --component-prop-val still consumes its name', () => {
    const out = substituteArguments(
      '--component-id-val --component-name-val --component-manufacturer-val --component-model-val --component-version-val --component-group-val --component-prop-val path --end',
      undefined,
    );
    assert.deepEqual(out, ['n/a', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a', '--end']);
  });

  it('splits on single spaces only, drops empty tokens, keeps look-alike tokens verbatim', () => {
    assert.deepEqual(substituteArguments('  --a   b\tc  --component-name-value ', camera), [
      '--a',
      'b\tc',
      '--component-name-value',
    ]);
    assert.deepEqual(substituteArguments('', camera), []);
  });

  it('omits --installed-criteria when the criteria is empty or absent', () => {
    for (const ic of ['', undefined]) {
      const argv = buildScriptArgv({ action: 'apply', component: camera, workFolder: WF, installedCriteria: ic });
      assert.deepEqual(argv, ['--action-apply', '--work-folder', WF, '--result-file', resultFilePath(WF, 'apply')]);
    }
  });

  it('lookupProperty walks own keys of plain objects only', () => {
    assert.equal(lookupProperty({ a: { b: 'c' } }, 'a.b'), 'c');
    assert.equal(lookupProperty({ a: ['x'] }, 'a.0'), undefined);
    assert.equal(lookupProperty({}, 'toString'), undefined);
    assert.equal(lookupProperty(undefined, 'a'), undefined);
  });
});
