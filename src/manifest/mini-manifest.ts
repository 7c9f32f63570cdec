/**
 * The mini (top-level, detached) update manifest the service sends when the full one would exceed
 * the twin size limit (schema `miniUpdateManifest`, `reference/adu-agent.md` §5.2):
 *
 * ```text
 * { manifestVersion, updateId, detachedManifestFileId: "<id>", files: { "<id>": {file} } }   (exactly one file)
 * ```
 *
 * The agent downloads that one file, checks it against the entry, and parses its `updateManifest`
 * with `parseDetachedManifestFile`. (The reference agent's path for this is broken, §5.2.)
 */
import type { UpdateFile, UpdateId } from '../model/update.js';
import { checkUpdateId } from './definitions.js';
import { isMiniManifest } from './detect.js';
import { checkObject, checkRequired, checkString } from './schema-checks.js';
import { checkFileMap, checkUpdateManifestVersion } from './update-manifest.js';
import { isPlainObject, Violations } from './violations.js';

export { isMiniManifest };

/** What a mini manifest says: which file holds the full manifest, and that file's entry. */
export interface MiniManifest {
  detachedManifestFileId: string;
  file: UpdateFile;
  updateId: UpdateId;
}

/**
 * Validates a mini manifest: `manifestVersion` (4..5), `updateId`, `detachedManifestFileId`
 * (non-empty, a key of `files`) and `files` with exactly one valid entry.
 * @throws SensorProxyError `MANIFEST_INVALID`.
 */
export function parseMiniManifest(doc: unknown, source: string): MiniManifest {
  const out = new Violations();
  let result: MiniManifest | undefined;
  if (checkObject(doc, '$', out)) {
    checkRequired(doc, ['manifestVersion', 'updateId', 'detachedManifestFileId', 'files'], '$', out);
    if (doc.manifestVersion !== undefined) checkUpdateManifestVersion(doc.manifestVersion, '$.manifestVersion', out);
    const updateId = doc.updateId === undefined ? undefined : checkUpdateId(doc.updateId, '$.updateId', out);
    const files = doc.files === undefined ? {} : checkFileMap(doc.files, '$.files', out, 1, 1);
    const id = doc.detachedManifestFileId;
    if (
      id !== undefined &&
      checkString(id, '$.detachedManifestFileId', out, { min: 1 }) &&
      id.length > 0 &&
      isPlainObject(doc.files) &&
      !(id in doc.files)
    ) {
      out.add('$.detachedManifestFileId', 'exists in files', `file id ${JSON.stringify(id)} names no entry of $.files`);
    }
    const file = typeof id === 'string' ? files[id] : undefined;
    if (out.size === 0 && updateId && file && typeof id === 'string')
      result = { detachedManifestFileId: id, file, updateId };
  }
  out.throwIfAny(source, 'mini update manifest');
  if (!result) throw new Error('unreachable: a valid mini manifest has its file entry');
  return result;
}
