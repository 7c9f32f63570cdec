import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { pino } from 'pino';
import { chooseIsoTpBackend } from '../../../drivers/can/isotp-backend.js';
import { loadIsoTpAddon } from '../../../drivers/can/kernel-isotp/addon.js';
import { kernelIsoTpAvailability } from '../../../drivers/can/kernel-isotp/availability.js';
import { KernelIsoTpChannel, kernelSocketOptions } from '../../../drivers/can/kernel-isotp/kernel-channel.js';
import { resolveIsoTpOptions } from '../../../drivers/can/isotp/options.js';
import { isBusError } from '../../../drivers/shared/errors.js';
import { resolveUdsSettings, validateUdsHandlerConfig } from '../../../src/handlers/uds/uds-config.js';
import { resultFromUdsError, UdsErc } from '../../../src/handlers/uds/uds-erc.js';
import { UdsConnection } from '../../../src/handlers/uds/uds-connection.js';
import { SensorProxyError } from '../../../src/model/errors.js';

/**
 * Backend selection and the kernel backend's failure paths on this machine. The addon is our own
 * (make native); on a kernel without CAN (this CI host) its probe fails for real, which is exactly
 * the "module missing" case. The working paths are tested in the VM (test/vm/isotp-backends).
 */
const log = pino({ level: 'silent' });
const addon = loadIsoTpAddon();
const kernelHasNoCan = 'addon' in addon && addon.addon.probe() !== null;

test('isotp.backend is validated: auto (default) | kernel | user', () => {
  const r = resolveUdsSettings({}, undefined, { interface: 'vcan0', txId: 1, rxId: 2 });
  assert.ok(r.ok);
  assert.equal(r.value.isotp.backend, 'auto');
  assert.deepEqual(validateUdsHandlerConfig({ isotp: { backend: 'user' } }).isotp, { backend: 'user' });
  assert.throws(
    () => validateUdsHandlerConfig({ isotp: { backend: 'fast' } }),
    (e: unknown) => e instanceof SensorProxyError && /isotp must be an object \{ "backend"/.test(e.message),
  );
  assert.throws(() => validateUdsHandlerConfig({ isotp: { backend: 'kernel', extra: 1 } }), SensorProxyError);
  const step = resolveUdsSettings({ isotp: { backend: 'user' } }, undefined, {
    interface: 'vcan0',
    txId: 1,
    rxId: 2,
    isotp: { backend: 'kernel' },
  });
  assert.ok(step.ok && step.value.isotp.backend === 'kernel', 'handlerProperties override the gateway config');
});

test('the memory bus always takes the user-space ISO-TP; "kernel" on it is a config error', () => {
  assert.deepEqual(chooseIsoTpBackend('auto', 'mem:x').backend, 'user');
  assert.match(chooseIsoTpBackend('auto', 'mem:x').reason, /in-process memory bus/);
  assert.throws(
    () => chooseIsoTpBackend('kernel', 'mem:x'),
    (e) => isBusError(e, 'ISOTP_CONFIG'),
  );
  assert.deepEqual(chooseIsoTpBackend('user', 'can0'), { backend: 'user', reason: 'isotp.backend is "user"' });
});

test('availability names a missing interface; auto falls back to user space and says why', () => {
  const a = kernelIsoTpAvailability('nocan7');
  assert.equal(a.available, false);
  const c = chooseIsoTpBackend('auto', 'nocan7');
  assert.equal(c.backend, 'user');
  assert.match(c.reason, /kernel ISO-TP unavailable on nocan7: /);
  assert.throws(
    () => chooseIsoTpBackend('kernel', 'nocan7'),
    (e) => isBusError(e, 'ISOTP_KERNEL_UNAVAILABLE') && /nocan7/.test((e as Error).message),
  );
});

test('a kernel without ISO-TP sockets: the kernel backend names modprobe can-isotp and CONFIG_CAN_ISOTP', (t) => {
  if (!('addon' in addon)) return t.skip(`addon not built: ${addon.error}`);
  if (!kernelHasNoCan) return t.skip('this kernel opens CAN_ISOTP sockets (covered by test/vm)');
  // `lo` exists everywhere, so the open gets as far as socket(PF_CAN, …, CAN_ISOTP), which this kernel refuses.
  assert.throws(
    () => KernelIsoTpChannel.open('lo', { txId: 0x7e0, rxId: 0x7e8 }),
    (e) =>
      isBusError(e, 'ISOTP_KERNEL_UNAVAILABLE') &&
      /modprobe can-isotp/.test((e as Error).message) &&
      /CONFIG_CAN_ISOTP/.test((e as Error).message),
  );
  const r = resultFromUdsError(
    (() => {
      try {
        KernelIsoTpChannel.open('lo', { txId: 0x7e0, rxId: 0x7e8 });
      } catch (e) {
        return e;
      }
    })(),
    'install',
  );
  assert.equal(r.extendedResultCode, UdsErc.CanOpenFailed);
});

test('isotp.backend "kernel" fails before anything is opened or sent', async (t) => {
  let opened = 0;
  const s = resolveUdsSettings({ isotp: { backend: 'kernel' } }, undefined, { interface: 'vcan9', txId: 1, rxId: 2 });
  assert.ok(s.ok);
  await assert.rejects(
    UdsConnection.open(s.value, log, async () => {
      opened++;
      throw new Error('no bus may be opened');
    }),
    (e) => isBusError(e, 'ISOTP_KERNEL_UNAVAILABLE'),
  );
  assert.equal(opened, 0, 'no raw bus opened, so no frame can have been sent');
  if (existsSync('/sys/class/net/vcan9')) t.diagnostic('vcan9 exists here; the reason names the module instead');
});

test('socket options follow the ISO-TP options (linux/can/isotp.h structs)', (t) => {
  if (!('addon' in addon)) return t.skip(`addon not built: ${addon.error}`);
  const c = addon.addon.constants;
  const o = kernelSocketOptions(
    addon.addon,
    'can0',
    resolveIsoTpOptions({
      txId: 0x18da10f1,
      rxId: 0x18daf110,
      txDataLength: 64,
      padding: 0xaa,
      blockSize: 8,
      stMinUs: 300,
      txStMinOverrideUs: 2000,
      addressing: 'extended',
      txAddress: 0x10,
      rxAddress: 0xf1,
    }),
    { txId: 0, rxId: 0, waitTxDone: true },
  );
  assert.equal(o.extended, true);
  assert.equal(
    o.flags,
    c.CAN_ISOTP_TX_PADDING |
      c.CAN_ISOTP_EXTEND_ADDR |
      c.CAN_ISOTP_RX_EXT_ADDR |
      c.CAN_ISOTP_FORCE_TXSTMIN |
      c.CAN_ISOTP_WAIT_TX_DONE,
  );
  assert.deepEqual(
    [o.txPadContent, o.fcBs, o.fcStmin, o.txStminNs, o.llMtu, o.llTxDl, o.llTxFlags, o.extAddress, o.rxExtAddress],
    [0xaa, 8, 0xf3, 2_000_000, c.CANFD_MTU, 64, c.CANFD_BRS, 0x10, 0xf1],
  );
  assert.equal(o.frameTxTimeNs, c.CAN_ISOTP_FRAME_TXTIME_ZERO, 'back-to-back frames by default');
  const classic = kernelSocketOptions(addon.addon, 'can0', resolveIsoTpOptions({ txId: 1, rxId: 2, padding: false }), {
    txId: 1,
    rxId: 2,
  });
  assert.equal(classic.flags, 0);
  assert.equal(classic.llMtu, undefined, 'classic CAN: no CAN_ISOTP_LL_OPTS');
});
