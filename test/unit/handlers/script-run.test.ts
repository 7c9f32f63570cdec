import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { resolveScriptHandlerConfig } from '../../../src/handlers/script/config.js';
import type { ScriptHandlerConfig } from '../../../src/handlers/script/config.js';
import { STDIO_DRAIN_MS } from '../../../src/handlers/script/run-script.js';
import type { Timers } from '../../../src/handlers/script/run-script.js';
import { ScriptErc } from '../../../src/handlers/script/script-erc.js';
import { ScriptHandler } from '../../../src/handlers/script/script-handler.js';
import type { StepContext } from '../../../src/model/handler.js';
import { Erc, ResultCode } from '../../../src/model/result-codes.js';

/**
 * Cancel, timeout, signals and output of a running script. Long waits never happen for real:
 * the timers under test fire at once through the handler's timer seam, and `sleep 600` scripts
 * are only ever ended by the handler (each test also has a node:test timeout, so a bug fails
 * instead of hanging).
 */

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'hw-fixtures', 'scripts', 'scripted-step.sh'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('hw-fixtures/scripts not found above the test file');
    dir = up;
  }
  return dir;
}
const SCRIPT = join(repoRoot(), 'hw-fixtures', 'scripts', 'scripted-step.sh');
const TEST_DEADLINE = { timeout: 20_000 };

