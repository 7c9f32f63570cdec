/**
 * Update manifest v4/v5 as the Device Update service sends it (twin `service.updateManifest`, a
 * JSON string) and the detached child files (`*.updatemanifest.json`) that reference steps name.
 * Schema: SchemaStore `azure-deviceupdate-update-manifest-5.json` `fullUpdateManifest`, with the
 * agent's own rules where they differ (`reference/adu-agent.md` §5.1, §5.2).
 *
 * ```text
 * { manifestVersion: "4"|"5", updateId, compatibility[1..10],
 *   instructions: { steps[1..10] },        <- inline: files by ID; reference: detachedManifestFileId
 *   files: { <fileId>: {fileName|filename, sizeInBytes, hashes, ...} } (1..20),
 *   createdDateTime }
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
} from './definitions.js';
import { parseJsonText } from './json-text.js';
import { isMiniManifest } from './detect.js';
import { checkObject, checkPropertyCount, checkRequired, checkString, pattern } from './schema-checks.js';
import { checkSteps } from './steps.js';
import { childPath, isPlainObject, Violations } from './violations.js';

/**
 * Supported update manifest versions. The v5 schema still says `"const": "4"`, but the agent
 * accepts `atoi(manifestVersion)` in [SUPPORTED_UPDATE_MANIFEST_VERSION_MIN=4, MAX=5]
 * (`CMakeLists.txt`, `workflow_utils.c`); so does this parser ("4", "5", "4.0", "5.0").
 */
export const UPDATE_MANIFEST_VERSION_MIN = 4;
export const UPDATE_MANIFEST_VERSION_MAX = 5;
const MANIFEST_VERSION = pattern('^\\d+(?:\\.\\d+)?$');

/** `manifestVersion` of an update (or mini) manifest: a numeric string whose major part is 4..5. */
export function checkUpdateManifestVersion(v: unknown, path: string, out: Violations): string | undefined {
  if (!checkString(v, path, out, { pattern: MANIFEST_VERSION }) || !MANIFEST_VERSION.re.test(v)) return undefined;
  const major = Number.parseInt(v, 10);
  if (major < UPDATE_MANIFEST_VERSION_MIN || major > UPDATE_MANIFEST_VERSION_MAX) {
    out.add(
      path,
      `supported range ${UPDATE_MANIFEST_VERSION_MIN}..${UPDATE_MANIFEST_VERSION_MAX}`,
      `update manifest version ${JSON.stringify(v)} is not supported; versions ${UPDATE_MANIFEST_VERSION_MIN} to ${UPDATE_MANIFEST_VERSION_MAX} are`,
    );
    return undefined;
  }
  return v;
}

/**
 * `files`: a map fileId → file entry with `count` entries in [min, max]; names unique
 * (case-insensitive). Returns the valid entries keyed by id.
 */
export function checkFileMap(
  v: unknown,
  path: string,
  out: Violations,
  min: number,
  max: number,
): Record<string, UpdateFile> {
  const files: Record<string, UpdateFile> = {};
  if (!checkObject(v, path, out)) return files;
  if (!checkPropertyCount(v, path, out, min, max)) return files;
  const seen = new Map<string, string>();
  for (const [id, entry] of Object.entries(v)) {
    const at = childPath(path, id);
    if (id.length === 0) out.add(at, 'propertyNames minLength 1', 'file id must not be empty');
    if (!checkObject(entry, at, out)) continue;
    const name = checkEntryName(entry, at, out, 'filename|fileName');
    const fields = checkFileFields(entry, at, out, 'filename|fileName');
    if (name === undefined) continue;
    const other = seen.get(name.toLowerCase());
    if (other !== undefined) {
      out.add(
        childPath(at, entry.fileName !== undefined ? 'fileName' : 'filename'),
        'unique (case-insensitive)',
        `${JSON.stringify(name)} is already the name of ${childPath(path, other)}`,
      );
      continue;
    }
    seen.set(name.toLowerCase(), id);
    if (fields && id.length > 0) files[id] = { id, fileName: name, ...fields };
  }
  return files;
}

