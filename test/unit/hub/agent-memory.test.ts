/**
 * Issue 6 (agent RSS < 100 MB): the bus stacks load only when a config uses them, the agent's
 * young generation stays small, and the download's buffer reclaim leaves no global `gc` behind.
 * Module loading and V8 flags are process-wide, so those checks run in a child node.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { builtinEnumerators } from '../../../enumerators/builtin-enumerators.js';
import { builtinHandlers } from '../../../src/handlers/builtin-handlers.js';
import { limitAgentHeap } from '../../../src/hub/agent-heap.js';
import { bufferReclaimer, reclaimStreamBuffers } from '../../../src/hub/reclaim-buffers.js';
import { isSensorProxyError } from '../../../src/model/errors.js';

const log = pino({ level: 'silent' });
const ts = import.meta.url.endsWith('.ts');
const ext = ts ? 'ts' : 'js';
const moduleUrl = (rel: string) => new URL(`${rel}.${ext}`, import.meta.url).href;

/** Runs an ES module snippet in a fresh node (with tsx under tsx) and returns its stdout. */
function runNode(code: string): Promise<string> {
  const args = [...(ts ? ['--import', 'tsx'] : []), '--input-type=module', '-e', code];
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      args,
      { timeout: 20_000, cwd: fileURLToPath(new URL('.', import.meta.url)) },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout.trim())),
    );
  });
}

describe('agent memory (issue 6)', { timeout: 60_000 }, () => {
  it('building a gateway without serial entries does not load serialport; a serial entry loads it on first enumeration', async () => {
    const out = await runNode(`
      import { createRequire } from 'node:module';
      import { pino } from 'pino';
      const { buildGateway } = await import(${JSON.stringify(moduleUrl('../../../src/cli/gateway'))});
      const { defaultConfig } = await import(${JSON.stringify(moduleUrl('../../../src/config/gateway-config'))});
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/node_modules/serialport/'));
      const config = await defaultConfig();
      const gw = buildGateway({ ...config, enumerators: [] }, pino({ level: 'silent' }));
      gw.handlers.get('sensor-proxy/smp:1');
      const before = loaded();
      const { builtinEnumerators } = await import(${JSON.stringify(moduleUrl('../../../enumerators/builtin-enumerators'))});
      const e = builtinEnumerators.serial({ rules: [] }, { log: pino({ level: 'silent' }), baseDir: '.' });
      const afterFactory = loaded();
      await e.getAllComponents().catch(() => undefined);
      await e.close();
      console.log(JSON.stringify([before, afterFactory, loaded()]));`);
    assert.deepEqual(JSON.parse(out), [false, false, true]);
  });

  it('lazy enumerators and handlers still check their config at once and keep id / type / componentAware', () => {
    assert.throws(
      () => builtinEnumerators['usb']!({}, { log, baseDir: '.' }),
      (e: unknown) => isSensorProxyError(e, 'CONFIG_INVALID'),
    );
    assert.throws(
      () => builtinEnumerators['can']!({ interfaces: [], rules: [] }, { log, baseDir: '.' }),
      (e: unknown) => isSensorProxyError(e, 'CONFIG_INVALID'),
    );
    assert.equal(builtinEnumerators['serial']!({ rules: [] }, { log, baseDir: '.' }).type, 'serial');
    for (const [id, bad] of [
      ['sensor-proxy/smp:1', { mtu: 'x' }],
      ['sensor-proxy/ymodem:1', { baudRate: 'x' }],
      ['sensor-proxy/dfu:1', { backend: 'nope' }],
      ['sensor-proxy/uds:1', { interface: 7 }],
    ] as const) {
      assert.throws(
        () => builtinHandlers[id]!({ log, config: bad }),
        (e: unknown) => isSensorProxyError(e, 'CONFIG_INVALID'),
        id,
      );
      const h = builtinHandlers[id]!({ log, config: {} });
      assert.deepEqual([h.id, h.componentAware], [id, true]);
    }
  });

  it('limitAgentHeap keeps the new space from growing, and leaves an operator-chosen size alone', async () => {
    assert.equal(limitAgentHeap(['--max-semi-space-size=8'], ''), false);
    assert.equal(limitAgentHeap([], '--semi-space-growth-factor=2'), false);
    const newSpaceMiB = (limit: boolean) =>
      runNode(`
        import v8 from 'node:v8';
        const { limitAgentHeap } = await import(${JSON.stringify(moduleUrl('../../../src/hub/agent-heap'))});
        const applied = ${limit} ? limitAgentHeap([], '') : false;
        const keep = [];
        for (let i = 0; i < 2e6; i++) { const o = { a: i, b: 'x' + i }; if (i % 100 === 0) keep.push(o); }
        const ns = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
        console.log(JSON.stringify({ applied, mib: ns.space_size / 1048576, kept: keep.length }));`).then(
        (s) => JSON.parse(s) as { applied: boolean; mib: number },
      );
    const [limited, unlimited] = await Promise.all([newSpaceMiB(true), newSpaceMiB(false)]);
    assert.equal(limited.applied, true);
    assert.ok(limited.mib <= 4, `new space ${limited.mib} MiB with the limit`);
    assert.ok(unlimited.mib > limited.mib, `new space ${unlimited.mib} MiB without the limit`);
  });

  it('reclaiming stream buffers exposes no gc function, and the reclaimer fires once per interval', () => {
    reclaimStreamBuffers();
    assert.equal(
      typeof (globalThis as { gc?: unknown }).gc,
      process.execArgv.includes('--expose-gc') ? 'function' : 'undefined',
    );
    assert.equal(runInNewContext('typeof gc'), 'undefined');
    let calls = 0;
    const reclaim = bufferReclaimer(100, () => calls++);
    for (let i = 0; i < 25; i++) reclaim(10);
    assert.equal(calls, 2);
  });
});
