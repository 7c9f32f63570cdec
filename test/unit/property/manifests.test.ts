/**
 * Property-based tests of the manifest parsers (issue 13 "Done when"): import manifests (v5 and
 * the tooling's "4.0"), update manifests (v4/v5), detached child files and the child rules.
 * Generated valid manifests parse and normalise to what they say, also through their JSON text;
 * any JSON value, any mutation of a valid manifest and any text end in a result or one of our
 * coded errors, never a TypeError. The generated manifests are kept small (up to 4 steps, 4 files,
 * 3 compatibility sets, short strings) so 10 000 cases per property stay fast; the limits
 * themselves (10 steps, 512-character description, ...) are covered by test/unit/manifest.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  assertChildUpdate,
  detectManifestForm,
  parseDetachedManifestFile,
  parseImportManifest,
  parseJsonText,
  parseMiniManifest,
  parseUpdateManifest,
} from '../../../src/manifest/index.js';
import type { Update } from '../../../src/model/update.js';
import { check, codedOnly } from './property-helpers.js';

type Doc = Record<string, any>;
const MANIFEST_CODES = ['MANIFEST_INVALID', 'MANIFEST_INVALID_JSON', 'MANIFEST_TOO_LARGE'];

const chars = (set: string) => fc.constantFrom(...set.split(''));
const word = (set: string, min: number, max: number) => fc.string({ unit: chars(set), minLength: min, maxLength: max });
const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

const updateIdArb = fc.record(
  {
    provider: word(ALNUM + '.-', 1, 16),
    name: word(ALNUM + '.-', 1, 16),
    version: fc
      .array(fc.integer({ min: 0, max: 2147483647 }), { minLength: 2, maxLength: 4 })
      .map((parts) => parts.join('.')),
  },
  { noNullPrototype: true },
);
/** Compatibility sets of one to three properties (a record is much cheaper to generate than a dictionary). */
const compatibilityArb = fc.array(
  fc.record(
    {
      manufacturer: word(ALNUM + ' -_.', 1, 12),
      model: fc.option(word(ALNUM, 1, 12), { nil: undefined }),
      group: fc.option(word(ALNUM, 1, 12), { nil: undefined }),
    },
    { noNullPrototype: true },
  ),
  { minLength: 1, maxLength: 3 },
);
const fileNamesArb = fc.uniqueArray(
  word('abcdefghij0123456789_-', 1, 8).map((n) => `${n}.bin`),
  {
    maxLength: 4,
    selector: (n) => n.toLowerCase(),
  },
);
/** Well-formed SHA-256 digests (a few suffice: the parser checks their form, not their value). */
const sha256Arb = fc.constantFrom(
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => createHash('sha256').update(String(i)).digest('base64')),
);
const handlerArb = fc.oneof(
  fc.constantFrom('microsoft/script:1', 'sensor-proxy/smp:1', 'sensor-proxy/uds:1', 'microsoft/apt:1'),
  fc
    .tuple(word('abcxyz', 1, 8), word('abcxyz', 1, 8), fc.integer({ min: 1, max: 99999 }))
    .map(([a, b, n]) => `${a}/${b}:${n}`),
);
const dateArb = fc
  .date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
const handlerPropertiesArb = fc.record(
  {
    installedCriteria: fc.string({ maxLength: 10 }),
    extra: fc.oneof(fc.integer(), fc.string({ maxLength: 6 }), fc.constant(null), fc.constant({ a: [1, 'b'] })),
  },
  { requiredKeys: [], noNullPrototype: true },
);

/** A valid import manifest: 1-10 steps (inline steps name existing files; reference steps by updateId). */
const stepArb = fc.record(
  {
    inline: fc.boolean(),
    type: fc.constantFrom('inline', undefined),
    handler: handlerArb,
    /** Indexes into the file names (taken modulo their number). */
    picks: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
    handlerProperties: handlerPropertiesArb,
    description: fc.option(fc.string({ minLength: 1, maxLength: 8 }), { nil: undefined }),
    updateId: updateIdArb,
  },
  { noNullPrototype: true },
);

/**
 * A valid import manifest: 1-4 steps (inline steps name existing files; reference steps carry an
 * updateId; with no files every step is a reference step). Built with `map`, not `chain`, which
 * would build new arbitraries for every case.
 */
