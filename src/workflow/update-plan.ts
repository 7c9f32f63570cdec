import { join } from 'node:path';
import type { ComponentInventory } from '../../enumerators/component-inventory.js';
import { matchesSelector } from '../../enumerators/select.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import type { Component } from '../model/component.js';
import { SensorProxyError } from '../model/errors.js';
import type { StepFile, StepHandler } from '../model/handler.js';
import type { InlineStep, ReferenceStep, Update } from '../model/update.js';
import { resolveChildUpdate } from './child-resolver.js';
import type { FileSource } from './file-source.js';

/** An inline step ready to run: its handler exists and its files are verified in its work folder. */
export interface PlannedInlineStep {
  kind: 'inline';
  /** `"0"` for a parent step, `"1.2"` for step 2 of the child referenced by parent step 1. */
  path: string;
  step: InlineStep;
  update: Update;
  handler: StepHandler;
  files: StepFile[];
  workFolder: string;
}

export interface PlannedReferenceStep {
  kind: 'reference';
  path: string;
  step: ReferenceStep;
  child: Update;
  childSource: string;
  /** Child `compatibility` entries; a component matching any of them is selected. */
  selectors: Record<string, string>[];
  components: Component[];
  /**
   * True when the child's steps run once on the host (no component): no enumerator is configured
   * and the gateway config sets `referenceStepsOnHost` (the ADU agent's rule, reference/adu-agent.md §2.2).
   */
  onHost: boolean;
  steps: PlannedInlineStep[];
  workFolder: string;
}

export type PlannedStep = PlannedInlineStep | PlannedReferenceStep;

export interface UpdatePlan {
  workflowId: string;
  update: Update;
  manifestSha256: string;
  rootWorkFolder: string;
  steps: PlannedStep[];
}

export interface PlanInputs {
  workflowId: string;
  update: Update;
  manifestSha256: string;
  workDir: string;
  fileSource: FileSource;
  /** Folder searched for child import manifests (import-manifest reference steps). */
  filesDir?: string;
  inventory: ComponentInventory;
  handlers: HandlerRegistry;
  /**
   * Gateway config `referenceStepsOnHost`: with no enumerator configured, run a reference step's
   * child steps once on the host (as the ADU agent does) instead of failing the plan.
   */
  referenceStepsOnHost?: boolean;
  /** Restricts every child's selection to these component ids (`flash --component`). */
  onlyComponents?: string[];
  signal?: AbortSignal;
}

/**
 * Resolves everything before any handler runs (reference/adu-agent.md §2.3, done up front):
 * handlers exist, child manifests are found and valid, files are located and hash-checked into
 * their work folders, components are selected. Any problem throws here, so bad input never reaches
 * a sensor.
 */
export async function planUpdate(inp: PlanInputs): Promise<UpdatePlan> {
  const rootWorkFolder = join(inp.workDir, inp.workflowId.replace(/[^A-Za-z0-9._-]/g, '_'));
  let inventory: Component[] | undefined;
  const steps: PlannedStep[] = [];
  for (const [i, step] of inp.update.steps.entries()) {
    const path = String(i);
    if (step.type === 'inline') {
      steps.push(await planInline(inp, inp.update, step, path, rootWorkFolder));
      continue;
    }
    const workFolder = join(rootWorkFolder, path);
    const { update: child, source } = await resolveChildUpdate(inp.update, step, {
      fileSource: inp.fileSource,
      workFolder: rootWorkFolder,
      ...(inp.filesDir !== undefined && { filesDir: inp.filesDir }),
      ...(inp.signal !== undefined && { signal: inp.signal }),
    });
    const childSteps: PlannedInlineStep[] = [];
    for (const [j, cs] of child.steps.entries()) {
      // assertChildUpdate guarantees inline steps only.
      childSteps.push(await planInline(inp, child, cs as InlineStep, `${path}.${j}`, workFolder));
    }
    const selectors = child.compatibility;
    if (!inp.inventory.hasEnumerators) {
      if (!inp.referenceStepsOnHost) throw noEnumerator(path, selectors);
      steps.push({
        kind: 'reference',
        path,
        step,
        child,
        childSource: source,
        selectors,
        components: [],
        onHost: true,
        steps: childSteps,
        workFolder,
      });
      continue;
    }
    inventory ??= await inp.inventory.getAllComponents(inp.signal);
    let components = inventory.filter((c) => selectors.some((s) => matchesSelector(c, s)));
    if (inp.onlyComponents) components = components.filter((c) => inp.onlyComponents!.includes(c.id));
    steps.push({
      kind: 'reference',
      path,
      step,
      child,
      childSource: source,
      selectors,
      components,
      onHost: false,
      steps: childSteps,
      workFolder,
    });
  }
  if (inp.onlyComponents) {
    inventory ??= await inp.inventory.getAllComponents(inp.signal);
    const known = new Set((inventory ?? []).map((c) => c.id));
    const unknown = inp.onlyComponents.filter((id) => !known.has(id));
    if (unknown.length > 0) {
      throw new SensorProxyError('CLI_USAGE', `--component ${unknown.join(', ')}: no such component`, {
        details: { unknown, known: [...known] },
        hint: `known components: ${[...known].join(', ') || '(none)'}; see "sensor-proxy list"`,
      });
    }
  }
  return { workflowId: inp.workflowId, update: inp.update, manifestSha256: inp.manifestSha256, rootWorkFolder, steps };
}

async function planInline(
  inp: PlanInputs,
  update: Update,
  step: InlineStep,
  path: string,
  workFolder: string,
): Promise<PlannedInlineStep> {
  const handler = inp.handlers.get(step.handler);
  const files: StepFile[] = [];
  for (const id of step.files) {
    const file = update.files[id];
    if (!file)
      throw new SensorProxyError('MANIFEST_INVALID', `step ${path} names file "${id}", which the update does not list`);
    const filePath = await inp.fileSource.materialize(file, workFolder, inp.signal);
    files.push({
      id,
      fileName: file.fileName,
      path: filePath,
      sizeInBytes: file.sizeInBytes,
      hashes: file.hashes,
      ...(file.properties && { properties: file.properties }),
    });
  }
  return { kind: 'inline', path, step, update, handler, files, workFolder };
}

/**
 * No enumerator, so a child update meant for components would have nothing to select from. The
 * ADU agent then runs the child's steps on the host, which rarely is what the publisher meant;
 * reporting 604 "no matching components" would claim a success for an install that never
 * happened. So: an error, unless the config asks for the ADU behaviour.
 */
function noEnumerator(path: string, selectors: Record<string, string>[]): SensorProxyError {
  const targets = selectors.map((s) => JSON.stringify(s)).join(' or ');
  return new SensorProxyError(
    'ENUM_NOT_CONFIGURED',
    `no component enumerator is configured; reference step ${path} targets components (${targets}); configure one or pass --inventory`,
    {
      details: { step: path, compatibility: selectors },
      hint:
        'add an enumerator to "enumerators" in the gateway config (or pass --inventory FILE to flash); ' +
        'to run child updates on the gateway itself, as the ADU agent does without an enumerator, set "referenceStepsOnHost": true',
    },
  );
}
