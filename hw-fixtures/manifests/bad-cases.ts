/**
 * One broken manifest per validation rule: a named good fixture, a mutation that breaks exactly one
 * rule, and the violation the validator must report (JSONPath + rule). The rule tests run every
 * case; a case with `count` expects that many violations in total, otherwise exactly one.
 */
import type { FixtureName } from './fixture-dir.js';

/** A parsed JSON fixture under mutation; deliberately loose, fixtures are edited freely. */
export type Doc = any;

export interface BadCase {
  name: string;
  base: FixtureName;
  /** Which parser the case goes through. */
  parser: 'import' | 'update' | 'mini' | 'detached';
  /** Edits the parsed fixture in place, or returns a replacement document. */
  mutate(doc: Doc): Doc | void;
  path: string;
  rule: string;
  /** Total number of violations expected (default 1). */
  count?: number;
}

const HANDLER = 'pattern ^\\S+/\\S+:\\d{1,5}$';
const B64_16 = Buffer.alloc(16, 7).toString('base64');
const B64_32 = Buffer.alloc(32, 7).toString('base64');
const range = (n: number): number[] => [...Array(n).keys()];
const imp = (name: string, mutate: (d: Doc) => Doc | void, path: string, rule: string, count?: number): BadCase =>
  ({ name, base: 'importChild', parser: 'import', mutate, path, rule, ...(count ? { count } : {}) });
const upd = (name: string, mutate: (d: Doc) => Doc | void, path: string, rule: string, count?: number): BadCase =>
  ({ name, base: 'update', parser: 'update', mutate, path, rule, ...(count ? { count } : {}) });

