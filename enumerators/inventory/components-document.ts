import type { Component } from '../../src/model/component.js';
import { SensorProxyError } from '../../src/model/errors.js';

const REQUIRED = ['id', 'name', 'group', 'manufacturer', 'model'] as const;

/**
 * Parses and checks an ADU components document (reference/adu-agent.md §1.3): every component needs
 * the string keys id, name, group, manufacturer, model and an object `properties` (defaulted to {}).
 * Ids must be unique. Errors name the JSON path.
 */
export function parseComponentsDocument(text: string, source: string): Component[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new SensorProxyError('ENUM_FAILED', `${source}: not valid JSON (${(e as Error).message})`, {
      details: { source },
    });
  }
  const list = (doc as { components?: unknown } | null)?.components;
  if (!Array.isArray(list)) {
    throw new SensorProxyError(
      'ENUM_FAILED',
      `${source}: $.components must be an array (ADU {"components":[...]} format)`,
      { details: { source } },
    );
  }
  const problems: string[] = [];
  const seen = new Set<string>();
  const components = list.map((raw: unknown, i) => {
    const c = (raw ?? {}) as Record<string, unknown>;
    for (const key of REQUIRED) {
      if (typeof c[key] !== 'string' || c[key] === '')
        problems.push(`$.components[${i}].${key}: required non-empty string`);
    }
    if (
      c.properties !== undefined &&
      (typeof c.properties !== 'object' || c.properties === null || Array.isArray(c.properties))
    ) {
      problems.push(`$.components[${i}].properties: must be an object`);
    }
    if (typeof c.id === 'string') {
      if (seen.has(c.id)) problems.push(`$.components[${i}].id: duplicate id "${c.id}"`);
      seen.add(c.id);
    }
    return { ...c, properties: (c.properties as Record<string, unknown> | undefined) ?? {} } as Component;
  });
  if (problems.length > 0) {
    throw new SensorProxyError('ENUM_FAILED', `${source}: invalid components inventory:\n  ${problems.join('\n  ')}`, {
      details: { source, problems },
    });
  }
  return components;
}
