import { createHash } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import type { Component } from '../../model/component.js';
import type { StepHandler } from '../../model/handler.js';
import type { InlineStep, ReferenceStep, Update, UpdateFile } from '../../model/update.js';
import { LocalFileSource } from '../file-source.js';
import type { UpdatePlan } from '../update-plan.js';

/** One quick flash: one image, one handler, one or more target components. */
export interface QuickFlashSpec {
  /** Absolute path of the firmware image. */
  image: string;
  /** The image's SHA-256, hex. */
  sha256: string;
  sizeInBytes: number;
  handler: StepHandler;
  /** The step's handlerProperties (installedCriteria and protocol settings from the flags). */
  handlerProperties: Record<string, unknown>;
  components: Component[];
  workDir: string;
}

/**
 * Builds, in memory, what a publisher would have written for this flash: a parent update with one
 * reference step to a child whose single inline step runs `handler` with the image, the targets
 * as the components it selected. It then is an ordinary plan for the workflow engine (journal and
 * resume, IsInstalled, parallel lanes, results), so quick flash has no code path of its own.
 *
 * The workflow id hashes image, handler, properties and targets: the same command run again after
 * a crash resumes that run; any change starts a new one.
 */
export async function planQuickFlash(spec: QuickFlashSpec, signal?: AbortSignal): Promise<UpdatePlan> {
  const fileName = basename(spec.image);
  const file: UpdateFile = {
    id: fileName,
    fileName,
    sizeInBytes: spec.sizeInBytes,
    hashes: { sha256: Buffer.from(spec.sha256, 'hex').toString('base64') },
  };
  const version = installedCriteriaLabel(spec.handlerProperties) ?? spec.sha256.slice(0, 12);
  const childId = { provider: 'sensor-proxy', name: `quick-flash-${fileName}`, version };
  const inline: InlineStep = {
    type: 'inline',
    description: `quick flash of ${fileName}`,
    handler: spec.handler.id,
    files: [fileName],
    handlerProperties: spec.handlerProperties,
  };
  const child: Update = {
    kind: 'import',
    manifestVersion: '5.0',
    updateId: childId,
    isDeployable: false,
    compatibility: [{ quickFlash: spec.handler.id }],
    steps: [inline],
    files: { [fileName]: file },
  };
  const reference: ReferenceStep = { type: 'reference', updateId: childId };
  const update: Update = {
    kind: 'import',
    manifestVersion: '5.0',
    updateId: { provider: 'sensor-proxy', name: 'quick-flash', version },
    description: `sensor-proxy flash ${fileName}`,
    isDeployable: true,
    compatibility: [],
    steps: [reference],
    files: {},
  };
  const identity = JSON.stringify({
    image: spec.sha256,
    handler: spec.handler.id,
    handlerProperties: spec.handlerProperties,
    targets: spec.components.map((c) => [c.id, c.properties]),
  });
  const manifestSha256 = createHash('sha256').update(identity).digest('hex');
  const workflowId = `quick-${manifestSha256.slice(0, 16)}`;
  const rootWorkFolder = join(spec.workDir, workflowId);
  const workFolder = join(rootWorkFolder, '0');
  // The same copy-and-verify as a manifest's files: the handler reads a hash-checked copy.
  const path = await new LocalFileSource(dirname(spec.image)).materialize(file, workFolder, signal);
  return {
    workflowId,
    update,
    manifestSha256,
    rootWorkFolder,
    steps: [
      {
        kind: 'reference',
        path: '0',
        step: reference,
        child,
        childSource: 'quick flash (in memory)',
        selectors: child.compatibility,
        components: spec.components,
        onHost: false,
        workFolder,
        steps: [
          {
            kind: 'inline',
            path: '0.0',
            step: inline,
            update: child,
            handler: spec.handler,
            files: [{ id: fileName, fileName, path, sizeInBytes: spec.sizeInBytes, hashes: file.hashes }],
            workFolder,
          },
        ],
      },
    ],
  };
}

function installedCriteriaLabel(hp: Record<string, unknown>): string | undefined {
  const ic = hp.installedCriteria;
  return typeof ic === 'string' && ic !== '' ? ic : undefined;
}
