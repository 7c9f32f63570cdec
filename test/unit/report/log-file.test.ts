import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RotatingLogFile } from '../../../src/cli/log-file.js';
import { createCliLogger } from '../../../src/cli/logger.js';

describe('bounded log file (logFile, logFileMaxBytes)', () => {
  it('rotates to .1 at maxBytes, keeping whole lines, never more than two files', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'logfile-')), 'logs', 'sensor-proxy.log');
    const f = new RotatingLogFile({ path, maxBytes: 4096 }, (e) => assert.fail(e));
    for (let i = 0; i < 1000; i++) f.write(`{"n":${i},"msg":"${'x'.repeat(40)}"}\n`);
    f.close();
    const cur = await readFile(path, 'utf8');
    const old = await readFile(path + '.1', 'utf8');
    assert.ok((await stat(path)).size <= 4096 && (await stat(path + '.1')).size <= 4096);
    assert.match(cur, /"n":999,/);
    const lines = (old + cur).trimEnd().split('\n');
    assert.ok(
      lines.every((l) => JSON.parse(l)),
      'whole lines only',
    );
    const ns = lines.map((l) => (JSON.parse(l) as { n: number }).n);
    assert.deepEqual(
      ns,
      ns.map((_, i) => ns[0]! + i),
      'the two files hold the most recent lines, in order',
    );
  });

  it('the CLI logger writes info to the file while stderr shows warnings only', async () => {
    const path = join(await mkdtemp(join(tmpdir(), 'logfile-')), 'sp.log');
    const log = createCliLogger('warn', { pretty: false, file: { path, maxBytes: 1 << 20, level: 'info' } });
    log.info({ step: '0' }, 'an info line');
    log.debug('not at debug');
    const text = await readFile(path, 'utf8');
    assert.match(text, /"msg":"an info line"/);
    assert.doesNotMatch(text, /not at debug/);
  });

  it('a log file that cannot be written is reported once and never fails the command', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'logfile-'));
    await chmod(dir, 0o500);
    const errors: Error[] = [];
    const f = new RotatingLogFile({ path: join(dir, 'ro', 'sp.log'), maxBytes: 4096 }, (e) => errors.push(e));
    if (process.getuid?.() === 0) {
      // root writes anywhere: make the path impossible instead (a file where the folder should be)
      const g = new RotatingLogFile({ path: '/dev/null/sp.log', maxBytes: 4096 }, (e) => errors.push(e));
      g.write('a\n');
      g.write('b\n');
    } else {
      f.write('a\n');
      f.write('b\n');
    }
    assert.equal(errors.length, 1);
  });
});
