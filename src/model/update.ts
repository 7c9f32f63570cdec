/**
 * Normalised update model shared by the manifest loader (producer) and the workflow engine
 * (consumer). Import manifests (v5, what a publisher writes) and update manifests (v4/v5, what the
 * service sends) both normalise to {@link Update}. Facts: `reference/adu-agent.md` §5.
 */

export interface UpdateId {
  provider: string;
  name: string;
  version: string;
}

export interface UpdateFile {
  /** File id: the server file id in an update manifest; the file name in an import manifest. */
  id: string;
  /** Plain file name (validated: no path separator, no `..`). */
  fileName: string;
  sizeInBytes: number;
  /** Algorithm → base64 digest. `sha256` is always present after validation. */
  hashes: Record<string, string>;
  properties?: Record<string, unknown>;
}

export interface InlineStep {
  type: 'inline';
  description?: string;
  /** ADU handler id `vendor/name:version`. */
  handler: string;
  /** File ids (keys of {@link Update.files}). */
  files: string[];
  handlerProperties: Record<string, unknown>;
}

export interface ReferenceStep {
  type: 'reference';
  description?: string;
  /** Import manifest form: the child update's id. */
  updateId?: UpdateId;
  /** Update manifest form: the file id of the detached child manifest (`*.updatemanifest.json`). */
  detachedManifestFileId?: string;
}

export type Step = InlineStep | ReferenceStep;

export type ManifestKind = 'import' | 'update';

export interface Update {
  kind: ManifestKind;
  manifestVersion: string;
  updateId: UpdateId;
  description?: string;
  isDeployable: boolean;
  compatibility: Record<string, string>[];
  steps: Step[];
  /** Keyed by file id. */
  files: Record<string, UpdateFile>;
  createdDateTime?: string;
}

/** `{"provider":"..","name":"..","version":".."}`: the ADU `installedUpdateId` string form. */
export function updateIdString(id: UpdateId): string {
  return JSON.stringify({ provider: id.provider, name: id.name, version: id.version });
}

export function updateIdLabel(id: UpdateId): string {
  return `${id.provider}/${id.name}/${id.version}`;
}
