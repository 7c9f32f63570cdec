/**
 * Every validation rule, one broken fixture each (hw-fixtures/manifests/bad-cases.ts): the parser
 * must report exactly that JSONPath and rule, and nothing else unless the case says so.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BAD_CASES, type BadCase } from '../../../hw-fixtures/manifests/bad-cases.js';
import { readNamedFixture } from '../../../hw-fixtures/manifests/fixture-dir.js';
import {
  parseDetachedManifestFile,
  parseImportManifest,
  parseMiniManifest,
  parseUpdateManifest,
} from '../../../src/manifest/index.js';
import { describeViolations, violationsOf } from './assert-manifest-error.js';

const PARSERS: Record<BadCase['parser'], (doc: unknown, source: string) => unknown> = {
  import: parseImportManifest,
  update: parseUpdateManifest,
  mini: parseMiniManifest,
  detached: parseDetachedManifestFile,
};

describe('manifest rules: each broken fixture reports its path and rule', () => {
  it('the good bases parse', () => {
    for (const base of new Set(BAD_CASES.map((c) => `${c.parser}:${c.base}`))) {
      const [parser, name] = base.split(':') as [BadCase['parser'], BadCase['base']];
      assert.doesNotThrow(() => PARSERS[parser](readNamedFixture(name), name), base);
    }
  });

  for (const c of BAD_CASES) {
    it(c.name, async () => {
      const base = readNamedFixture(c.base);
      const doc = c.mutate(base) ?? base;
      const violations = await violationsOf(() => PARSERS[c.parser](doc, `bad:${c.name}`));
      const found = violations.some((v) => v.path === c.path && v.rule === c.rule);
      assert.ok(found, `expected ${c.path} [${c.rule}], got:\n${describeViolations(violations)}`);
      assert.equal(violations.length, c.count ?? 1, `unexpected violations:\n${describeViolations(violations)}`);
    });
  }
});
