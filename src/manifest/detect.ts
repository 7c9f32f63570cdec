/**
 * Telling the manifest forms apart from their content (file names are not trusted for this: a
 * publisher may call an import manifest anything). Used by `loadManifestFile` and the parsers.
 */
import { isPlainObject } from './violations.js';

/**
 * - `import`: import manifest (publisher's, files as an array of `{filename,…}`)
 * - `update`: full update manifest (service's, files as a map id → entry)
 * - `mini`: mini (detached top-level) update manifest
 * - `detached`: a child manifest file `{ "updateManifest": … }`
 */
export type ManifestForm = 'import' | 'update' | 'mini' | 'detached';

/**
 * A mini manifest has a top-level `detachedManifestFileId` and no `instructions` (a full manifest
 * always has `instructions`; only the mini form has the top-level file id).
 */
export function isMiniManifest(doc: unknown): doc is Record<string, unknown> & { detachedManifestFileId: unknown } {
  return isPlainObject(doc) && doc.detachedManifestFileId !== undefined && doc.instructions === undefined;
}

function stepKeys(doc: Record<string, unknown>): Set<string> {
  const keys = new Set<string>();
  const steps = isPlainObject(doc.instructions) ? doc.instructions.steps : undefined;
  // The first 10 (the most a manifest may have) decide; a million steps are not walked here.
  if (Array.isArray(steps))
    for (const s of steps.slice(0, 10)) if (isPlainObject(s)) for (const k of Object.keys(s)) keys.add(k);
  return keys;
}

/**
 * Detection rule, first match wins:
 * 1. an object with an `updateManifest` property → `detached` (child `*.updatemanifest.json`);
 * 2. {@link isMiniManifest} → `mini`;
 * 3. `files` is an array → `import`; `files` is an object → `update`;
 * 4. no usable `files` (import manifests may omit it when every step is a reference step): a step
 *    with `detachedManifestFileId` → `update`, a step with `updateId` → `import`;
 * 5. `manifestVersion` without a dot ("4", "5": only the service writes those) → `update`;
 * 6. otherwise `import`, whose validator then reports what is wrong (also for non-objects).
 */
export function detectManifestForm(doc: unknown): ManifestForm {
  if (!isPlainObject(doc)) return 'import';
  if (doc.updateManifest !== undefined) return 'detached';
  if (isMiniManifest(doc)) return 'mini';
  if (Array.isArray(doc.files)) return 'import';
  if (isPlainObject(doc.files)) return 'update';
  const keys = stepKeys(doc);
  if (keys.has('detachedManifestFileId')) return 'update';
  if (keys.has('updateId')) return 'import';
  if (typeof doc.manifestVersion === 'string' && /^\d+$/.test(doc.manifestVersion)) return 'update';
  return 'import';
}