/** Timers that fire at once for the listed durations (ms) and are real for every other one; records requests. */
function firingTimers(fireAtOnce: number[]): Timers & { requested: number[] } {
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

interface Setup {
  wf: string;
  handler: ScriptHandler;
  logs: Record<string, unknown>[];
  /** Resolves when a log line matches. */
  logged(pred: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  ctx(args: string, opts?: { signal?: AbortSignal; timeoutSeconds?: unknown }): StepContext;
}

const roots: string[] = [];
async function setup(config: Partial<ScriptHandlerConfig> = {}, timers?: Timers): Promise<Setup> {
  const dir = await mkdtemp(join(tmpdir(), 'script-run-'));
  roots.push(dir);
  const wf = join(dir, 'wf');
  await mkdir(wf);
  await copyFile(SCRIPT, join(wf, 'scripted-step.sh'));
  await chmod(join(wf, 'scripted-step.sh'), 0o755);
  const logs: Record<string, unknown>[] = [];
  const waiters: { pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  const log = pino(
    { level: 'debug' },
    {
      write(line: string) {
        const rec = JSON.parse(line) as Record<string, unknown>;
        logs.push(rec);
        for (const w of waiters.filter((x) => x.pred(rec))) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(rec);
        }
      },
    },
  );
  const handler = new ScriptHandler({ log, ...resolveScriptHandlerConfig({ ...config }), ...(timers ? { timers } : {}) });
  return {
    wf,
    handler,
    logs,
    logged(pred) {
      const hit = logs.find(pred);
      return hit ? Promise.resolve(hit) : new Promise((resolve) => waiters.push({ pred, resolve }));
    },
    ctx(args, opts = {}) {
      return {
        workflowId: 'wf',
        updateId: { provider: 'p', name: 'n', version: '1' },
        step: '0',
        handlerId: 'microsoft/script:1',
        handlerProperties: { scriptFileName: 'scripted-step.sh', arguments: args, ...(opts.timeoutSeconds !== undefined ? { timeoutSeconds: opts.timeoutSeconds } : {}) },
        installedCriteria: undefined,
        files: [{ id: 's', fileName: 'scripted-step.sh', path: join(wf, 'scripted-step.sh'), sizeInBytes: 1, hashes: {} }],
        workFolder: wf,
        component: undefined,
        signal: opts.signal ?? new AbortController().signal,
        log,
        onProgress: () => undefined,
      };
    },
  };
}

const isStarted = (l: Record<string, unknown>) => l.msg === 'started' && l.stream === 'stdout';

describe('microsoft/script:1 handler: cancel, timeout, signals, output', () => {
  after(async () => {
    for (const d of roots) await rm(d, { recursive: true, force: true });
  });

  it('abort while `sleep 600` runs: SIGTERM to the group ends it and the result is -1 / WorkflowCancelled', TEST_DEADLINE, async () => {
    const s = await setup();
    const ac = new AbortController();
    const running = s.handler.install(s.ctx('--sleep-forever', { signal: ac.signal }));
    await s.logged(isStarted);
    ac.abort(new Error('user cancel'));
    const res = await running;
    assert.equal(res.resultCode, ResultCode.FailureCancelled);
    assert.equal(res.extendedResultCode, Erc.WorkflowCancelled);
    // 'close' only fires once the `sleep` child (holding stdout) is gone too: the whole group was stopped.
    assert.match(res.resultDetails ?? '', /cancelled: SIGTERM sent to its process group$/);
  });

  it('a script that ignores SIGTERM gets SIGKILL when the grace runs out', TEST_DEADLINE, async () => {
    const timers = firingTimers([1234]);
    const s = await setup({ killGraceMs: 1234 }, timers);
    const ac = new AbortController();
    const running = s.handler.install(s.ctx('--ignore-term --sleep-forever', { signal: ac.signal }));
    await s.logged(isStarted);
    ac.abort();
    const res = await running;
    assert.deepEqual([res.resultCode, res.extendedResultCode], [ResultCode.FailureCancelled, Erc.WorkflowCancelled]);
    assert.match(res.resultDetails ?? '', /SIGTERM then SIGKILL/);
    assert.ok(timers.requested.includes(1234));
    assert.ok(s.logs.some((l) => /SIGKILL/.test(String(l.msg)) && l.level === 40));
  });

  it('an already aborted signal returns -1 without starting the script', TEST_DEADLINE, async () => {
    const s = await setup();
    const ac = new AbortController();
    ac.abort();
    const res = await s.handler.apply(s.ctx('--rc 700', { signal: ac.signal }));
    assert.equal(res.resultCode, ResultCode.FailureCancelled);
    assert.equal(s.logs.some((l) => l.stream === 'stdout'), false);
  });

  it('abort during download\'s is-installed returns -1 and never runs --action-download', TEST_DEADLINE, async () => {
    const s = await setup();
    const ac = new AbortController();
    const running = s.handler.download(s.ctx('--sleep-forever', { signal: ac.signal }));
    await s.logged(isStarted);
    ac.abort();
    assert.equal((await running).resultCode, ResultCode.FailureCancelled);
    assert.equal(s.logs.some((l) => l.msg === 'scripted-step download'), false);
  });

  it('timeoutSeconds from handlerProperties: the run is stopped and reported with the timeout ERC', TEST_DEADLINE, async () => {
    const timers = firingTimers([42_000]);
    const s = await setup({ timeoutSeconds: 7 }, timers);
    const res = await s.handler.install(s.ctx('--stderr-lines 1 --sleep-forever', { timeoutSeconds: '42' }));
    assert.equal(res.resultCode, ResultCode.Failure);
    assert.equal(res.extendedResultCode, ScriptErc.Timeout);
    assert.match(res.resultDetails ?? '', /scripted-step\.sh --action-install did not finish within 42 s/);
    assert.ok(timers.requested.includes(42_000));
    assert.equal(timers.requested.includes(7_000), false);
  });

  it('the run timeout defaults to the config timeoutSeconds, then to 3600 s', TEST_DEADLINE, async () => {
    const fromConfig = firingTimers([]);
    const a = await setup({ timeoutSeconds: 7 }, fromConfig);
    assert.equal((await a.handler.install(a.ctx('--rc 600'))).resultCode, 600);
    assert.ok(fromConfig.requested.includes(7_000));
    const builtin = firingTimers([]);
    const b = await setup({}, builtin);
    assert.equal((await b.handler.install(b.ctx('--rc 600'))).resultCode, 600);
    assert.ok(builtin.requested.includes(3_600_000));
  });

  it('does not wait forever for pipes held by a background process the script left behind', TEST_DEADLINE, async () => {
    const timers = firingTimers([STDIO_DRAIN_MS]);
    const s = await setup({}, timers);
    const pidFile = join(s.wf, 'bg.pid');
    try {
      const res = await s.handler.install(s.ctx(`--leave-background ${pidFile} --rc 600`));
      assert.equal(res.resultCode, ResultCode.InstallSuccess);
      assert.ok(s.logs.some((l) => /still holds its stdout\/stderr/.test(String(l.msg))));
    } finally {
      const pid = Number((await readFile(pidFile, 'utf8')).trim());
      if (pid > 0) process.kill(pid, 'SIGKILL');
    }
  });

  it('pipes stdout lines at debug and stderr lines at warn, tagged with the action', TEST_DEADLINE, async () => {
    const s = await setup();
    await s.handler.apply(s.ctx('--stderr-lines 2 --rc 700'));
    const out = s.logs.find((l) => l.stream === 'stdout' && l.msg === 'scripted-step apply');
    assert.ok(out);
    assert.deepEqual([out.level, out.action, out.script], [20, 'apply', 'scripted-step.sh']);
    const errs = s.logs.filter((l) => l.stream === 'stderr').map((l) => [l.level, l.action, l.msg]);
    assert.deepEqual(errs, [
      [40, 'apply', 'stderr line 1'],
      [40, 'apply', 'stderr line 2'],
    ]);
  });
});
