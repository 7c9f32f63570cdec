import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { resolveScriptHandlerConfig } from '../../src/handlers/script/config.js';
import type { ScriptHandlerConfig } from '../../src/handlers/script/config.js';
import type { Timers } from '../../src/handlers/script/run-script.js';
import { ScriptHandler } from '../../src/handlers/script/script-handler.js';
import type { Component } from '../../src/model/component.js';
import type { StepContext, StepFile } from '../../src/model/handler.js';
import type { Logger } from '../../src/model/logger.js';
import { repoPath } from '../repo-root.js';

/**
 * Test rig for the `microsoft/script:1` handler: a temp work folder (`<tmp>/downloads/wf/<n>`)
 * holding copies of the fixture scripts, a StepContext builder, an in-memory pino logger, and
 * the argv log the fixture scripts append to (`SENSOR_PROXY_SCRIPT_LOG`, one TAB-separated line
 * per run).
 */

/** Folder of the fixture scripts. */
export const FIXTURE_SCRIPTS = repoPath('hw-fixtures', 'scripts');

export type LogRecord = Record<string, unknown>;

/** A pino logger at debug level whose records land in `records`; `logged` waits for a matching one. */
export function memoryLogger(): {
  log: Logger;
  records: LogRecord[];
  logged: (pred: (r: LogRecord) => boolean) => Promise<LogRecord>;
} {
  const records: LogRecord[] = [];
  const waiters: { pred: (r: LogRecord) => boolean; resolve: (r: LogRecord) => void }[] = [];
  const log = pino(
    { level: 'debug' },
    {
      write(line: string) {
        const rec = JSON.parse(line) as LogRecord;
        records.push(rec);
        for (const w of waiters.filter((x) => x.pred(rec))) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(rec);
        }
      },
    },
  );
  return {
    log,
    records,
    logged: (pred) => {
      const hit = records.find(pred);
      return hit ? Promise.resolve(hit) : new Promise((resolve) => waiters.push({ pred, resolve }));
    },
  };
}

/**
 * Timers that fire on the next turn of the event loop for the listed durations (ms) and run
 * for real for every other duration; `requested` records every duration asked for.
 */
export function firingTimers(fireAtOnce: number[]): Timers & { requested: number[] } {
  const requested: number[] = [];
  return {
    requested,
    setTimeout(fn, ms) {
      requested.push(ms);
      return fireAtOnce.includes(ms) ? { immediate: setImmediate(fn) } : { timeout: setTimeout(fn, ms) };
    },
    clearTimeout(handle) {
      const h = handle as { immediate?: NodeJS.Immediate; timeout?: NodeJS.Timeout };
      if (h.immediate) clearImmediate(h.immediate);
      if (h.timeout) clearTimeout(h.timeout);
    },
  };
}

export interface ContextOptions {
  /** Default: every file placed so far. */
  files?: StepFile[];
  component?: Component;
  installedCriteria?: string;
  signal?: AbortSignal;
}

export interface ScriptRig {
  /** Temp root; removed by {@link ScriptRig.dispose}. */
  dir: string;
  /** The step's work folder. */
  wf: string;
  handler: ScriptHandler;
  records: LogRecord[];
  logged: (pred: (r: LogRecord) => boolean) => Promise<LogRecord>;
  /** Copies a fixture script into the work folder as `asName`, mode 0644 (the engine does not chmod). */
  place(fixture: string, asName?: string): Promise<StepFile>;
  ctx(handlerProperties: Record<string, unknown>, opts?: ContextOptions): StepContext;
  /** argv (without the script name) of every fixture script run so far, in order. */
  runs(): Promise<string[][]>;
  dispose(): Promise<void>;
}

let rigCounter = 0;

/** Builds a rig; `config` is the handler config section (its `env` gets SENSOR_PROXY_SCRIPT_LOG added). */
export async function scriptRig(config: Partial<ScriptHandlerConfig> = {}, timers?: Timers): Promise<ScriptRig> {
  const dir = await mkdtemp(join(tmpdir(), 'script-handler-'));
  const wf = join(dir, 'downloads', 'wf', String(rigCounter++));
  await mkdir(wf, { recursive: true });
  const scriptLog = join(dir, 'script-argv.log');
  const mem = memoryLogger();
  const resolved = resolveScriptHandlerConfig({
    ...config,
    env: { ...config.env, SENSOR_PROXY_SCRIPT_LOG: scriptLog },
  });
  const handler = new ScriptHandler({ log: mem.log, ...resolved, ...(timers ? { timers } : {}) });
  const files: StepFile[] = [];
  return {
    dir,
    wf,
    handler,
    records: mem.records,
    logged: mem.logged,
    async place(fixture, asName = fixture) {
      const path = join(wf, asName);
      await copyFile(join(FIXTURE_SCRIPTS, fixture), path);
      await chmod(path, 0o644);
      const f: StepFile = {
        id: `file-${files.length}`,
        fileName: asName,
        path,
        sizeInBytes: (await stat(path)).size,
        hashes: {},
      };
      files.push(f);
      return f;
    },
    ctx(handlerProperties, opts = {}) {
      return {
        workflowId: 'wf',
        updateId: { provider: 'contoso', name: 'virtual-camera', version: '1.1' },
        step: '1.0',
        handlerId: 'microsoft/script:1',
        handlerProperties,
        installedCriteria: opts.installedCriteria,
        files: opts.files ?? [...files],
        workFolder: wf,
        component: opts.component,
        signal: opts.signal ?? new AbortController().signal,
        log: mem.log,
        onProgress: () => undefined,
        onPhase: () => undefined,
      };
    },
    async runs() {
      if (!existsSync(scriptLog)) return [];
      return (await readFile(scriptLog, 'utf8'))
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => l.split('\t').slice(1));
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
