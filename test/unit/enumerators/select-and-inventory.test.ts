import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pino from 'pino';
import { ComponentInventory } from '../../../enumerators/component-inventory.js';
import { createInventoryEnumerator } from '../../../enumerators/inventory/inventory-enumerator.js';
import { selectComponents } from '../../../enumerators/select.js';
import type { Component } from '../../../src/model/component.js';
import type { ComponentEnumerator } from '../../../enumerators/enumerator.js';

const c = (id: string, group: string, model: string): Component => ({
  id,
  name: id,
  group,
  manufacturer: 'contoso',
  model,
  properties: { version: '1.0' },
});
const all = [
  c('m0', 'motors', 'virtual-motor'),
  c('m1', 'motors', 'usb-motor'),
  c('c0', 'cameras', 'virtual-camera'),
  c('m2', 'motors', 'virtual-motor'),
];
const log = pino({ level: 'silent' });

describe('selectComponents (ADU selector semantics)', () => {
  it('keeps components whose top-level strings equal every selector pair', () => {
    assert.deepEqual(
      selectComponents(all, { group: 'motors' }).map((x) => x.id),
      ['m0', 'm1', 'm2'],
    );
    // Two keys: the Contoso example can drop a wrong neighbour here; a filter cannot.
    assert.deepEqual(
      selectComponents(all, { group: 'motors', model: 'virtual-motor' }).map((x) => x.id),
      ['m0', 'm2'],
    );
    assert.deepEqual(selectComponents(all, { group: 'Motors' }), [], 'case-sensitive');
    assert.deepEqual(selectComponents(all, { version: '1.0' }), [], 'nested properties are not matched');
  });
});

describe('inventory enumerator (Contoso components-inventory format)', () => {
  it('merges the firmware data file onto the component, status ok/unknown', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sp-inv-'));
    await mkdir(join(dir, 'motor0'));
    await writeFile(
      join(dir, 'motor0', 'firmware.json'),
      JSON.stringify({ version: '0.5', description: 'left', properties: { ignored: true } }),
    );
    await writeFile(
      join(dir, 'inv.json'),
      JSON.stringify({
        components: [
          {
            id: 'a',
            name: 'left-motor',
            group: 'motors',
            manufacturer: 'contoso',
            model: 'virtual-motor',
            properties: { path: join(dir, 'motor0'), firmwareDataFile: 'firmware.json' },
          },
          {
            id: 'b',
            name: 'right-motor',
            group: 'motors',
            manufacturer: 'contoso',
            model: 'virtual-motor',
            properties: { path: join(dir, 'gone'), firmwareDataFile: 'firmware.json' },
          },
        ],
      }),
    );
    const e = createInventoryEnumerator({ files: ['inv.json'] }, { log, baseDir: dir });
    const [a, b] = await e.getAllComponents();
    assert.equal(a!.version, '0.5');
    assert.equal(a!.description, 'left');
    assert.equal(a!.properties.status, 'ok');
    assert.equal(a!.properties.ignored, undefined);
    assert.equal(b!.properties.status, 'unknown');
  });

  it('names the JSON path of a bad component and refuses duplicate ids', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sp-inv-'));
    await writeFile(
      join(dir, 'inv.json'),
      JSON.stringify({
        components: [
          { id: 'a', name: 'n', group: 'g', manufacturer: 'm' },
          { id: 'a', name: 'n', group: 'g', manufacturer: 'm', model: 'x' },
        ],
      }),
    );
    const e = createInventoryEnumerator({ files: [join(dir, 'inv.json')] }, { log, baseDir: dir });
    await assert.rejects(
      e.getAllComponents(),
      (err: Error) => /\$\.components\[0\]\.model/.test(err.message) && /duplicate id "a"/.test(err.message),
    );
  });

  it('rejects a config entry without files', () => {
    assert.throws(() => createInventoryEnumerator({}, { log, baseDir: '/' }), /"files" must be a non-empty array/);
  });
});

describe('ComponentInventory', () => {
  it('merges enumerators (first id wins) and fails as a whole when one enumerator fails', async () => {
    const fixed = (list: Component[]): ComponentEnumerator => ({ type: 'fixed', getAllComponents: async () => list });
    const inv = new ComponentInventory(
      [fixed([all[0]!, all[2]!]), fixed([{ ...all[0]!, name: 'shadow' }, all[1]!])],
      log,
    );
    const merged = await inv.getAllComponents();
    assert.deepEqual(
      merged.map((x) => [x.id, x.name]),
      [
        ['m0', 'm0'],
        ['c0', 'c0'],
        ['m1', 'm1'],
      ],
    );
    const broken: ComponentEnumerator = {
      type: 'can',
      getAllComponents: async () => {
        throw new Error('can0: network is down');
      },
    };
    await assert.rejects(
      new ComponentInventory([fixed(all), broken], log).selectComponents({ group: 'motors' }),
      (e: Error & { code?: string }) => e.code === 'ENUM_FAILED' && /can0: network is down/.test(e.message),
    );
  });
});
