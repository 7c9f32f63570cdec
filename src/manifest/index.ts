/**
 * Manifest loading and validation: import manifests (v5, also "4.0"), update manifests v4/v5,
 * detached child manifest files and mini manifests, all normalised to the `Update` model.
 * Facts: `reference/adu-agent.md` §5; schemas: SchemaStore `azure-deviceupdate-*-5*.json`.
 */
export { assertChildUpdate } from './child-rules.js';
export { detectManifestForm, isMiniManifest, type ManifestForm } from './detect.js';
export {
  checkFileName,
  describeFile,
  DIGEST_BYTES,
  validateFileName,
  verifyFile,
  type FileDescription,
  type FileNameProblem,
} from './files.js';
export { findChildImportManifest, type FoundChild } from './find-child.js';
export { IMPORT_MANIFEST_VERSIONS, parseImportManifest } from './import-manifest.js';
export { findJsonSyntaxError, MANIFEST_SIZE_LIMIT, parseJsonText, type JsonSyntaxError } from './json-text.js';
export { loadManifestFile, readManifestText, type LoadedManifest } from './load.js';
export { parseMiniManifest, type MiniManifest } from './mini-manifest.js';
export {
  parseDetachedManifestFile,
  parseUpdateManifest,
  UPDATE_MANIFEST_VERSION_MAX,
  UPDATE_MANIFEST_VERSION_MIN,
} from './update-manifest.js';
export { manifestInvalid, type Violation } from './violations.js';