const importManifestArb: fc.Arbitrary<Doc> = fc
  .record(
    {
      updateId: updateIdArb,
      description: fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: undefined }),
      isDeployable: fc.option(fc.boolean(), { nil: undefined }),
      compatibility: compatibilityArb,
      steps: fc.array(stepArb, { minLength: 1, maxLength: 4 }),
      names: fileNamesArb,
      sizes: fc.array(fc.integer({ min: 1, max: 200_000_000 }), { minLength: 4, maxLength: 4 }),
      hashes: fc.array(sha256Arb, { minLength: 4, maxLength: 4 }),
      manifestVersion: fc.constantFrom('5.0', '4.0'),
      createdDateTime: dateArb,
    },
    { noNullPrototype: true },
  )
  .map(({ names, sizes, hashes, steps, ...rest }) => {
    const doc: Doc = {
      ...rest,
      instructions: {
        steps: steps.map((st) =>
          st.inline && names.length > 0
            ? {
                type: st.type,
                handler: st.handler,
                files: [...new Set(st.picks.map((p) => names[p % names.length]!))],
                handlerProperties: st.handlerProperties,
                description: st.description,
              }
            : { type: 'reference', updateId: st.updateId },
        ),
      },
      files: names.map((filename, i) => ({ filename, sizeInBytes: sizes[i]!, hashes: { sha256: hashes[i]! } })),
    };
    return dropUndefined(doc) as Doc; // as a file would have them
  });

/** `v` without the keys whose value is undefined (what JSON text cannot hold). */
function dropUndefined(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropUndefined);
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = dropUndefined(x);
  return out;
}

/** The update manifest the service would make of an import manifest: files keyed by id, steps by id. */
function toUpdateManifest(doc: Doc, version: string): Doc {
  const ids = new Map<string, string>((doc.files as Doc[]).map((f, i) => [f.filename as string, `f${i}`]));
  const files: Doc = {};
  for (const f of doc.files as Doc[])
    files[ids.get(f.filename)!] = { fileName: f.filename, sizeInBytes: f.sizeInBytes, hashes: f.hashes };
  let child = 0;
  const steps = (doc.instructions.steps as Doc[]).map((s) => {
    if (s.type !== 'reference') return { ...s, files: (s.files as string[]).map((n) => ids.get(n)!) };
    const id = `child${child++}`;
    files[id] = {
      fileName: `${id}.updatemanifest.json`,
      sizeInBytes: 100,
      hashes: { sha256: doc.files[0]?.hashes.sha256 ?? 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' },
    };
    return { type: 'reference', detachedManifestFileId: id };
  });
  const out: Doc = {
    manifestVersion: version,
    updateId: doc.updateId,
    compatibility: doc.compatibility,
    instructions: { steps },
    files,
    createdDateTime: doc.createdDateTime,
  };
  return out;
}

/** Every path (list of keys) into a JSON document, the root included. */
function paths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

const DELETE = Symbol('delete');
/** `doc` with the value at one of its paths replaced by `value`, or deleted. */
function mutate(doc: Doc, pick: number, value: unknown): unknown {
  const copy = structuredClone(doc);
  const all = paths(copy);
  const path = all[pick % all.length]!;
  if (path.length === 0) return value === DELETE ? null : value;
  const parent = path.slice(0, -1).reduce<any>((o, k) => o[k], copy);
  const key = path.at(-1)!;
  if (value === DELETE) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else parent[key] = value;
  return copy;
}
const mutationArb = fc.tuple(fc.nat(), fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(DELETE)));

function assertNormalised(update: Update, doc: Doc): void {
  assert.deepEqual(update.updateId, doc.updateId);
  assert.deepEqual(update.compatibility, doc.compatibility);
  assert.equal(update.steps.length, doc.instructions.steps.length);
  assert.equal(update.manifestVersion, doc.manifestVersion);
  assert.equal(update.description, doc.description);
  update.steps.forEach((s, i) => {
    const raw = doc.instructions.steps[i] as Doc;
    assert.equal(s.type, raw.type ?? 'inline');
    if (s.type === 'inline') {
      assert.deepEqual(s.files, raw.files);
      assert.equal(s.handler, raw.handler);
      assert.deepEqual(s.handlerProperties, raw.handlerProperties);
    }
  });
}

