import type { Component } from './component.js';
import type { FlashPhase, TransferProgress } from './events.js';
import type { Logger } from './logger.js';
import type { AducResult } from './result-codes.js';
import type { UpdateId } from './update.js';

/** A step's payload file, already located and hash-verified, available in the work folder. */
export interface StepFile {
  id: string;
  fileName: string;
  /** Absolute path of the verified file (inside {@link StepContext.workFolder}). */
  path: string;
  sizeInBytes: number;
  hashes: Record<string, string>;
  properties?: Record<string, unknown>;
}

/**
 * Everything a handler action gets: the ADU `ADUC_WorkflowData` of one step for one component.
 * `component` is undefined for the parent's inline steps (host device), set for a child update's
 * inline steps (component-aware), exactly as the ADU steps handler does it.
 */
export interface StepContext {
  workflowId: string;
  /** The update this step belongs to (the child update for a child's steps). */
  updateId: UpdateId;
  /** Step path, e.g. `"0"` or `"1.2"` (see WorkflowEvent). */
  step: string;
  handlerId: string;
  handlerProperties: Record<string, unknown>;
  /** `handlerProperties.installedCriteria` as a string, when set. */
  installedCriteria: string | undefined;
  files: StepFile[];
  /** Folder holding this step's files; handlers may write scratch files here. */
  workFolder: string;
  component: Component | undefined;
  /** Aborted on cancel; every wait in a handler must honour it. */
  signal: AbortSignal;
  log: Logger;
  onProgress(progress: TransferProgress): void;
  /** The handler enters a phase of its flash (see {@link FlashPhase}); repeats of the current phase are ignored. */
  onPhase(phase: FlashPhase): void;
}

/** `handlerProperties.installedCriteria` as {@link StepContext.installedCriteria} carries it: a non-empty string, else undefined. */
export function installedCriteriaOf(handlerProperties: Record<string, unknown>): string | undefined {
  const ic = handlerProperties.installedCriteria;
  return typeof ic === 'string' && ic !== '' ? ic : undefined;
}

/**
 * The ADU content handler contract (`reference/adu-agent.md` §2.1): every action returns an ADU
 * result; a thrown error is turned into a failure by the engine (mapped to a code in one place).
 * Success ⇔ resultCode > 0. IsInstalled answers 900 (installed) or 901 (not installed).
 */
export interface StepHandler {
  readonly id: string;
  /** True when the handler flashes a selected component (gets `ctx.component`). */
  readonly componentAware: boolean;
  isInstalled(ctx: StepContext): Promise<AducResult>;
  download(ctx: StepContext): Promise<AducResult>;
  install(ctx: StepContext): Promise<AducResult>;
  apply(ctx: StepContext): Promise<AducResult>;
  cancel(ctx: StepContext): Promise<AducResult>;
  /**
   * The version the component runs now, read the way IsInstalled reads it; undefined when the device
   * does not tell (it sits in its bootloader, or no version source is configured). For display only
   * (quick flash prints it before and after): it never decides whether a step runs.
   */
  readVersion?(ctx: StepContext): Promise<string | undefined>;
  backup?(ctx: StepContext): Promise<AducResult>;
  restore?(ctx: StepContext): Promise<AducResult>;
}

/** What a handler factory receives once per process: its config section and a logger. */
export interface HandlerEnvironment {
  log: Logger;
  /** `handlers["<handler id>"]` of the gateway config (defaults merged by the handler). */
  config: Record<string, unknown>;
  /** The gateway's state folder, for handlers that keep state (e.g. the apt handler's installed criteria). */
  stateDir?: string;
}

export type HandlerFactory = (env: HandlerEnvironment) => StepHandler;
