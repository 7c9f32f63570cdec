/**
 * `instructions.steps` for both manifest kinds. The two differ only in how a step names things:
 * an import manifest's inline step lists file *names* and its reference step carries the child's
 * `updateId`; an update manifest's inline step lists file *ids* (keys of `files`) and its reference
 * step carries `detachedManifestFileId`. Everything else (1–10 steps, handler, handlerProperties,
 * `additionalProperties:false`) is shared.
 *
 * Step type: a missing `type` means inline, as the ADU agent's `workflow_is_inline_step` and the
 * docs say (`reference/adu-agent.md` §5.1); the normalised {@link Step} always carries it.
 */
import type { InlineStep, ReferenceStep, Step } from '../model/update.js';
import {
  checkFileNameValue,
  checkHandler,
  checkHandlerProperties,
  checkStepDescription,
  checkUpdateId,
} from './definitions.js';
import { checkArray, checkNoUnknownKeys, checkObject, checkRequired, checkString } from './schema-checks.js';
import { childPath, type Violations } from './violations.js';

/** What differs between the manifest kinds. */
export interface StepForm {
  kind: 'import' | 'update';
  /**
   * The keys of `files` (import: file names; update: file ids), or undefined when `files` itself
   * has the wrong type: then step references are not checked (that would only repeat the error).
   */
  fileKeys: ReadonlySet<string> | undefined;
}

const INLINE_KEYS = ['type', 'description', 'handler', 'files', 'handlerProperties'] as const;
// The update-manifest schema lists no `description` on steps, yet the service's own examples carry
// it (seeds/002) and the agent ignores it, so it is accepted on both kinds.
const REFERENCE_KEYS = {
  import: ['type', 'description', 'updateId'],
  update: ['type', 'description', 'detachedManifestFileId'],
} as const;

function inlineAdvice(key: string): string | undefined {
  return key === 'updateId' || key === 'detachedManifestFileId'
    ? 'a reference step needs "type": "reference"'
    : undefined;
}

function referenceAdvice(key: string): string | undefined {
  return key === 'handler' || key === 'files' || key === 'handlerProperties'
    ? 'an inline step must not say "type": "reference"'
    : undefined;
}

function checkInline(
  step: Record<string, unknown>,
  path: string,
  out: Violations,
  form: StepForm,
): InlineStep | undefined {
  const before = out.size;
  checkRequired(step, ['handler', 'files'], path, out);
  checkNoUnknownKeys(step, INLINE_KEYS, path, out, inlineAdvice);
  const description =
    step.description === undefined
      ? undefined
      : checkStepDescription(step.description, childPath(path, 'description'), out);
  const handler = step.handler === undefined ? undefined : checkHandler(step.handler, childPath(path, 'handler'), out);
  const files: string[] = [];
  const filesAt = childPath(path, 'files');
  if (step.files !== undefined && checkArray(step.files, filesAt, out, 1, 10)) {
    step.files.forEach((ref, i) => {
      const at = childPath(filesAt, i);
      const ok =
        form.kind === 'import'
          ? checkFileNameValue(ref, at, out) !== undefined
          : checkString(ref, at, out, { min: 1 }) && ref.length > 0;
      if (!ok || typeof ref !== 'string') return;
      if (form.fileKeys && !form.fileKeys.has(ref)) {
        const what = form.kind === 'import' ? 'file name' : 'file id';
        out.add(at, 'exists in files', `${what} ${JSON.stringify(ref)} names no entry of $.files`);
        return;
      }
      files.push(ref);
    });
  }
  const handlerProperties = checkHandlerProperties(step, path, out);
  if (out.size !== before || handler === undefined || handlerProperties === undefined) return undefined;
  const result: InlineStep = { type: 'inline', handler, files, handlerProperties };
  if (description !== undefined) result.description = description;
  return result;
}

function checkReference(
  step: Record<string, unknown>,
  path: string,
  out: Violations,
  form: StepForm,
): ReferenceStep | undefined {
  const before = out.size;
  const idKey = form.kind === 'import' ? 'updateId' : 'detachedManifestFileId';
  checkRequired(step, [idKey], path, out);
  checkNoUnknownKeys(step, REFERENCE_KEYS[form.kind], path, out, referenceAdvice);
  const description =
    step.description === undefined
      ? undefined
      : checkStepDescription(step.description, childPath(path, 'description'), out);
  const result: ReferenceStep = { type: 'reference' };
  if (form.kind === 'import') {
    const id = step.updateId === undefined ? undefined : checkUpdateId(step.updateId, childPath(path, 'updateId'), out);
    if (id) result.updateId = id;
  } else if (step.detachedManifestFileId !== undefined) {
    const at = childPath(path, 'detachedManifestFileId');
    const ref = step.detachedManifestFileId;
    if (checkString(ref, at, out, { min: 1 }) && ref.length > 0) {
      if (!form.fileKeys || form.fileKeys.has(ref)) result.detachedManifestFileId = ref;
      else out.add(at, 'exists in files', `file id ${JSON.stringify(ref)} names no entry of $.files`);
    }
  }
  if (out.size !== before) return undefined;
  if (description !== undefined) result.description = description;
  return result;
}

/**
 * Validates `instructions.steps` (1–10 steps) and returns the normalised steps; the list is only
 * meaningful when no violation was added.
 */
export function checkSteps(v: unknown, path: string, out: Violations, form: StepForm): Step[] {
  const steps: Step[] = [];
  if (!checkArray(v, path, out, 1, 10)) return steps;
  v.forEach((raw, i) => {
    const at = childPath(path, i);
    if (!checkObject(raw, at, out)) return;
    const type = raw.type ?? 'inline';
    if (type !== 'inline' && type !== 'reference') {
      out.add(
        childPath(at, 'type'),
        'enum inline,reference',
        `must be "inline" or "reference" (is ${JSON.stringify(type)})`,
      );
      return;
    }
    const step = type === 'inline' ? checkInline(raw, at, out, form) : checkReference(raw, at, out, form);
    if (step) steps.push(step);
  });
  return steps;
}
