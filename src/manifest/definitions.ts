/**
 * Checks for the definitions both manifest kinds share: update id, compatibility, handler id,
 * handler properties, created date, file hashes and the per-file fields. Limits come from
 * SchemaStore `azure-deviceupdate-manifest-definitions-5.0.json` as summarised in
 * `reference/adu-agent.md` §5.1 and §5.3; each function says where it departs from the schema.
 */
import type { UpdateId } from '../model/update.js';
import { checkFileName, DIGEST_BYTES } from './files.js';
import {
  checkArray,
  checkBoolean,
  checkInteger,
  checkNoUnknownKeys,
  checkObject,
  checkPropertyCount,
  checkRequired,
  checkString,
  pattern,
} from './schema-checks.js';
import { childPath, isPlainObject, type Violations } from './violations.js';

/** `updateId.provider` / `.name`: `^[a-zA-Z0-9.-]+$`, 1–64 (definitions `updateId`). */
export const UPDATE_ID_PART = pattern('^[a-zA-Z0-9.-]+$');
/** `updateId.version`: `^\d+(?:\.\d+)+$`, two to four parts, each 0..2147483647 (definitions `updateId`). */
export const VERSION = pattern('^\\d+(?:\\.\\d+)+$');
/** Handler id and download handler id: `^\S+/\S+:\d{1,5}$`, 5–32 (definitions `inlineStepHandler`). */
export const HANDLER_ID = pattern('^\\S+/\\S+:\\d{1,5}$');

const VERSION_PART_MAX = 2147483647;
/** `sizeInBytes` maximum (definitions `baseFile`): 2 GiB. */
export const MAX_FILE_SIZE = 2147483648;

export function checkUpdateId(v: unknown, path: string, out: Violations): UpdateId | undefined {
  if (!checkObject(v, path, out)) return undefined;
  checkRequired(v, ['provider', 'name', 'version'], path, out);
  checkNoUnknownKeys(v, ['provider', 'name', 'version'], path, out);
  const before = out.size;
  for (const key of ['provider', 'name'] as const) {
    if (v[key] !== undefined)
      checkString(v[key], childPath(path, key), out, { min: 1, max: 64, pattern: UPDATE_ID_PART });
  }
  if (
    v.version !== undefined &&
    checkString(v.version, childPath(path, 'version'), out, { pattern: VERSION }) &&
    VERSION.re.test(v.version)
  ) {
    const parts = v.version.split('.');
    if (parts.length > 4)
      out.add(
        childPath(path, 'version'),
        'version parts 2..4',
        `must have two to four dot-separated parts (has ${parts.length})`,
      );
    const big = parts.find((p) => Number(p) > VERSION_PART_MAX);
    if (big !== undefined)
      out.add(
        childPath(path, 'version'),
        `version part maximum ${VERSION_PART_MAX}`,
        `part ${big} is larger than ${VERSION_PART_MAX}`,
      );
  }
  if (
    out.size !== before ||
    typeof v.provider !== 'string' ||
    typeof v.name !== 'string' ||
    typeof v.version !== 'string'
  )
    return undefined;
  return { provider: v.provider, name: v.name, version: v.version };
}

/**
 * `compatibility`: 1–10 objects of 1–5 string properties, names 1–32, values 1–64. (The published
 * schema nests `propertyNames` inside `additionalProperties`, where it has no effect; the name
 * limit is applied here as the docs state it.)
 */
export function checkCompatibility(v: unknown, path: string, out: Violations): Record<string, string>[] {
  const result: Record<string, string>[] = [];
  if (!checkArray(v, path, out, 1, 10)) return result;
  v.forEach((entry, i) => {
    const at = childPath(path, i);
    if (!checkObject(entry, at, out)) return;
    if (!checkPropertyCount(entry, at, out, 1, 5)) return;
    const props: Record<string, string> = {};
    for (const [key, value] of Object.entries(entry)) {
      const keyAt = childPath(at, key);
      if (key.length < 1) out.add(keyAt, 'propertyNames minLength 1', 'property name must not be empty');
      if (key.length > 32)
        out.add(keyAt, 'propertyNames maxLength 32', `property name must be at most 32 characters (is ${key.length})`);
      if (checkString(value, keyAt, out, { min: 1, max: 64 })) props[key] = value;
    }
    result.push(props);
  });
  return result;
}