describe('property: import manifest', () => {
  it('valid manifests parse and normalise to what they say, also through their JSON text', () => {
    check(
      fc.property(importManifestArb, (doc) => {
        assert.equal(detectManifestForm(doc), 'import');
        const update = parseImportManifest(doc, 'm');
        assertNormalised(update, doc);
        assert.deepEqual(Object.keys(update.files).sort(), (doc.files as Doc[]).map((f) => f.filename).sort());
        assert.equal(update.isDeployable, doc.isDeployable ?? true);
        const again = parseImportManifest(parseJsonText(JSON.stringify(doc, null, 2), 'm'), 'm');
        assert.deepEqual(again, update);
      }),
    );
  });

  it('any mutation of a valid manifest: an update or MANIFEST_INVALID, never a TypeError', () => {
    check(
      fc.property(importManifestArb, mutationArb, (doc, [pick, value]) => {
        const m = mutate(doc, pick, value);
        codedOnly(() => parseImportManifest(m, 'm'), ['MANIFEST_INVALID']);
        const u = codedOnly(() => parseImportManifest(m, 'm'), ['MANIFEST_INVALID']);
        if (u) codedOnly(() => assertChildUpdate(u, 'm'), ['MANIFEST_INVALID']);
      }),
    );
  });

  it('child rules: a child is valid exactly when it has no reference step and is not deployable', () => {
    check(
      fc.property(importManifestArb, (doc) => {
        const u = parseImportManifest(doc, 'm');
        const ok = codedOnly(() => (assertChildUpdate(u, 'm'), true), ['MANIFEST_INVALID']) === true;
        const expected = doc.isDeployable === false && u.steps.every((s) => s.type === 'inline');
        assert.equal(ok, expected);
      }),
    );
  });
});

describe('property: update manifest and detached child files', () => {
  const updateArb = fc
    .tuple(importManifestArb, fc.constantFrom('4', '5', '4.0', '5.0'))
    .map(([d, v]) => toUpdateManifest(d, v));

  it('valid update manifests parse, as an object, as the twin string and inside a detached file', () => {
    check(
      fc.property(updateArb, (doc) => {
        assert.equal(detectManifestForm(doc), 'update');
        const update = parseUpdateManifest(doc, 'm');
        assertNormalised(update, { ...doc, description: undefined });
        assert.deepEqual(Object.keys(update.files).sort(), Object.keys(doc.files).sort());
        const text = JSON.stringify(doc);
        assert.deepEqual(parseUpdateManifest(text, 'twin'), update);
        assert.deepEqual(parseDetachedManifestFile({ updateManifest: text }, 'f'), update);
        assert.deepEqual(parseDetachedManifestFile({ updateManifest: doc, signature: 'x' }, 'f'), update);
      }),
    );
  });

  it('any mutation: an update or MANIFEST_INVALID; the same inside a detached file', () => {
    check(
      fc.property(updateArb, mutationArb, (doc, [pick, value]) => {
        const m = mutate(doc, pick, value);
        // A string is parsed as the twin's JSON text.
        codedOnly(() => parseUpdateManifest(m, 'm'), MANIFEST_CODES);
        codedOnly(() => parseDetachedManifestFile({ updateManifest: m }, 'f'), MANIFEST_CODES);
        codedOnly(() => parseMiniManifest(m, 'm'), ['MANIFEST_INVALID']);
      }),
    );
  });
});

describe('property: garbage into every manifest entry point', () => {
  it('any JSON value: a result or a coded MANIFEST_ error', () => {
    check(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => {
        detectManifestForm(v);
        codedOnly(() => parseImportManifest(v, 'm'), ['MANIFEST_INVALID']);
        codedOnly(() => parseUpdateManifest(v, 'm'), MANIFEST_CODES);
        codedOnly(() => parseDetachedManifestFile(v, 'm'), MANIFEST_CODES);
        codedOnly(() => parseMiniManifest(v, 'm'), ['MANIFEST_INVALID']);
      }),
    );
  });

  it('any text: a value, or MANIFEST_INVALID_JSON whose line and column are inside the text', () => {
    const textArb = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.string({ unit: chars('{}[]",:0123456789.eE+-truefalsn \n\\/u'), maxLength: 200 }),
      fc.tuple(fc.json({ maxDepth: 3 }), fc.nat(), fc.string({ maxLength: 3 })).map(([j, at, s]) => {
        const i = at % (j.length + 1);
        return j.slice(0, i) + s + j.slice(i + 1);
      }),
    );
    check(
      fc.property(textArb, (text) => {
        try {
          parseJsonText(text, 'src');
        } catch (e) {
          codedOnly(() => {
            throw e;
          }, ['MANIFEST_INVALID_JSON']);
          const d = (e as { details: { line: number; column: number } }).details;
          const lines = text.split('\n');
          assert.ok(d.line >= 1 && d.line <= lines.length, `line ${d.line} of ${lines.length}`);
          assert.ok(d.column >= 1 && d.column <= lines[d.line - 1]!.length + 1, `column ${d.column}`);
        }
        codedOnly(() => parseUpdateManifest(text, 'twin'), MANIFEST_CODES);
      }),
    );
  });
});
