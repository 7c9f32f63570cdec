/**
 * The UDS ECU simulator by hand (style anchors §5: simulators can be started on vcan for the CLI):
 *
 *   node dist/hw-fixtures/can/ecu-sim-main.js --iface vcan0 [--rx 0x7E0] [--tx 0x7E8] [--version 1.0.0]
 *        [--serial SIM00001] [--system-name sim-ecu] [--fd] [--block-size 16] [--log debug]
 *
 * Runs until SIGINT/SIGTERM. Seed/key: key = seed XOR 5A A5 3C C3 (the handler's default `xor` keyMask);
 * flash at 0x08000000, 512 KiB; check routine 0x0202 with the image CRC-32.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { openCanBus } from '../../drivers/can/open-bus.js';
import { EcuSimulator } from './ecu-simulator.js';

const { values } = parseArgs({
  options: {
    iface: { type: 'string', default: 'vcan0' },
    rx: { type: 'string', default: '0x7E0' },
    tx: { type: 'string', default: '0x7E8' },
    version: { type: 'string', default: '1.0.0' },
    serial: { type: 'string', default: 'SIM00001' },
    'system-name': { type: 'string', default: 'sim-ecu' },
    fd: { type: 'boolean', default: false },
    'block-size': { type: 'string', default: '16' },
    log: { type: 'string', default: 'info' },
  },
});

const log = pino({ level: values.log }, pino.destination(2));
const bus = await openCanBus(values.iface!, { log });
const sim = new EcuSimulator({
  bus,
  rxId: Number(values.rx),
  txId: Number(values.tx),
  identity: { version: values.version!, serial: values.serial!, systemName: values['system-name']! },
  isotp: { blockSize: Number(values['block-size']), ...(values.fd ? { txDataLength: 64 } : {}) },
  log,
});
log.info({ iface: values.iface, ...sim.ids, version: values.version }, 'ECU simulator running');
// A memory bus arms no timer while idle: keep the process alive until a signal.
const keepAlive = setInterval(() => {}, 1 << 30);
const stop = async () => {
  clearInterval(keepAlive);
  sim.close();
  await bus.close();
  log.info({ requests: sim.requests.length, flash: sim.flash.counters }, 'ECU simulator stopped');
  log.flush();
  process.exitCode = 0;
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