/** Step `description`: 1–64 characters (import schema `stepDescription`). */
export function checkStepDescription(v: unknown, path: string, out: Violations): string | undefined {
  return checkString(v, path, out, { min: 1, max: 64 }) ? v : undefined;
}

/** Inline step `handler`: pattern `^\S+/\S+:\d{1,5}$`, length 5–32. */
export function checkHandler(v: unknown, path: string, out: Violations): string | undefined {
  return checkString(v, path, out, { min: 5, max: 32, pattern: HANDLER_ID }) ? v : undefined;
}

/**
 * `handlerProperties` of an inline step. The schemas make it optional, but the ADU agent fails an
 * inline step without it ("Invalid steps workflow collection", ERC 0x8040000d,
 * Azure/iot-hub-device-update#241, `reference/adu-agent.md` §9 item 7), so it is required here.
 * `installedCriteria`, when present, must be a string (the agent reads it as one).
 */
export function checkHandlerProperties(
  step: Record<string, unknown>,
  path: string,
  out: Violations,
): Record<string, unknown> | undefined {
  const at = childPath(path, 'handlerProperties');
  if (step.handlerProperties === undefined) {
    out.add(
      at,
      'required',
      'is required: the ADU agent fails an inline step without it (issue #241); use {} when the handler needs none',
    );
    return undefined;
  }
  if (!checkObject(step.handlerProperties, at, out)) return undefined;
  const criteria = step.handlerProperties.installedCriteria;
  if (criteria !== undefined) checkString(criteria, childPath(at, 'installedCriteria'), out);
  return step.handlerProperties;
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/**
 * `createdDateTime`: an ISO 8601 / RFC 3339 date-time with a zone (`2022-01-27T13:45:05.8993329Z`),
 * and a real calendar date. A zone-less local time is refused: the service always writes UTC.
 */
export function checkDateTime(v: unknown, path: string, out: Violations): string | undefined {
  if (!checkString(v, path, out)) return undefined;
  const m = DATE_TIME.exec(v);
  const n = (i: number): number => Number(m?.[i] ?? 0);
  const daysInMonth = m ? new Date(Date.UTC(n(1), n(2), 0)).getUTCDate() : 0;
  const ok =
    m !== null &&
    n(2) >= 1 &&
    n(2) <= 12 &&
    n(3) >= 1 &&
    n(3) <= daysInMonth &&
    n(4) <= 23 &&
    n(5) <= 59 &&
    n(6) <= 60 &&
    n(7) <= 23 &&
    n(8) <= 59;
  if (!ok) {
    out.add(
      path,
      'format date-time',
      `${JSON.stringify(v)} is not an ISO 8601 date-time with zone, e.g. "2022-01-27T13:45:05.8993329Z"`,
    );
    return undefined;
  }
  return v;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * `hashes`: object with `sha256` required, at most 2 algorithms, names ≤10 characters, values
 * canonical standard base64; for sha1/224/256/384/512 the decoded digest must have the right size.
 * Other algorithm names are accepted (the schema allows them) and ignored by verification.
 */
export function checkHashes(v: unknown, path: string, out: Violations): Record<string, string> | undefined {
  if (!checkObject(v, path, out)) return undefined;
  const before = out.size;
  checkRequired(v, ['sha256'], path, out);
  if (!checkPropertyCount(v, path, out, undefined, 2)) return undefined;
  for (const [algorithm, digest] of Object.entries(v)) {
    const at = childPath(path, algorithm);
    if (algorithm.length > 10)
      out.add(
        at,
        'propertyNames maxLength 10',
        `algorithm name must be at most 10 characters (is ${algorithm.length})`,
      );
    if (!checkString(digest, at, out)) continue;
    if (digest.length === 0 || !BASE64.test(digest) || Buffer.from(digest, 'base64').toString('base64') !== digest) {
      out.add(at, 'base64', `${JSON.stringify(digest)} is not standard base64`);
      continue;
    }
    const want = DIGEST_BYTES[algorithm];
    const got = Buffer.from(digest, 'base64').length;
    if (want !== undefined && got !== want)
      out.add(at, `digest length ${want}`, `a ${algorithm} digest has ${want} bytes, this one decodes to ${got}`);
  }
  return out.size === before ? (v as Record<string, string>) : undefined;
}

/** A file name value: type string, then {@link checkFileName}. */
export function checkFileNameValue(v: unknown, path: string, out: Violations): string | undefined {
  if (!checkString(v, path, out)) return undefined;
  const problem = checkFileName(v);
  if (problem) out.add(path, problem.rule, problem.message);
  return problem ? undefined : v;
}

/** Which spellings of the file name key a manifest kind accepts. */
export type FileNameKeys = 'filename' | 'filename|fileName';

/**
 * The name of a file entry. Import manifests use `filename` (schema and tooling). Update manifests
 * as the ADU agent reads them use `fileName` (`ADUCITF_FIELDNAME_FILENAME`), while the schema says
 * `filename`; which one the service emits is unverified (§5.1), so both are accepted there and must
 * agree when both are present.
 */
export function checkEntryName(
  entry: Record<string, unknown>,
  path: string,
  out: Violations,
  keys: FileNameKeys,
): string | undefined {
  if (keys === 'filename') {
    if (entry.filename !== undefined) return checkFileNameValue(entry.filename, childPath(path, 'filename'), out);
    const spelled = entry.fileName !== undefined ? ' (import manifests spell it "filename", not "fileName")' : '';
    out.add(childPath(path, 'filename'), 'required', `is required${spelled}`);
    return undefined;
  }
  if (entry.fileName === undefined && entry.filename === undefined) {
    out.add(childPath(path, 'fileName'), 'required', 'is required ("fileName", or "filename" as in the schema)');
    return undefined;
  }
  if (entry.fileName !== undefined && entry.filename !== undefined && entry.fileName !== entry.filename) {
    out.add(childPath(path, 'filename'), 'fileName = filename', 'differs from "fileName"; give the name once');
    return undefined;
  }
  const key = entry.fileName !== undefined ? 'fileName' : 'filename';
  return checkFileNameValue(entry[key], childPath(path, key), out);
}

/** The validated parts of a file entry other than its name. */
export interface FileFields {
  sizeInBytes: number;
  hashes: Record<string, string>;
  properties?: Record<string, unknown>;
}

/**
 * `sizeInBytes` (integer 1..2147483648; the schema says number, a byte count is whole), `hashes`,
 * `properties` (pass-through object), and for full file entries `relatedFiles` (0–4 base files)
 * and `downloadHandler` (`{id}` with the handler id pattern). Unknown keys are allowed (the schema
 * has no `additionalProperties:false` on files).
 */
export function checkFileFields(
  entry: Record<string, unknown>,
  path: string,
  out: Violations,
  keys: FileNameKeys,
  full = true,
): FileFields | undefined {
  const before = out.size;
  checkRequired(entry, ['sizeInBytes', 'hashes'], path, out);
  const size = entry.sizeInBytes;
  if (size !== undefined) checkInteger(size, childPath(path, 'sizeInBytes'), out, 1, MAX_FILE_SIZE);
  const hashes = entry.hashes === undefined ? undefined : checkHashes(entry.hashes, childPath(path, 'hashes'), out);
  if (entry.properties !== undefined) checkObject(entry.properties, childPath(path, 'properties'), out);
  if (full && entry.relatedFiles !== undefined) {
    const at = childPath(path, 'relatedFiles');
    if (checkArray(entry.relatedFiles, at, out, 0, 4)) {
      entry.relatedFiles.forEach((related, i) => {
        const rAt = childPath(at, i);
        if (!checkObject(related, rAt, out)) return;
        checkEntryName(related, rAt, out, keys);
        checkFileFields(related, rAt, out, keys, false);
      });
    }
  }
  if (full && entry.downloadHandler !== undefined) {
    const at = childPath(path, 'downloadHandler');
    if (checkObject(entry.downloadHandler, at, out)) {
      checkRequired(entry.downloadHandler, ['id'], at, out);
      if (entry.downloadHandler.id !== undefined) checkHandler(entry.downloadHandler.id, childPath(at, 'id'), out);
    }
  }
  if (out.size !== before || typeof size !== 'number' || !hashes) return undefined;
  const fields: FileFields = { sizeInBytes: size, hashes: { ...hashes } };
  if (isPlainObject(entry.properties)) fields.properties = entry.properties;
  return fields;
}

/** `isDeployable` (boolean, default true). */
export function checkIsDeployable(v: unknown, path: string, out: Violations): boolean {
  if (v === undefined) return true;
  return checkBoolean(v, path, out) ? v : true;
}
