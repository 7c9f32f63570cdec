import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { Component } from '../../src/model/component.js';
import { SensorProxyError } from '../../src/model/errors.js';
import { assertJsonShape, INPUT_LIMITS, readBoundedFile } from '../../src/model/input-limits.js';
import type { ComponentEnumerator, EnumeratorFactory } from '../enumerator.js';
import { parseComponentsDocument } from './components-document.js';

/**
 * Static inventory: reads ADU `{"components":[...]}` files (the Contoso components-inventory
 * format), so ADU users bring their inventories unchanged. Like the Contoso enumerator, a component
 * with `properties.path` and `properties.firmwareDataFile` gets the top-level keys of
 * `<path>/<firmwareDataFile>` (e.g. `version`) and `properties.status` `ok`/`unknown`.
 *
 * Config entry: `{ "type": "inventory", "files": ["components-inventory.json", ...] }`
 * (paths relative to the config file).
 */
export class InventoryEnumerator implements ComponentEnumerator {
  readonly type = 'inventory';
  constructor(private readonly files: string[]) {}

  async getAllComponents(): Promise<Component[]> {
    const all: Component[] = [];
    for (const file of this.files) {
      const doc = await readInventoryFile(file);
      for (const c of doc) all.push(await withFirmwareData(c));
    }
    return all;
  }
}

async function readInventoryFile(file: string): Promise<Component[]> {
  let text: string;
  try {
    const limit = { limit: INPUT_LIMITS.inventoryBytes, code: 'INPUT_TOO_LARGE', what: 'inventory file' } as const;
    text = (await readBoundedFile(file, limit)).toString('utf8');
  } catch (e) {
    if (e instanceof SensorProxyError) throw e;
    throw new SensorProxyError(
      'ENUM_FAILED',
      `cannot read inventory file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      {
        details: { file },
        hint: 'check the path given with --inventory or in the config "files" list',
        cause: e,
      },
    );
  }
  assertJsonShape(text, file, 'ENUM_FAILED');
  return parseComponentsDocument(text, file);
}

async function withFirmwareData(c: Component): Promise<Component> {
  const { path, firmwareDataFile } = c.properties;
  if (typeof path !== 'string' || typeof firmwareDataFile !== 'string') return c;
  try {
    const data = JSON.parse(await readFile(join(path, firmwareDataFile), 'utf8')) as Record<string, unknown>;
    const merged: Component = { ...c, properties: { ...c.properties, status: 'ok' } };
    for (const [k, v] of Object.entries(data)) if (k !== 'properties') merged[k] = v;
    return merged;
  } catch {
    // Contoso semantics: an unreadable firmware data file means the component is present but its state unknown.
    return { ...c, properties: { ...c.properties, status: 'unknown' } };
  }
}

export const createInventoryEnumerator: EnumeratorFactory = (settings, env) => {
  const files = settings.files;
  if (!Array.isArray(files) || files.length === 0 || !files.every((f) => typeof f === 'string' && f.length > 0)) {
    throw new SensorProxyError(
      'CONFIG_INVALID',
      'enumerator "inventory": "files" must be a non-empty array of file paths',
      {
        details: { field: 'files' },
      },
    );
  }
  return new InventoryEnumerator(files.map((f: string) => (isAbsolute(f) ? f : resolve(env.baseDir, f))));
};
