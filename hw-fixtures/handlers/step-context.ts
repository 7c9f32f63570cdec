import { basename } from 'node:path';
import { tmpdir } from 'node:os';
import pino from 'pino';
import type { Component } from '../../src/model/component.js';
import type { TransferProgress } from '../../src/model/events.js';
import { installedCriteriaOf, type StepContext } from '../../src/model/handler.js';
import type { Logger } from '../../src/model/logger.js';
import type { UpdateId } from '../../src/model/update.js';

export interface TestStepInput {
  handlerId: string;
  handlerProperties?: Record<string, unknown>;
  /** The step's files; `fileName` defaults to the path's base name, `sizeInBytes` to 0. */
  files?: Array<{ path: string; fileName?: string; sizeInBytes?: number }>;
  component?: Component;
  updateId?: UpdateId;
  workFolder?: string;
  signal?: AbortSignal;
  log?: Logger;
}

/**
 * A StepContext for calling one handler directly, the way the engine builds it
 * (`installedCriteria` derived from `handlerProperties` as in StepRunner), plus the progress and the phases it reports.
 */
export function testStepContext(i: TestStepInput): {
  ctx: StepContext;
  progress: TransferProgress[];
  phases: string[];
} {
  const progress: TransferProgress[] = [];
  const phases: string[] = [];
  const handlerProperties = i.handlerProperties ?? {};
  const ctx: StepContext = {
    workflowId: 'wf',
    updateId: i.updateId ?? { provider: 'contoso', name: 'sensor', version: '1.0' },
    step: '0',
    handlerId: i.handlerId,
    handlerProperties,
    installedCriteria: installedCriteriaOf(handlerProperties),
    files: (i.files ?? []).map((f, n) => ({
      id: `f${n}`,
      fileName: f.fileName ?? basename(f.path),
      path: f.path,
      sizeInBytes: f.sizeInBytes ?? 0,
      hashes: {},
    })),
    workFolder: i.workFolder ?? tmpdir(),
    component: i.component,
    signal: i.signal ?? new AbortController().signal,
    log: i.log ?? pino({ level: 'silent' }),
    onProgress: (p) => progress.push(p),
    onPhase: (p) => phases.push(p),
  };
  return { ctx, progress, phases };
}
