import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ComponentInventory } from '../../enumerators/component-inventory.js';
import type { ComponentEnumerator } from '../../enumerators/enumerator.js';
import { HandlerRegistry } from '../../src/handlers/registry.js';
import { loadManifestFile } from '../../src/manifest/index.js';
import type { Component } from '../../src/model/component.js';
import type { WorkflowEvent } from '../../src/model/events.js';
import type { StepHandler } from '../../src/model/handler.js';
import { runWorkflow, type WorkflowOutcome } from '../../src/workflow/engine.js';
import type { ParallelPolicy } from '../../src/workflow/lanes.js';
import { LocalFileSource } from '../../src/workflow/file-source.js';
import { planUpdate, type UpdatePlan } from '../../src/workflow/update-plan.js';
import { WorkflowStateStore } from '../../src/workflow/workflow-state.js';
import { writeImportManifest, type ImportManifestSpec } from './import-manifest-builder.js';

/**
 * Builds a parent update with `hostSteps` inline steps and one reference step to a child with
 * `childSteps` steps for the `group` components, all on one handler id: the engine under test
 * with real manifests, real files and the real planner.
 */
export async function writeParentChildUpdate(dir: string, o: { handler: string; hostSteps: number; childSteps: number; group: string }): Promise<string> {
  await writeFile(join(dir, 'payload.bin'), 'firmware');
  const step = (i: number, prefix: string) => ({ description: `${prefix} step ${i}`, handler: o.handler, files: ['payload.bin'], handlerProperties: { installedCriteria: `${prefix}-${i}` } });
  const child: ImportManifestSpec = {
    updateId: { provider: 'test', name: 'child', version: '1.0' },
    isDeployable: false,
    compatibility: [{ group: o.group }],
    steps: Array.from({ length: o.childSteps }, (_, i) => step(i, 'child')),
  };
  await writeImportManifest(dir, 'child.importmanifest.json', child);
  return writeImportManifest(dir, 'parent.importmanifest.json', {
    updateId: { provider: 'test', name: 'parent', version: '1.0' },
    compatibility: [{ manufacturer: 'test', model: 'gateway' }],
    steps: [
      ...Array.from({ length: o.hostSteps }, (_, i) => step(i, 'host')),
      { type: 'reference' as const, updateId: child.updateId },
    ],
  });
}

export class StaticEnumerator implements ComponentEnumerator {
  readonly type = 'static';
  constructor(public components: Component[]) {}
  async getAllComponents(): Promise<Component[]> {
    return this.components;
  }
}

export function components(n: number, group: string): Component[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${group}-${i}`, name: `${group}-${i}`, group, manufacturer: 'test', model: 'sensor', properties: {} }));
}

export interface EngineHarness {
  dir: string;
  stateDir: string;
  events: WorkflowEvent[];
  plan(manifestPath: string, onlyComponents?: string[]): Promise<UpdatePlan>;
  run(plan: UpdatePlan, signal?: AbortSignal, opts?: { cancelGraceMs?: number; parallel?: Partial<ParallelPolicy> }): Promise<WorkflowOutcome>;
}

/**
 * `comps` undefined: no enumerator at all (a gateway config with `enumerators: []` and no
 * `--inventory`); `referenceStepsOnHost` is the gateway config key of that name.
 */
export async function engineHarness(
  handlers: StepHandler[],
  comps: Component[] | undefined,
  opts: { referenceStepsOnHost?: boolean } = {},
): Promise<EngineHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'sp-engine-'));
  const stateDir = join(dir, 'state');
  const log = pino({ level: process.env.SP_TEST_LOG ?? 'silent' });
  const registry = new HandlerRegistry(() => ({ log, config: {} }));
  for (const h of handlers) registry.register(h.id, () => h);
  const inventory = new ComponentInventory(comps ? [new StaticEnumerator(comps)] : [], log);
  const events: WorkflowEvent[] = [];
  return {
    dir,
    stateDir,
    events,
    async plan(manifestPath, onlyComponents) {
      const loaded = await loadManifestFile(manifestPath);
      return planUpdate({
        workflowId: 'wf-test',
        update: loaded.update,
        manifestSha256: loaded.sha256,
        workDir: join(dir, 'work'),
        fileSource: new LocalFileSource(dir),
        filesDir: dir,
        inventory,
        handlers: registry,
        ...(onlyComponents && { onlyComponents }),
        ...(opts.referenceStepsOnHost !== undefined && { referenceStepsOnHost: opts.referenceStepsOnHost }),
      });
    },
    run(plan, signal = new AbortController().signal, opts = {}) {
      return runWorkflow({ plan, state: new WorkflowStateStore(stateDir, plan.workflowId), signal, log, emit: (e) => events.push(e), ...opts });
    },
  };
}
