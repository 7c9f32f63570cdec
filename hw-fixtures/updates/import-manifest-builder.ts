import { createHash } from 'node:crypto';
import { chmod, copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Writes ADU import manifests v5 (with correct sizes and SHA-256 hashes) for test and demo
 * updates. Files are written first, then the manifest lists them.
 */
export interface StepSpec {
  description?: string;
  handler: string;
  files: string[];
  handlerProperties: Record<string, unknown>;
}

export interface ImportManifestSpec {
  updateId: { provider: string; name: string; version: string };
  compatibility: Record<string, string>[];
  isDeployable?: boolean;
  description?: string;
  steps: Array<StepSpec | { type: 'reference'; description?: string; updateId: { provider: string; name: string; version: string } }>;
  /** Extra files to list even if no step names them. */
  extraFiles?: string[];
}

export async function fileEntry(dir: string, name: string): Promise<{ filename: string; sizeInBytes: number; hashes: { sha256: string } }> {
  const data = await readFile(join(dir, name));
  return { filename: name, sizeInBytes: data.length, hashes: { sha256: createHash('sha256').update(data).digest('base64') } };
}

/** Writes `<dir>/<fileName>` for the spec and returns its path. */
export async function writeImportManifest(dir: string, fileName: string, spec: ImportManifestSpec): Promise<string> {
  const names = new Set<string>(spec.extraFiles ?? []);
  for (const s of spec.steps) if (!('type' in s)) s.files.forEach((f) => names.add(f));
  const files = [];
  for (const n of names) files.push(await fileEntry(dir, n));
  const doc = {
    updateId: spec.updateId,
    ...(spec.description && { description: spec.description }),
    isDeployable: spec.isDeployable ?? true,
    compatibility: spec.compatibility,
    instructions: {
      steps: spec.steps.map((s) => ('type' in s ? s : { type: 'inline', ...s })),
    },
    files,
    createdDateTime: '2026-11-23T12:00:00Z',
    manifestVersion: '5.0',
  };
  const path = join(dir, fileName);
  await writeFile(path, JSON.stringify(doc, null, 2) + '\n');
  return path;
}

/** Copies a script into an update folder under the name the manifest uses, executable. */
export async function copyScript(src: string, dir: string, name: string): Promise<void> {
  await copyFile(src, join(dir, name));
  await chmod(join(dir, name), 0o755);
}
