/**
 * Quieter logs (issue 12 item 5): a happy-path flash logs no WARN. One deployment through the CLI's
 * flash command (in process, so the in-process CAN and USB buses of the demo rig are reachable),
 * every handler on its simulator: an MCUmgr/SMP sensor and a YMODEM bootloader on socat pty pairs,
 * a UDS ECU on the in-process CAN bus, a DFU device on the in-process USB bus, and script steps on
 * the host and for two inventory cameras (hw-fixtures/demo/demo-rig.ts, what `make demo` flashes).
 * The log is taken at debug level, so a warning that only shows at a quieter level is caught too.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { startDemoRig, type DemoRig } from '../../hw-fixtures/demo/demo-rig.js';
import { ptyRigSkip } from '../../hw-fixtures/serial/rig-availability.js';
import { flashCommand } from '../../src/cli/flash-command.js';
import { ExitCode } from '../../src/cli/output.js';

type Rec = Record<string, unknown> & { level: number; msg?: string };

/** The keys of a JSON object line at its top level, in order and with repeats (JSON.parse keeps the last). */
function topLevelKeys(line: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      let j = i + 1;
      while (line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
      if (depth === 1 && line[j + 1] === ':') keys.push(JSON.parse(line.slice(i, j + 1)) as string);
      i = j;
    }
  }
  return keys;
}
const WARN = 40;
const HANDLERS = [
  'sensor-proxy/smp:1',
  'sensor-proxy/ymodem:1',
  'sensor-proxy/uds:1',
  'sensor-proxy/dfu:1',
  'microsoft/script:1',
];

describe('a happy-path flash of every handler logs no WARN', { skip: ptyRigSkip(), timeout: 300_000 }, () => {
  let root: string;
  let rig: DemoRig | undefined;
  const records: Rec[] = [];
  const duplicated: string[] = [];
  let code: number;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'sp-quiet-logs-'));
    rig = await startDemoRig(root);
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (!line) continue;
          records.push(JSON.parse(line) as Rec);
          const keys = topLevelKeys(line);
          if (new Set(keys).size !== keys.length) duplicated.push(line);
        }
        done();
      },
    });
    const prevState = process.env.SENSOR_PROXY_STATE_DIR;
    process.env.SENSOR_PROXY_STATE_DIR = join(root, 'state');
    try {
      code = await flashCommand(
        {
          manifest: rig.parentManifest,
          config: rig.configPath,
          inventories: [],
          components: [],
          dryRun: false,
          json: false,
          log: () => pino({ level: 'debug' }, sink),
        },
        new AbortController().signal,
      );
    } finally {
      if (prevState === undefined) delete process.env.SENSOR_PROXY_STATE_DIR;
      else process.env.SENSOR_PROXY_STATE_DIR = prevState;
    }
  });
  after(async () => {
    await rig?.close();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('the deployment succeeds and every handler flashed something', () => {
    assert.equal(code, ExitCode.Success, JSON.stringify(records.filter((r) => r.level >= WARN)));
    for (const h of HANDLERS)
      assert.ok(
        records.some((r) => r.handler === h && r.level >= 20),
        `${h} logged nothing: it did not run (handlers seen: ${[...new Set(records.map((r) => r.handler))].join(', ')})`,
      );
  });

  it('nothing at WARN or above, from any handler or the engine', () => {
    const loud = records.filter((r) => r.level >= WARN);
    assert.deepEqual(
      loud.map((r) => `${JSON.stringify(r.handler ?? '-')} ${JSON.stringify(r.componentId ?? '')}: ${r.msg ?? ''}`),
      [],
      JSON.stringify(loud, null, 1),
    );
  });

  it('script output lines are below WARN and name their step', () => {
    const lines = records.filter((r) => r.handler === 'microsoft/script:1' && typeof r.stream === 'string');
    assert.ok(lines.length > 0, 'the script steps printed lines');
    for (const r of lines) {
      assert.ok(r.level <= 30, `script ${String(r.stream)} at level ${r.level}: ${r.msg}`);
      assert.equal(typeof r.step, 'string', 'the step is named');
    }
  });

  it('no log line has a key twice', () => {
    assert.ok(records.length > 50, 'the debug log was captured');
    assert.deepEqual(duplicated, []);
  });
});