/** The walk behind {@link parseUpdateManifest}; returns undefined when anything was reported. */
export function checkUpdateManifest(doc: unknown, root: string, out: Violations): Update | undefined {
  if (!checkObject(doc, root, out)) return undefined;
  const before = out.size;
  const at = (key: string): string => childPath(root, key);
  if (isMiniManifest(doc)) {
    out.add(
      root,
      'full manifest',
      `is a mini (detached) manifest: the full manifest is the "updateManifest" of file ${JSON.stringify(doc.detachedManifestFileId)}`,
    );
    return undefined;
  }
  checkRequired(
    doc,
    ['manifestVersion', 'updateId', 'compatibility', 'instructions', 'files', 'createdDateTime'],
    root,
    out,
  );
  const manifestVersion =
    doc.manifestVersion === undefined
      ? undefined
      : checkUpdateManifestVersion(doc.manifestVersion, at('manifestVersion'), out);
  if (doc.$schema !== undefined) checkString(doc.$schema, at('$schema'), out);
  const updateId = doc.updateId === undefined ? undefined : checkUpdateId(doc.updateId, at('updateId'), out);
  // Not in the update-manifest schema; accepted with the import manifest's limits when present.
  if (doc.description !== undefined) checkString(doc.description, at('description'), out, { min: 1, max: 512 });
  const isDeployable = checkIsDeployable(doc.isDeployable, at('isDeployable'), out);
  const compatibility =
    doc.compatibility === undefined ? [] : checkCompatibility(doc.compatibility, at('compatibility'), out);
  const files = doc.files === undefined ? {} : checkFileMap(doc.files, at('files'), out, 1, 20);
  let steps: Update['steps'] = [];
  const instructions = doc.instructions;
  if (instructions !== undefined && checkObject(instructions, at('instructions'), out)) {
    checkRequired(instructions, ['steps'], at('instructions'), out);
    const fileKeys = isPlainObject(doc.files) ? new Set(Object.keys(doc.files)) : undefined;
    if (instructions.steps !== undefined)
      steps = checkSteps(instructions.steps, childPath(at('instructions'), 'steps'), out, { kind: 'update', fileKeys });
  }
  const createdDateTime =
    doc.createdDateTime === undefined ? undefined : checkDateTime(doc.createdDateTime, at('createdDateTime'), out);

  if (out.size !== before || !updateId || manifestVersion === undefined) return undefined;
  const update: Update = { kind: 'update', manifestVersion, updateId, isDeployable, compatibility, steps, files };
  if (typeof doc.description === 'string') update.description = doc.description;
  if (createdDateTime !== undefined) update.createdDateTime = createdDateTime;
  return update;
}

/**
 * Validates and normalises an update manifest, given as the JSON string the twin carries or as an
 * already parsed object. Steps reference file ids (keys of `files`); a reference step's
 * `detachedManifestFileId` must be one of them. A mini (detached) manifest is refused with a
 * violation naming the file that holds the full one (see `parseMiniManifest`).
 *
 * @throws SensorProxyError `MANIFEST_INVALID_JSON` (string input), `MANIFEST_INVALID`.
 */
export function parseUpdateManifest(doc: unknown, source: string): Update {
  const value = typeof doc === 'string' ? parseJsonText(doc, source) : doc;
  const out = new Violations();
  const update = checkUpdateManifest(value, '$', out);
  out.throwIfAny(source, 'update manifest');
  return update!;
}

/**
 * A detached child manifest file (`*.updatemanifest.json`): `{ "updateManifest": <string|object>, ... }`
 * (other keys, e.g. a signature, are ignored: child manifests are trusted by the parent's hash,
 * §5.2). The inner manifest is parsed as an update manifest; when it is an object its violations
 * are reported under `$.updateManifest`, when it is a string under `<source>#updateManifest`.
 *
 * @throws SensorProxyError `MANIFEST_INVALID_JSON`, `MANIFEST_INVALID`.
 */
export function parseDetachedManifestFile(doc: unknown, source: string): Update {
  const out = new Violations();
  const inner = checkObject(doc, '$', out) ? doc.updateManifest : undefined;
  if (out.size === 0 && isPlainObject(doc)) checkRequired(doc, ['updateManifest'], '$', out);
  out.throwIfAny(source, 'detached manifest file');
  if (typeof inner === 'string') return parseUpdateManifest(inner, `${source}#updateManifest`);
  const update = checkUpdateManifest(inner, '$.updateManifest', out);
  out.throwIfAny(source, 'detached manifest file');
  return update!;
}
