/**
 * Import manifest v5 (what a publisher writes and imports into Device Update), validated against
 * SchemaStore `azure-deviceupdate-import-manifest-5.0.json` plus the agent rules in
 * `reference/adu-agent.md` §5.3, and normalised to {@link Update} with file id = file name.
 *
 * ```text
 * { updateId, description?, isDeployable?, compatibility[1..10],
 *   instructions: { steps[1..10] },            <- inline: files by NAME; reference: updateId
 *   files?: [ {filename, sizeInBytes, hashes, properties?, relatedFiles?, downloadHandler?} ] (0..10, Σ ≤ 2 GiB),
 *   manifestVersion: "5.0", createdDateTime }
 * ```
 */
import type { Update, UpdateFile } from '../model/update.js';
import {
  checkCompatibility,
  checkDateTime,
  checkEntryName,
  checkFileFields,
  checkIsDeployable,
  checkUpdateId,
  MAX_FILE_SIZE,
} from './definitions.js';
import { checkArray, checkNoUnknownKeys, checkObject, checkRequired, checkString } from './schema-checks.js';
import { checkSteps } from './steps.js';
import { childPath, isPlainObject, Violations } from './violations.js';

/**
 * Accepted `manifestVersion` values. The schema's const is "5.0"; the ADU PowerShell and Python
 * import tooling still emit "4.0" for the same structure (§5.3), so that is accepted too.
 */
export const IMPORT_MANIFEST_VERSIONS: readonly string[] = ['5.0', '4.0'];

/** Maximum total payload of one import (schema `files` description: "may not exceed 2 GB"). */
export const MAX_IMPORT_TOTAL_BYTES = MAX_FILE_SIZE;

function checkImportFiles(v: unknown, path: string, out: Violations): Record<string, UpdateFile> {
  const files: Record<string, UpdateFile> = {};
  // The schema describes `files` as "may be empty or null if all instruction steps are reference steps".
  if (v === undefined || v === null) return files;
  if (!checkArray(v, path, out, 0, 10)) return files;
  const seen = new Map<string, number>();
  let total = 0;
  v.forEach((entry, i) => {
    const at = childPath(path, i);
    if (!checkObject(entry, at, out)) return;
    const name = checkEntryName(entry, at, out, 'filename');
    const fields = checkFileFields(entry, at, out, 'filename');
    if (typeof entry.sizeInBytes === 'number') total += entry.sizeInBytes;
    if (name === undefined) return;
    const first = seen.get(name.toLowerCase());
    if (first !== undefined) {
      out.add(
        childPath(at, 'filename'),
        'unique (case-insensitive)',
        `${JSON.stringify(name)} is already the name of $.files[${first}]`,
      );
      return;
    }
    seen.set(name.toLowerCase(), i);
    if (fields) files[name] = { id: name, fileName: name, ...fields };
  });
  if (total > MAX_IMPORT_TOTAL_BYTES) {
    out.add(
      path,
      `total sizeInBytes maximum ${MAX_IMPORT_TOTAL_BYTES}`,
      `files add up to ${total} bytes; one import may hold at most 2 GiB`,
    );
  }
  return files;
}

/**
 * The names steps may reference: every entry's name as written (also a misspelled `fileName`, so
 * one mistake is reported once). Names are unique case-insensitively, but steps must spell them
 * exactly. Undefined when `files` is neither absent/null nor an array (nothing to check against).
 */
function importFileKeys(v: unknown): Set<string> | undefined {
  if (v === undefined || v === null) return new Set();
  if (!Array.isArray(v)) return undefined;
  const names = v.map((f) => (isPlainObject(f) ? (f.filename ?? f.fileName) : undefined));
  return new Set(names.filter((n): n is string => typeof n === 'string'));
}

/**
 * Validates an import manifest (already parsed JSON) and normalises it. Steps reference files by
 * name; the normalised file id is the file name. All violations are collected first.
 *
 * @param source Names the document in messages (usually its path).
 * @throws SensorProxyError `MANIFEST_INVALID` with `details: { source, violations }`.
 */
export function parseImportManifest(doc: unknown, source: string): Update {
  const out = new Violations();
  const update = checkImportManifest(doc, '$', out);
  out.throwIfAny(source, 'import manifest');
  return update!;
}

/** The walk behind {@link parseImportManifest}; returns undefined when anything was reported. */
export function checkImportManifest(doc: unknown, root: string, out: Violations): Update | undefined {
  if (!checkObject(doc, root, out)) return undefined;
  const before = out.size;
  const at = (key: string): string => childPath(root, key);
  checkRequired(doc, ['updateId', 'compatibility', 'instructions', 'manifestVersion', 'createdDateTime'], root, out);

  const manifestVersion = doc.manifestVersion;
  if (
    manifestVersion !== undefined &&
    checkString(manifestVersion, at('manifestVersion'), out) &&
    !IMPORT_MANIFEST_VERSIONS.includes(manifestVersion)
  ) {
    out.add(
      at('manifestVersion'),
      'enum 5.0,4.0',
      `must be "5.0" (the tooling's "4.0" is accepted too), is ${JSON.stringify(manifestVersion)}`,
    );
  }
  if (doc.$schema !== undefined) checkString(doc.$schema, at('$schema'), out);
  const updateId = doc.updateId === undefined ? undefined : checkUpdateId(doc.updateId, at('updateId'), out);
  if (doc.description !== undefined) checkString(doc.description, at('description'), out, { min: 1, max: 512 });
  const isDeployable = checkIsDeployable(doc.isDeployable, at('isDeployable'), out);
  const compatibility =
    doc.compatibility === undefined ? [] : checkCompatibility(doc.compatibility, at('compatibility'), out);
  const files = checkImportFiles(doc.files, at('files'), out);
  const fileKeys = importFileKeys(doc.files);
  let steps: Update['steps'] = [];
  const instructions = doc.instructions;
  if (instructions !== undefined && checkObject(instructions, at('instructions'), out)) {
    checkRequired(instructions, ['steps'], at('instructions'), out);
    checkNoUnknownKeys(instructions, ['steps'], at('instructions'), out);
    if (instructions.steps !== undefined)
      steps = checkSteps(instructions.steps, childPath(at('instructions'), 'steps'), out, { kind: 'import', fileKeys });
  }
  const createdDateTime =
    doc.createdDateTime === undefined ? undefined : checkDateTime(doc.createdDateTime, at('createdDateTime'), out);

  if (out.size !== before || !updateId || typeof manifestVersion !== 'string') return undefined;
  const update: Update = { kind: 'import', manifestVersion, updateId, isDeployable, compatibility, steps, files };
  if (typeof doc.description === 'string') update.description = doc.description;
  if (createdDateTime !== undefined) update.createdDateTime = createdDateTime;
  return update;
}
