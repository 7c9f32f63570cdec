import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { delay, withDeadline } from '../../../drivers/shared/deadline.js';
import { CancelledError } from '../../../drivers/shared/errors.js';

describe('withDeadline / delay', () => {
  it('resolves, times out with the caller-built error, or rejects with CancelledError on abort', async () => {
    assert.equal(await withDeadline(Promise.resolve(7), 1000, () => new Error('late')), 7);
    await assert.rejects(
      withDeadline(new Promise(() => {}), 5, () => new Error('late')),
      /late/,
    );
    const ac = new AbortController();
    const p = withDeadline(new Promise(() => {}), 10_000, () => new Error('late'), ac.signal);
    ac.abort('user');
    await assert.rejects(p, CancelledError);
    await assert.rejects(delay(10_000, AbortSignal.abort()), CancelledError);
  });

  it('with an already-aborted signal, a later rejection of the wrapped promise is not unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      let fail!: (e: Error) => void;
      const inner = new Promise<never>((_, reject) => (fail = reject));
      await assert.rejects(
        withDeadline(inner, 1000, () => new Error('late'), AbortSignal.abort()),
        CancelledError,
      );
      fail(new Error('write failed after the abort'));
      await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
