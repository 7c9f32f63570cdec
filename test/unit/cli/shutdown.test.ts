/**
 * How a CLI process ends (src/cli/shutdown.ts, issue 13 item 7), with real signals sent to this
 * process and the exit replaced by a recorder.
 */
import { strict as assert } from 'node:assert';
import { EventEmitter, once } from 'node:events';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { SIGNAL_EXIT_CODE, installStopSignals, stopTimeoutMs } from '../../../src/cli/shutdown.js';

/** An io whose exit records the code and emits `exit` instead of ending the process. */
function recorder() {
  const events = new EventEmitter();
  const written: string[] = [];
  const exits: number[] = [];
  return {
    events,
    written,
    exits,
    io: {
      write: (t: string) => void written.push(t),
      exit: ((code: number) => {
        exits.push(code);
        events.emit('exit', code);
      }) as (code: number) => never,
    },
  };
}

describe('CLI stop signals', () => {
  let uninstall: (() => void) | undefined;
  // The bound timer is unref'd (it must not keep a finished CLI alive): hold the loop open meanwhile.
  let keepAlive: NodeJS.Timeout | undefined;
  beforeEach(() => {
    keepAlive = setInterval(() => undefined, 1000);
  });
  afterEach(() => {
    clearInterval(keepAlive);
    uninstall?.();
    process.exitCode = undefined;
  });

  it('the first SIGTERM aborts the command; if it does not stop, the bound forces exit 143 with a message', async () => {
    const r = recorder();
    const controller = new AbortController();
    uninstall = installStopSignals('agent', controller, 50, r.io);
    const exited = once(r.events, 'exit');
    process.kill(process.pid, 'SIGTERM');
    await once(controller.signal, 'abort');
    assert.equal(String(controller.signal.reason), 'Error: terminated');
    assert.deepEqual(await exited, [SIGNAL_EXIT_CODE.SIGTERM]);
    assert.match(r.written.join(''), /sensor-proxy agent: did not stop within 50 ms of SIGTERM; exiting/);
  });

  it('a second SIGINT exits at once with 130', async () => {
    const r = recorder();
    const controller = new AbortController();
    uninstall = installStopSignals('flash', controller, 3_600_000, r.io);
    process.kill(process.pid, 'SIGINT');
    await once(controller.signal, 'abort');
    assert.deepEqual(r.exits, [], 'the first signal only cancels');
    assert.match(r.written.join(''), /Ctrl-C again to exit at once/);
    const exited = once(r.events, 'exit');
    process.kill(process.pid, 'SIGINT');
    assert.deepEqual(await exited, [SIGNAL_EXIT_CODE.SIGINT]);
    assert.match(r.written.join(''), /SIGINT again; exiting now/);
  });

  it('the bound stays below the service stop timeout; SENSOR_PROXY_STOP_TIMEOUT_MS overrides it', () => {
    assert.equal(stopTimeoutMs({}), 20_000);
    assert.equal(stopTimeoutMs({ SENSOR_PROXY_STOP_TIMEOUT_MS: '1500' }), 1500);
    assert.equal(stopTimeoutMs({ SENSOR_PROXY_STOP_TIMEOUT_MS: 'soon' }), 20_000);
  });
});