export const BAD_CASES: BadCase[] = [
  // --- document and updateId ---
  imp('document is an array', (d) => [d], '$', 'type object'),
  imp('updateId missing', (d) => { delete d.updateId; }, '$.updateId', 'required'),
  imp('provider with a space', (d) => { d.updateId.provider = 'con toso'; }, '$.updateId.provider', 'pattern ^[a-zA-Z0-9.-]+$'),
  imp('provider too long', (d) => { d.updateId.provider = 'p'.repeat(65); }, '$.updateId.provider', 'maxLength 64'),
  imp('name empty', (d) => { d.updateId.name = ''; }, '$.updateId.name', 'minLength 1'),
  imp('name with underscore', (d) => { d.updateId.name = 'virtual_camera'; }, '$.updateId.name', 'pattern ^[a-zA-Z0-9.-]+$'),
  imp('updateId unknown key', (d) => { d.updateId.build = '7'; }, '$.updateId.build', 'additionalProperties false'),
  imp('version one part', (d) => { d.updateId.version = '1'; }, '$.updateId.version', 'pattern ^\\d+(?:\\.\\d+)+$'),
  imp('version five parts', (d) => { d.updateId.version = '1.2.3.4.5'; }, '$.updateId.version', 'version parts 2..4'),
  imp('version part too big', (d) => { d.updateId.version = '1.2147483648'; }, '$.updateId.version', 'version part maximum 2147483647'),
  imp('version a number', (d) => { d.updateId.version = 1.2; }, '$.updateId.version', 'type string'),
  imp('description too long', (d) => { d.description = 'd'.repeat(513); }, '$.description', 'maxLength 512'),
  imp('isDeployable a string', (d) => { d.isDeployable = 'false'; }, '$.isDeployable', 'type boolean'),
  imp('manifestVersion 5', (d) => { d.manifestVersion = '5'; }, '$.manifestVersion', 'enum 5.0,4.0'),
  imp('manifestVersion missing', (d) => { delete d.manifestVersion; }, '$.manifestVersion', 'required'),
  imp('createdDateTime missing', (d) => { delete d.createdDateTime; }, '$.createdDateTime', 'required'),
  imp('createdDateTime not a date', (d) => { d.createdDateTime = 'yesterday'; }, '$.createdDateTime', 'format date-time'),
  imp('createdDateTime 30 February', (d) => { d.createdDateTime = '2021-02-30T10:00:00Z'; }, '$.createdDateTime', 'format date-time'),
  imp('createdDateTime without zone', (d) => { d.createdDateTime = '2021-11-17T07:22:09'; }, '$.createdDateTime', 'format date-time'),
  // --- compatibility ---
  imp('compatibility missing', (d) => { delete d.compatibility; }, '$.compatibility', 'required'),
  imp('compatibility empty', (d) => { d.compatibility = []; }, '$.compatibility', 'minItems 1'),
  imp('compatibility 11 entries', (d) => { d.compatibility = range(11).map((i) => ({ group: `g${i}` })); }, '$.compatibility', 'maxItems 10'),
  imp('compatibility entry empty', (d) => { d.compatibility[0] = {}; }, '$.compatibility[0]', 'minProperties 1'),
  imp('compatibility entry 6 properties', (d) => { d.compatibility[0] = Object.fromEntries(range(6).map((i) => [`k${i}`, 'v'])); }, '$.compatibility[0]', 'maxProperties 5'),
  imp('compatibility key 33 chars', (d) => { d.compatibility[0] = { ['k'.repeat(33)]: 'v' }; }, `$.compatibility[0].${'k'.repeat(33)}`, 'propertyNames maxLength 32'),
  imp('compatibility value empty', (d) => { d.compatibility[0].group = ''; }, '$.compatibility[0].group', 'minLength 1'),
  imp('compatibility value 65 chars', (d) => { d.compatibility[0].group = 'g'.repeat(65); }, '$.compatibility[0].group', 'maxLength 64'),
  imp('compatibility value a number', (d) => { d.compatibility[0].group = 3; }, '$.compatibility[0].group', 'type string'),
  // --- instructions and inline steps ---
  imp('instructions missing', (d) => { delete d.instructions; }, '$.instructions', 'required'),
  imp('instructions unknown key', (d) => { d.instructions.order = 'strict'; }, '$.instructions.order', 'additionalProperties false'),
  imp('steps missing', (d) => { delete d.instructions.steps; }, '$.instructions.steps', 'required'),
  imp('steps empty', (d) => { d.instructions.steps = []; }, '$.instructions.steps', 'minItems 1'),
  imp('steps 11', (d) => { d.instructions.steps = range(11).map(() => d.instructions.steps[0]); }, '$.instructions.steps', 'maxItems 10'),
  imp('step type unknown', (d) => { d.instructions.steps[0].type = 'script'; }, '$.instructions.steps[0].type', 'enum inline,reference'),
  imp('step unknown key', (d) => { d.instructions.steps[0].timeout = 5; }, '$.instructions.steps[0].timeout', 'additionalProperties false'),
  imp('handler missing', (d) => { delete d.instructions.steps[1].handler; }, '$.instructions.steps[1].handler', 'required'),
  imp('handler without version', (d) => { d.instructions.steps[1].handler = 'microsoft/script'; }, '$.instructions.steps[1].handler', HANDLER),
  imp('handler too short', (d) => { d.instructions.steps[1].handler = 'a/:1'; }, '$.instructions.steps[1].handler', 'minLength 5'),
  imp('handler too long', (d) => { d.instructions.steps[1].handler = `vendor/${'x'.repeat(24)}:1`; }, '$.instructions.steps[1].handler', 'maxLength 32'),
  imp('step description empty', (d) => { d.instructions.steps[0].description = ''; }, '$.instructions.steps[0].description', 'minLength 1'),
  imp('step description 65 chars', (d) => { d.instructions.steps[0].description = 's'.repeat(65); }, '$.instructions.steps[0].description', 'maxLength 64'),
  imp('step files missing', (d) => { delete d.instructions.steps[0].files; }, '$.instructions.steps[0].files', 'required'),
  imp('step files empty', (d) => { d.instructions.steps[0].files = []; }, '$.instructions.steps[0].files', 'minItems 1'),
  imp('step files 11', (d) => { d.instructions.steps[0].files = range(11).map(() => 'camera-firmware-1.1.json'); }, '$.instructions.steps[0].files', 'maxItems 10'),
  imp('step file not in files', (d) => { d.instructions.steps[1].files[1] = 'camera-firmware-9.9.json'; }, '$.instructions.steps[1].files[1]', 'exists in files'),
  imp('step file name case differs', (d) => { d.instructions.steps[1].files[1] = 'Camera-Firmware-1.1.json'; }, '$.instructions.steps[1].files[1]', 'exists in files'),
  imp('step file name with ..', (d) => { d.instructions.steps[0].files[0] = '..'; }, '$.instructions.steps[0].files[0]', 'file name: no ..'),
  imp('handlerProperties missing (issue #241)', (d) => { delete d.instructions.steps[2].handlerProperties; }, '$.instructions.steps[2].handlerProperties', 'required'),
  imp('handlerProperties an array', (d) => { d.instructions.steps[2].handlerProperties = []; }, '$.instructions.steps[2].handlerProperties', 'type object'),
  imp('installedCriteria a number', (d) => { d.instructions.steps[0].handlerProperties.installedCriteria = 12; }, '$.instructions.steps[0].handlerProperties.installedCriteria', 'type string'),
  imp('inline step carrying updateId', (d) => { d.instructions.steps[0].updateId = { provider: 'a', name: 'b', version: '1.0' }; }, '$.instructions.steps[0].updateId', 'additionalProperties false'),
  // --- import files ---
  imp('files an object', (d) => { d.files = {}; }, '$.files', 'type array'),
  imp('files 11', (d) => { d.files = range(11).map((i) => ({ ...d.files[0], filename: `f${i}.bin` })); d.instructions.steps = [{ handler: 'a/b:1', files: ['f0.bin'], handlerProperties: {} }]; }, '$.files', 'maxItems 10'),
  imp('files over 2 GiB in total', (d) => { d.files[0].sizeInBytes = 2147483648; d.files[1].sizeInBytes = 2; }, '$.files', 'total sizeInBytes maximum 2147483648'),
  imp('file entry spelled fileName', (d) => { d.files[1].fileName = d.files[1].filename; delete d.files[1].filename; }, '$.files[1].filename', 'required'),
  imp('file name with slash', (d) => { d.files[1].filename = 'fw/camera.json'; }, '$.files[1].filename', 'file name: no path separator', 2),
  imp('file name with backslash', (d) => { d.files[1].filename = 'fw\\camera.json'; }, '$.files[1].filename', 'file name: no path separator', 2),
  imp('file name ..', (d) => { d.files[1].filename = '..'; }, '$.files[1].filename', 'file name: no ..', 2),
  imp('file name empty', (d) => { d.files[1].filename = ''; }, '$.files[1].filename', 'minLength 1', 2),
  imp('file name 256 chars', (d) => { d.files[1].filename = 'n'.repeat(256); }, '$.files[1].filename', 'maxLength 255', 2),
  imp('file name 256 UTF-8 bytes', (d) => { d.files[1].filename = 'é'.repeat(128); }, '$.files[1].filename', 'maxBytes 255', 2),
  imp('file name with NUL', (d) => { d.files[1].filename = 'cam\u0000.json'; }, '$.files[1].filename', 'file name: no NUL', 2),
  imp('file names equal ignoring case', (d) => { d.files[1].filename = 'CONTOSO-camera-installscript.sh'; }, '$.files[1].filename', 'unique (case-insensitive)', 2),
  imp('sizeInBytes missing', (d) => { delete d.files[0].sizeInBytes; }, '$.files[0].sizeInBytes', 'required'),
  imp('sizeInBytes 0', (d) => { d.files[0].sizeInBytes = 0; }, '$.files[0].sizeInBytes', 'minimum 1'),
  imp('sizeInBytes over 2 GiB', (d) => { d.files[0].sizeInBytes = 2147483649; }, '$.files[0].sizeInBytes', 'maximum 2147483648', 2),
  imp('sizeInBytes fractional', (d) => { d.files[0].sizeInBytes = 10.5; }, '$.files[0].sizeInBytes', 'type integer'),
  imp('sizeInBytes a string', (d) => { d.files[0].sizeInBytes = '120'; }, '$.files[0].sizeInBytes', 'type integer'),
  imp('hashes missing', (d) => { delete d.files[0].hashes; }, '$.files[0].hashes', 'required'),
  imp('hashes without sha256', (d) => { d.files[0].hashes = { sha512: Buffer.alloc(64).toString('base64') }; }, '$.files[0].hashes.sha256', 'required'),
  imp('hashes with 3 algorithms', (d) => { d.files[0].hashes.sha1 = Buffer.alloc(20).toString('base64'); d.files[0].hashes.sha384 = Buffer.alloc(48).toString('base64'); }, '$.files[0].hashes', 'maxProperties 2'),
  imp('sha256 not base64', (d) => { d.files[0].hashes.sha256 = 'not base64!'; }, '$.files[0].hashes.sha256', 'base64'),
  imp('sha256 base64url', (d) => { d.files[0].hashes.sha256 = B64_32.replace(/B/g, '-'); }, '$.files[0].hashes.sha256', 'base64'),
  imp('sha256 hex', (d) => { d.files[0].hashes.sha256 = 'ab'.repeat(32); }, '$.files[0].hashes.sha256', 'digest length 32'),
  imp('sha256 of 16 bytes', (d) => { d.files[0].hashes.sha256 = B64_16; }, '$.files[0].hashes.sha256', 'digest length 32'),
  imp('sha1 of 32 bytes', (d) => { d.files[0].hashes.sha1 = B64_32; }, '$.files[0].hashes.sha1', 'digest length 20'),
  imp('hash algorithm name 11 chars', (d) => { d.files[0].hashes['sha3-256abc'] = B64_32; }, "$.files[0].hashes['sha3-256abc']", 'propertyNames maxLength 10'),
  imp('file properties a string', (d) => { d.files[0].properties = 'x'; }, '$.files[0].properties', 'type object'),
  imp('relatedFiles 5', (d) => { d.files[0].relatedFiles = range(5).map((i) => ({ filename: `r${i}`, sizeInBytes: 1, hashes: { sha256: B64_32 } })); }, '$.files[0].relatedFiles', 'maxItems 4'),
  imp('relatedFile without hashes', (d) => { d.files[0].relatedFiles = [{ filename: 'r.bin', sizeInBytes: 1 }]; }, '$.files[0].relatedFiles[0].hashes', 'required'),
  imp('downloadHandler without id', (d) => { d.files[0].downloadHandler = {}; }, '$.files[0].downloadHandler.id', 'required'),
  imp('downloadHandler id pattern', (d) => { d.files[0].downloadHandler = { id: 'microsoft-delta' }; }, '$.files[0].downloadHandler.id', HANDLER),
  // --- import reference steps ---
  { name: 'reference step without updateId', base: 'importParent', parser: 'import', mutate: (d) => { delete d.instructions.steps[0].updateId; }, path: '$.instructions.steps[0].updateId', rule: 'required' },
  { name: 'reference step with a bad child version', base: 'importParent', parser: 'import', mutate: (d) => { d.instructions.steps[0].updateId.version = 'v1'; }, path: '$.instructions.steps[0].updateId.version', rule: 'pattern ^\\d+(?:\\.\\d+)+$' },
  { name: 'import reference step with detachedManifestFileId', base: 'importParent', parser: 'import', mutate: (d) => { d.instructions.steps[0].detachedManifestFileId = 'f1'; }, path: '$.instructions.steps[0].detachedManifestFileId', rule: 'additionalProperties false' },
  { name: 'reference step with a handler', base: 'importParent', parser: 'import', mutate: (d) => { d.instructions.steps[0].handler = 'a/b:1'; }, path: '$.instructions.steps[0].handler', rule: 'additionalProperties false' },
  // --- update manifests ---
  upd('manifestVersion 3', (d) => { d.manifestVersion = '3'; }, '$.manifestVersion', 'supported range 4..5'),
  upd('manifestVersion 6.0', (d) => { d.manifestVersion = '6.0'; }, '$.manifestVersion', 'supported range 4..5'),
  upd('manifestVersion v5', (d) => { d.manifestVersion = 'v5'; }, '$.manifestVersion', 'pattern ^\\d+(?:\\.\\d+)?$'),
  upd('manifestVersion a number', (d) => { d.manifestVersion = 5; }, '$.manifestVersion', 'type string'),
  upd('update files missing', (d) => { delete d.files; }, '$.files', 'required'),
  upd('update files empty', (d) => { d.files = {}; }, '$.files', 'minProperties 1', 3),
  upd('update files 21', (d) => { const f = d.files.f483750ebb885d32c; d.files = Object.fromEntries(range(21).map((i) => [`id${i}`, { ...f, fileName: `f${i}` }])); d.instructions.steps = [{ handler: 'a/b:1', files: ['id0'], handlerProperties: {} }]; }, '$.files', 'maxProperties 20'),
  upd('update files an array', (d) => { d.files = [d.files.f483750ebb885d32c]; d.instructions.steps = [{ handler: 'a/b:1', files: ['x'], handlerProperties: {} }]; }, '$.files', 'type object'),
  upd('empty file id', (d) => { d.files[''] = d.files.f2c5d4cb3a5f4c4a1; delete d.files.f2c5d4cb3a5f4c4a1; d.instructions.steps.length = 1; }, "$.files['']", 'propertyNames minLength 1'),
  upd('step names an unknown file id', (d) => { d.instructions.steps[1].files = ['f000']; }, '$.instructions.steps[1].files[0]', 'exists in files'),
  upd('step names a file by name', (d) => { d.instructions.steps[1].files = ['apt-manifest-tree-1.0.json']; }, '$.instructions.steps[1].files[0]', 'exists in files'),
  upd('fileName and filename differ', (d) => { d.files.f483750ebb885d32c.filename = 'other.json'; }, '$.files.f483750ebb885d32c.filename', 'fileName = filename'),
  upd('file entry without a name', (d) => { delete d.files.f483750ebb885d32c.fileName; }, '$.files.f483750ebb885d32c.fileName', 'required'),
  upd('file names equal ignoring case (update)', (d) => { d.files.f2c5d4cb3a5f4c4a1.filename = 'APT-manifest-1.0.json'; }, '$.files.f2c5d4cb3a5f4c4a1.filename', 'unique (case-insensitive)'),
  upd('update file hash wrong size', (d) => { d.files.f2c5d4cb3a5f4c4a1.hashes.sha256 = B64_16; }, '$.files.f2c5d4cb3a5f4c4a1.hashes.sha256', 'digest length 32'),
  upd('update handlerProperties missing', (d) => { delete d.instructions.steps[0].handlerProperties; }, '$.instructions.steps[0].handlerProperties', 'required'),
  upd('update createdDateTime missing', (d) => { delete d.createdDateTime; }, '$.createdDateTime', 'required'),
  upd('update compatibility missing', (d) => { delete d.compatibility; }, '$.compatibility', 'required'),
  { name: 'detachedManifestFileId names no file', base: 'updateParent', parser: 'update', mutate: (d) => { d.instructions.steps[0].detachedManifestFileId = 'f000'; }, path: '$.instructions.steps[0].detachedManifestFileId', rule: 'exists in files' },
  { name: 'update reference step without detachedManifestFileId', base: 'updateParent', parser: 'update', mutate: (d) => { delete d.instructions.steps[0].detachedManifestFileId; }, path: '$.instructions.steps[0].detachedManifestFileId', rule: 'required' },
  { name: 'update reference step with updateId', base: 'updateParent', parser: 'update', mutate: (d) => { d.instructions.steps[0].updateId = { provider: 'a', name: 'b', version: '1.0' }; }, path: '$.instructions.steps[0].updateId', rule: 'additionalProperties false' },
  { name: 'reference step without type', base: 'updateParent', parser: 'update', mutate: (d) => { delete d.instructions.steps[0].type; }, path: '$.instructions.steps[0].detachedManifestFileId', rule: 'additionalProperties false', count: 4 },
  // --- mini and detached ---
  { name: 'mini manifest with two files', base: 'mini', parser: 'mini', mutate: (d) => { d.files.other = { ...Object.values(d.files)[0] as object, fileName: 'other.json' }; }, path: '$.files', rule: 'maxProperties 1' },
  { name: 'mini detachedManifestFileId names no file', base: 'mini', parser: 'mini', mutate: (d) => { d.detachedManifestFileId = 'f000'; }, path: '$.detachedManifestFileId', rule: 'exists in files' },
  { name: 'mini manifestVersion 7', base: 'mini', parser: 'mini', mutate: (d) => { d.manifestVersion = '7'; }, path: '$.manifestVersion', rule: 'supported range 4..5' },
  { name: 'detached file without updateManifest', base: 'detachedParent', parser: 'detached', mutate: (d) => { d.manifest = d.updateManifest; delete d.updateManifest; }, path: '$.updateManifest', rule: 'required' },
  { name: 'detached object manifest broken', base: 'detachedParent', parser: 'detached', mutate: (d) => { d.updateManifest.manifestVersion = '9'; }, path: '$.updateManifest.manifestVersion', rule: 'supported range 4..5' },
  { name: 'detached string manifest broken', base: 'detachedChild', parser: 'detached', mutate: (d) => { const m = JSON.parse(d.updateManifest); m.instructions.steps[0].handler = 'script'; d.updateManifest = JSON.stringify(m); }, path: '$.instructions.steps[0].handler', rule: HANDLER },
];
