import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorSummary, LogThrottle } from '../../../src/hub/log-throttle.js';
import { jittered } from '../../../src/hub/twin-link.js';

describe('LogThrottle', () => {
  it('logs the first burst, then one per interval with the count left out, and starts over after reset', () => {
    let now = 0;
    const t = new LogThrottle(3, 60_000, () => now);
    const seen: boolean[] = [];
    for (let i = 0; i < 10; i++) {
      seen.push(t.next().log);
      now += 1000;
    }
    assert.deepEqual(seen, [true, true, true, false, false, false, false, false, false, false]);
    now = 63_000; // a minute after the third logged line
    assert.deepEqual(t.next(), { log: true, suppressed: 7 });
    now += 30_000;
    assert.equal(t.next().log, false);
    t.reset();
    assert.deepEqual(t.next(), { log: true, suppressed: 0 });
  });

  it('a failure every 2 s for ten minutes gives the burst plus one line a minute', () => {
    let now = 0;
    const t = new LogThrottle(5, 60_000, () => now);
    let lines = 0;
    for (; now < 600_000; now += 2000) if (t.next().log) lines++;
    assert.ok(lines >= 5 + 9 && lines <= 5 + 10, `${lines} lines`);
  });
});

describe('errorSummary', () => {
  it('keeps the message and code, never the stack', () => {
    const e = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8883'), { code: 'ECONNREFUSED' });
    assert.deepEqual(errorSummary(e), { error: 'connect ECONNREFUSED 127.0.0.1:8883', code: 'ECONNREFUSED' });
    assert.deepEqual(errorSummary('plain'), { error: 'plain' });
  });
});

describe('jittered back-off', () => {
  it('stays within [base/2, base]', () => {
    assert.equal(
      jittered(1000, () => 0),
      500,
    );
    assert.equal(
      jittered(1000, () => 1),
      1000,
    );
    for (let i = 0; i < 100; i++) {
      const d = jittered(800);
      assert.ok(d >= 400 && d <= 800, String(d));
    }
  });
});
