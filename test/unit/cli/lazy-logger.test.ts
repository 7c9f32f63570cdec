import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { childLog } from '../../../drivers/shared/child-log.js';
import { createCliLogger } from '../../../src/cli/logger.js';
import { interceptStderrLines } from '../../../src/cli/stderr-lines.js';

/** Whether pino's main module is in the CommonJS cache of this process (each test file runs alone). */
const pinoLoaded = () =>
  Object.keys(createRequire(import.meta.url).cache).some((k) => /[/\\]pino[/\\]pino\.js$/.test(k));

describe('CLI logger: pino loads with the first line written', () => {
  it('a run that logs nothing at its level never loads pino; the first warn line does, with every binding once', () => {
    const lines: string[] = [];
    const stop = interceptStderrLines((t) => lines.push(t));
    try {
      const root = createCliLogger('warn', { pretty: false });
      const child = childLog(childLog(root, { component: 'handler', handler: 'h' }), { component: 'x', step: '0.0' });
      child.info({ a: 1 }, 'quiet');
      child.debug('quieter');
      assert.equal(child.isLevelEnabled('info'), false);
      assert.equal(child.isLevelEnabled('warn'), true);
      assert.deepEqual(child.bindings(), { component: 'handler', handler: 'h', step: '0.0' });
      assert.equal(child.level, 'warn');
      assert.equal(pinoLoaded(), false, 'pino loaded before any line was written');
      assert.deepEqual(lines, []);

      child.warn({ bytes: 3 }, 'slow device');
      assert.equal(pinoLoaded(), true);
      assert.equal(lines.length, 1);
      const line = String(lines[0]);
      assert.equal(line.match(/"component"/g)?.length, 1, line);
      assert.deepEqual(
        { ...(JSON.parse(line) as Record<string, unknown>), time: 0 },
        { level: 40, time: 0, component: 'handler', handler: 'h', step: '0.0', bytes: 3, msg: 'slow device' },
      );
      root.error(new Error('boom'), 'failed');
      const err = JSON.parse(String(lines[1])) as { level: number; msg: string; err: { message: string } };
      assert.deepEqual([err.level, err.msg, err.err.message], [50, 'failed', 'boom']);
    } finally {
      stop();
    }
  });

  it('an unknown level is refused at once, as pino does', () => {
    assert.throws(() => createCliLogger('chatty', { pretty: false }), /unknown level|chatty/i);
  });
});
