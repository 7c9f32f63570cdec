/**
 * Payload files named by a manifest: the file-name rule both parsers apply, streaming verification
 * of a file on disk against its manifest entry (size first, then every digest node can compute),
 * and {@link describeFile} to build import-manifest entries in tests and tools.
 *
 * The manifest is the only trust anchor for payloads (`reference/adu-agent.md` §5.4 step 8): the
 * ADU agent compares SHA-256 after download and fails with 0x4000000c on a mismatch.
 */
import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { SensorProxyError } from '../model/errors.js';
import type { UpdateFile } from '../model/update.js';
import { manifestInvalid } from './violations.js';

/** Digest algorithms the ADU agent supports (sha1/224/256/384/512, §5.1) and their digest sizes in bytes. */
export const DIGEST_BYTES: Readonly<Record<string, number>> = Object.freeze({
  sha1: 20,
  sha224: 28,
  sha256: 32,
  sha384: 48,
  sha512: 64,
});

/** Longest file name: JSON schema `filename.maxLength` 255, and Linux NAME_MAX is 255 bytes. */
export const MAX_FILE_NAME = 255;

/** Why a file name is rejected: a rule name (as in violations) and a sentence. */
export interface FileNameProblem {
  rule: string;
  message: string;
}

/**
 * Checks a payload file name: not empty, at most 255 characters and 255 UTF-8 bytes, no `/` or `\`,
 * no `..` anywhere and not `.`, no NUL. Names are joined to a work folder, so anything that could
 * leave it is refused. Returns the first problem, or undefined when the name is fine.
 */
export function checkFileName(name: string): FileNameProblem | undefined {
  if (name.length === 0) return { rule: 'minLength 1', message: 'file name must not be empty' };
  if (name.length > MAX_FILE_NAME)
    return {
      rule: `maxLength ${MAX_FILE_NAME}`,
      message: `file name must be at most ${MAX_FILE_NAME} characters (is ${name.length})`,
    };
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > MAX_FILE_NAME)
    return {
      rule: `maxBytes ${MAX_FILE_NAME}`,
      message: `file name must be at most ${MAX_FILE_NAME} bytes in UTF-8 (is ${bytes})`,
    };
  if (name.includes('\0')) return { rule: 'file name: no NUL', message: 'file name must not contain a NUL character' };
  if (name.includes('/') || name.includes('\\'))
    return {
      rule: 'file name: no path separator',
      message: `file name ${JSON.stringify(name)} must not contain "/" or "\\"`,
    };
  if (name === '.' || name.includes('..'))
    return { rule: 'file name: no ..', message: `file name ${JSON.stringify(name)} must not be "." or contain ".."` };
  return undefined;
}

/** Throws `FILE_NAME_INVALID` (details `{ fileName, rule }`) when {@link checkFileName} finds a problem. */
export function validateFileName(name: string): void {
  const problem = checkFileName(name);
  if (!problem) return;
  throw new SensorProxyError('FILE_NAME_INVALID', problem.message, {
    details: { fileName: name, rule: problem.rule },
    hint: 'use a plain file name without directories',
  });
}

function cancelled(signal: AbortSignal): SensorProxyError {
  return new SensorProxyError('WORKFLOW_CANCELLED', 'file verification cancelled', { cause: signal.reason });
}

function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function missing(path: string, fileName: string, cause?: unknown): SensorProxyError {
  return new SensorProxyError('FILE_MISSING', `${path}: payload file ${JSON.stringify(fileName)} is missing`, {
    details: { path, fileName },
    hint: 'put the payload files next to the manifest, or pass --files DIR',
    cause,
  });
}

/** Read size of {@link hashFile}: one buffer of 256 KiB, reused for every read. */
const HASH_READ_BYTES = 256 * 1024;

/**
 * Streams `path` once through every algorithm in `algorithms`; returns the byte count and base64
 * digests. Reads into one reused buffer (hashing copies nothing out of it), so a file of any size
 * leaves no chunk garbage behind, unlike a read stream's fresh Buffer per chunk.
 */
