/**
 * Local resolution of an import manifest's reference step: the child is another import manifest
 * in a folder (the one given with `--files DIR`, by default the parent's), found by its `updateId`.
 */
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isSensorProxyError, SensorProxyError } from '../model/errors.js';
import { type Update, type UpdateId, updateIdLabel } from '../model/update.js';
import { detectManifestForm } from './detect.js';
import { parseImportManifest } from './import-manifest.js';
import { parseJsonText } from './json-text.js';
import { readManifestText } from './load.js';
import { isPlainObject } from './violations.js';

/** A child import manifest found on disk. */
export interface FoundChild {
  /** Absolute path of the child's import manifest. */
  path: string;
  update: Update;
}

function declaredId(doc: Record<string, unknown>): UpdateId | undefined {
  const id = doc.updateId;
  if (
    !isPlainObject(id) ||
    typeof id.provider !== 'string' ||
    typeof id.name !== 'string' ||
    typeof id.version !== 'string'
  )
    return undefined;
  return { provider: id.provider, name: id.name, version: id.version };
}

/**
 * Scans `dir` (not recursively) for `*.json` files that are import manifests declaring exactly
 * `id` (provider, name and version compared as strings, case-sensitive), and parses the one found.
 * Files that are not valid JSON or not import manifests are skipped (listed in the not-found
 * error's `details.skipped`); a file that declares `id` but breaks a rule throws its violations.
 * The caller applies `assertChildUpdate` to the result.
 *
 * @throws SensorProxyError `MANIFEST_CHILD_NOT_FOUND` (`details: { dir, updateId, found, skipped }`,
 *   `found` = the update ids present), `MANIFEST_INVALID` (the child's violations, or two files
 *   declaring the same id).
 */
export async function findChildImportManifest(dir: string, id: UpdateId): Promise<FoundChild> {
  const abs = resolve(dir);
  const wanted = updateIdLabel(id);
  const notFound = (
    why: string,
    found: string[],
    skipped: { path: string; reason: string }[],
    cause?: unknown,
  ): SensorProxyError =>
    new SensorProxyError('MANIFEST_CHILD_NOT_FOUND', `child update ${wanted} not found in ${abs}: ${why}`, {
      details: { dir: abs, updateId: id, found, skipped },
      hint: 'put the child import manifest in that folder, or pass --files DIR with the folder that holds it',
      cause,
    });
  let names: string[];
  try {
    const entries = await readdir(abs, { withFileTypes: true });
    names = entries
      .filter((e) => (e.isFile() || e.isSymbolicLink()) && e.name.toLowerCase().endsWith('.json'))
      .map((e) => e.name)
      .sort();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw notFound('the folder does not exist', [], [], e);
    throw e;
  }

  const found: string[] = [];
  const skipped: { path: string; reason: string }[] = [];
  const matches: { path: string; doc: unknown }[] = [];
  for (const name of names) {
    const path = join(abs, name);
    let doc: unknown;
    try {
      // A JSON file over the manifest size limit is skipped unread (a payload may well be JSON).
      doc = parseJsonText((await readManifestText(path)).text, path);
    } catch (e) {
      if (!isSensorProxyError(e, 'MANIFEST_INVALID_JSON') && !isSensorProxyError(e, 'MANIFEST_TOO_LARGE')) throw e;
      skipped.push({ path, reason: e.message });
      continue;
    }
    const declared = isPlainObject(doc) && detectManifestForm(doc) === 'import' ? declaredId(doc) : undefined;
    if (!declared) {
      skipped.push({ path, reason: 'not an import manifest' });
      continue;
    }
    found.push(updateIdLabel(declared));
    if (declared.provider === id.provider && declared.name === id.name && declared.version === id.version)
      matches.push({ path, doc });
  }

  if (matches.length === 0) {
    throw notFound(
      found.length ? `the import manifests there are ${found.join(', ')}` : 'no import manifests there',
      found,
      skipped,
    );
  }
  if (matches.length > 1) {
    const paths = matches.map((m) => m.path);
    throw new SensorProxyError(
      'MANIFEST_INVALID',
      `${matches.length} import manifests in ${abs} declare ${wanted}: ${paths.join(', ')}`,
      {
        details: { dir: abs, updateId: id, paths },
        hint: 'keep only one import manifest per update id in the folder',
      },
    );
  }
  const match = matches[0]!;
  return { path: match.path, update: parseImportManifest(match.doc, match.path) };
}
