import {
  assertChildUpdate,
  findChildImportManifest,
  parseDetachedManifestFile,
  parseJsonText,
  readManifestText,
} from '../manifest/index.js';
import { SensorProxyError } from '../model/errors.js';
import type { ReferenceStep, Update } from '../model/update.js';
import type { FileSource } from './file-source.js';

/**
 * Turns a reference step into its child update (validated as a child: inline steps only).
 * Import manifests name the child by `updateId` (found among the files); update manifests by
 * `detachedManifestFileId` (a file of the parent, hash-checked, whose `updateManifest` is the child).
 */
export async function resolveChildUpdate(
  parent: Update,
  step: ReferenceStep,
  opts: { filesDir?: string; fileSource: FileSource; workFolder: string; signal?: AbortSignal },
): Promise<{ update: Update; source: string }> {
  if (step.detachedManifestFileId !== undefined) {
    const file = parent.files[step.detachedManifestFileId];
    if (!file) {
      throw new SensorProxyError(
        'MANIFEST_CHILD_NOT_FOUND',
        `reference step names file id ${step.detachedManifestFileId}, which is not in the parent's files`,
      );
    }
    const path = await opts.fileSource.materialize(file, opts.workFolder, opts.signal);
    // Over the manifest size limit → MANIFEST_TOO_LARGE, without reading it.
    const update = parseDetachedManifestFile(parseJsonText((await readManifestText(path)).text, path), path);
    assertChildUpdate(update, path);
    return { update, source: path };
  }
  if (step.updateId !== undefined) {
    if (opts.filesDir === undefined) {
      throw new SensorProxyError(
        'MANIFEST_CHILD_NOT_FOUND',
        'a reference step by updateId needs a folder to search for child import manifests',
        {
          hint: 'pass --files DIR',
        },
      );
    }
    const found = await findChildImportManifest(opts.filesDir, step.updateId);
    assertChildUpdate(found.update, found.path);
    return { update: found.update, source: found.path };
  }
  throw new SensorProxyError('MANIFEST_INVALID', 'reference step has neither updateId nor detachedManifestFileId');
}