async function hashFile(
  path: string,
  algorithms: string[],
  signal: AbortSignal | undefined,
): Promise<{ size: number; digests: Record<string, string> }> {
  if (signal?.aborted) throw cancelled(signal);
  const hashers = algorithms.map((a) => createHash(a));
  const buffer = Buffer.allocUnsafe(HASH_READ_BYTES);
  let size = 0;
  const file = await open(path, 'r');
  try {
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, size);
      if (signal?.aborted) throw cancelled(signal);
      if (bytesRead === 0) break;
      size += bytesRead;
      const bytes = buffer.subarray(0, bytesRead);
      for (const h of hashers) h.update(bytes);
    }
  } finally {
    await file.close();
  }
  const digests: Record<string, string> = {};
  algorithms.forEach((a, i) => (digests[a] = hashers[i]!.digest('base64')));
  return { size, digests };
}

/**
 * Verifies the file at `path` against its manifest entry: it must exist and be a regular file, have
 * exactly `sizeInBytes` bytes (checked before reading), and match every digest in `hashes` whose
 * algorithm node supports ({@link DIGEST_BYTES}); `sha256` is mandatory. The file is streamed, never
 * held in memory.
 *
 * @throws SensorProxyError `FILE_MISSING`; `FILE_SIZE_MISMATCH` / `FILE_HASH_MISMATCH` with
 *   `details.expected` / `details.actual` (bytes, or base64 digests plus `algorithm`);
 *   `MANIFEST_INVALID` when the entry has no `sha256`; `WORKFLOW_CANCELLED` when `signal` fires.
 */
export async function verifyFile(path: string, file: UpdateFile, signal?: AbortSignal): Promise<void> {
  if (typeof file.hashes.sha256 !== 'string') {
    throw manifestInvalid(
      path,
      [
        {
          path: '$.hashes.sha256',
          rule: 'required',
          message: `file ${JSON.stringify(file.fileName)} has no sha256 digest to verify against`,
        },
      ],
      'file entry',
    );
  }
  if (signal?.aborted) throw cancelled(signal);
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    if (isMissing(e)) throw missing(path, file.fileName, e);
    throw e;
  }
  if (!st.isFile()) throw missing(path, file.fileName);
  const sizeMismatch = (actual: number): SensorProxyError =>
    new SensorProxyError(
      'FILE_SIZE_MISMATCH',
      `${path}: ${file.fileName} has ${actual} bytes, the manifest says ${file.sizeInBytes}`,
      {
        details: { path, fileName: file.fileName, expected: file.sizeInBytes, actual },
        hint: 'this is not the file the manifest describes: fetch it again, or regenerate the manifest entry from this file',
      },
    );
  if (st.size !== file.sizeInBytes) throw sizeMismatch(st.size);

  // sha256 first so it is the digest reported when several disagree.
  const algorithms = ['sha256', ...Object.keys(file.hashes).filter((a) => a !== 'sha256' && a in DIGEST_BYTES)];
  let result;
  try {
    result = await hashFile(path, algorithms, signal);
  } catch (e) {
    if (isMissing(e)) throw missing(path, file.fileName, e);
    throw e;
  }
  // The file may have changed between stat and read.
  if (result.size !== file.sizeInBytes) throw sizeMismatch(result.size);
  for (const algorithm of algorithms) {
    const expected = file.hashes[algorithm];
    const actual = result.digests[algorithm];
    if (expected === actual) continue;
    throw new SensorProxyError(
      'FILE_HASH_MISMATCH',
      `${path}: ${algorithm} of ${file.fileName} is ${actual}, the manifest says ${expected}`,
      {
        details: { path, fileName: file.fileName, algorithm, expected, actual },
        hint: 'the file is corrupt or not the one the manifest describes: fetch it again, or regenerate the manifest entry from this file',
      },
    );
  }
}

/** An import-manifest `files[]` entry for a file on disk. */
export interface FileDescription {
  filename: string;
  sizeInBytes: number;
  hashes: { sha256: string };
}

/**
 * Builds the import-manifest entry of a file: its base name, size and base64 SHA-256 (streamed).
 * @throws SensorProxyError `FILE_MISSING`, `WORKFLOW_CANCELLED`.
 */
export async function describeFile(path: string, signal?: AbortSignal): Promise<FileDescription> {
  try {
    const { size, digests } = await hashFile(path, ['sha256'], signal);
    return { filename: basename(path), sizeInBytes: size, hashes: { sha256: digests.sha256! } };
  } catch (e) {
    if (isMissing(e) || (e as NodeJS.ErrnoException | undefined)?.code === 'EISDIR')
      throw missing(path, basename(path), e);
    throw e;
  }
}
