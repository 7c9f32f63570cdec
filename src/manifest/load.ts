/**
 * Loading a manifest file from disk: read, parse JSON with line/column errors, detect the form
 * (`detectManifestForm`), validate and normalise.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { SensorProxyError } from '../model/errors.js';
import { readBoundedFile } from '../model/input-limits.js';
import type { Update } from '../model/update.js';
import { detectManifestForm } from './detect.js';
import { parseImportManifest } from './import-manifest.js';
import { MANIFEST_SIZE_LIMIT, parseJsonText } from './json-text.js';
import { manifestInvalid } from './violations.js';
import { parseDetachedManifestFile, parseUpdateManifest } from './update-manifest.js';

/** A manifest file as loaded. */
export interface LoadedManifest {
  update: Update;
  /** The file's text exactly as read (UTF-8). */
  raw: string;
  /** SHA-256 of the file's bytes, lowercase hex (usable in file and workflow names). */
  sha256: string;
  /** Absolute path of the file. */
  path: string;
}

/**
 * Reads a manifest file as UTF-8 text, refusing one over `INPUT_LIMITS.manifestBytes` by its size.
 * @throws SensorProxyError `MANIFEST_NOT_FOUND` when it does not exist or is a directory,
 *   `MANIFEST_TOO_LARGE` when it is over the limit.
 */
export async function readManifestText(path: string): Promise<{ text: string; bytes: Buffer; path: string }> {
  const abs = resolve(path);
  try {
    const bytes = await readBoundedFile(abs, MANIFEST_SIZE_LIMIT);
    return { text: bytes.toString('utf8'), bytes, path: abs };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') {
      throw new SensorProxyError(
        'MANIFEST_NOT_FOUND',
        `${abs}: no such manifest file${code === 'EISDIR' ? ' (it is a directory)' : ''}`,
        {
          details: { path: abs },
          hint: 'check the path of the manifest',
          cause: e,
        },
      );
    }
    throw e;
  }
}

/**
 * Loads one manifest file of any form and normalises it. The form is taken from the content, see
 * `detectManifestForm`: a detached child file (`{updateManifest}`), an update manifest (files map),
 * or an import manifest (files array; the default). A mini manifest is refused with a violation
 * that names the file holding the full manifest.
 *
 * @throws SensorProxyError `MANIFEST_NOT_FOUND`, `MANIFEST_TOO_LARGE`, `MANIFEST_INVALID_JSON` (message
 *   `<path>:<line>:<column>: …`), `MANIFEST_INVALID`.
 */
export async function loadManifestFile(path: string): Promise<LoadedManifest> {
  const file = await readManifestText(path);
  const doc = parseJsonText(file.text, file.path);
  const sha256 = createHash('sha256').update(file.bytes).digest('hex');
  const form = detectManifestForm(doc);
  let update: Update;
  switch (form) {
    case 'detached':
      update = parseDetachedManifestFile(doc, file.path);
      break;
    case 'update':
      update = parseUpdateManifest(doc, file.path);
      break;
    case 'import':
      update = parseImportManifest(doc, file.path);
      break;
    case 'mini': {
      const id = JSON.stringify((doc as { detachedManifestFileId?: unknown }).detachedManifestFileId);
      throw manifestInvalid(file.path, [
        {
          path: '$',
          rule: 'full manifest',
          message: `is a mini (detached) update manifest; load the file with id ${id} (its "updateManifest") instead`,
        },
      ]);
    }
  }
  return { update, raw: file.text, sha256, path: file.path };
}
