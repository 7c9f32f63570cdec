import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { firingTimers, scriptRig } from '../../../hw-fixtures/scripts/script-step-rig.js';
import type { LogRecord, ScriptRig } from '../../../hw-fixtures/scripts/script-step-rig.js';
import type { ScriptHandlerConfig } from '../../../src/handlers/script/config.js';
import { STDIO_DRAIN_MS } from '../../../src/handlers/script/run-script.js';
import type { Timers } from '../../../src/handlers/script/run-script.js';
import { ScriptErc } from '../../../src/handlers/script/script-erc.js';
import type { StepContext } from '../../../src/model/handler.js';
import { Erc, ResultCode } from '../../../src/model/result-codes.js';

/**
 * Cancel, timeout, signals and output of a running script. Long waits never happen for real:
 * the timers under test fire at once through the handler's timer seam, and `sleep 600` scripts
 * are only ever ended by the handler (each test also has a node:test timeout, so a bug fails
 * instead of hanging).
 */

const TEST_DEADLINE = { timeout: 20_000 };

const rigs: ScriptRig[] = [];
/** A rig with scripted-step.sh placed; `ctx(args)` builds a step context running it with those arguments. */
async function setup(config: Partial<ScriptHandlerConfig> = {}, timers?: Timers) {
  const rig = await scriptRig(config, timers);
  rigs.push(rig);
  await rig.place('scripted-step.sh');
  const ctx = (args: string, opts: { signal?: AbortSignal; timeoutSeconds?: unknown } = {}): StepContext =>
    rig.ctx(
      {
        scriptFileName: 'scripted-step.sh',
        arguments: args,
        ...(opts.timeoutSeconds !== undefined ? { timeoutSeconds: opts.timeoutSeconds } : {}),
      },
      opts.signal ? { signal: opts.signal } : {},
    );
  return { handler: rig.handler, wf: rig.wf, logs: rig.records, logged: rig.logged, ctx };
}

const isStarted = (l: LogRecord) => l.msg === 'started' && l.stream === 'stdout';

describe('microsoft/script:1 handler: cancel, timeout, signals, output', () => {
  after(async () => {
    for (const r of rigs) await r.dispose();
  });

  it(
    'abort while `sleep 600` runs: SIGTERM to the group ends it and the result is -1 / WorkflowCancelled',
    TEST_DEADLINE,
    async () => {
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
    },
  );

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
    assert.equal(
      s.logs.some((l) => l.stream === 'stdout'),
      false,
    );
  });

  it("abort during download's is-installed returns -1 and never runs --action-download", TEST_DEADLINE, async () => {
    const s = await setup();
    const ac = new AbortController();
    const running = s.handler.download(s.ctx('--sleep-forever', { signal: ac.signal }));
    await s.logged(isStarted);
    ac.abort();
    assert.equal((await running).resultCode, ResultCode.FailureCancelled);
    assert.equal(
      s.logs.some((l) => l.msg === 'scripted-step download'),
      false,
    );
  });

  it(
    'timeoutSeconds from handlerProperties: the run is stopped and reported with the timeout ERC',
    TEST_DEADLINE,
    async () => {
      const timers = firingTimers([42_000]);
      const s = await setup({ timeoutSeconds: 7 }, timers);
      const res = await s.handler.install(s.ctx('--stderr-lines 1 --sleep-forever', { timeoutSeconds: '42' }));
      assert.equal(res.resultCode, ResultCode.Failure);
      assert.equal(res.extendedResultCode, ScriptErc.Timeout);
      assert.match(res.resultDetails ?? '', /scripted-step\.sh --action-install did not finish within 42 s/);
      assert.ok(timers.requested.includes(42_000));
      assert.equal(timers.requested.includes(7_000), false);
    },
  );

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

  it(
    'pipes stdout lines at debug and stderr lines at info (not warn: scripts narrate on stderr), tagged with the action',
    TEST_DEADLINE,
    async () => {
      const s = await setup();
      await s.handler.apply(s.ctx('--stderr-lines 2 --rc 700'));
      const out = s.logs.find((l) => l.stream === 'stdout' && l.msg === 'scripted-step apply');
      assert.ok(out);
      assert.deepEqual([out.level, out.action, out.script], [20, 'apply', 'scripted-step.sh']);
      const errs = s.logs.filter((l) => l.stream === 'stderr').map((l) => [l.level, l.action, l.msg]);
      assert.deepEqual(errs, [
        [30, 'apply', 'stderr line 1'],
        [30, 'apply', 'stderr line 2'],
      ]);
    },
  );
});
