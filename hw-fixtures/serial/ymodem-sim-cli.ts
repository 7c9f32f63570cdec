/**
 * The YMODEM bootloader simulator standalone, for trying the agent (or `sb`) by hand:
 *
 *   node --import tsx hw-fixtures/serial/ymodem-sim-cli.ts --pty [--baud 115200] [--version 1.0.0]
 *       prints "host port: /dev/pts/N"; flash it with the agent or `sb --ymodem -k fw.bin < /dev/pts/N > /dev/pts/N`
 *   node --import tsx hw-fixtures/serial/ymodem-sim-cli.ts --port /dev/pts/7 ...
 *       serves an existing pty/tty end (e.g. one side of your own `socat` pair)
 *
 * Options: --entry bytes:<hex> | dtr | external (default bytes:7f424f4f540d); --start app|bootloader;
 * --flash-ms <per block>; --fault corrupt:<blk> | drop:<blk>:<n> | stall:<blk>:<ms> | gone:<blk> |
 * naks:<blk>:<n> | no-eob | boot-fails (repeatable); --checksum: an old bootloader that asks with NAK
 * and takes 8-bit-checksum 128-byte blocks only. Runs until SIGINT/SIGTERM; logs to stderr.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { PacedPort } from './paced-port.js';
import { YmodemBootloaderSim, type YmodemSimEntry, type YmodemSimFaults } from './ymodem-bootloader-sim.js';
import { startYmodemRig } from './ymodem-rig.js';

function entryOf(text: string): YmodemSimEntry {
  if (text === 'dtr') return { type: 'dtr-pulse' };
  if (text === 'external') return { type: 'external' };
  const m = /^bytes:((?:[0-9a-fA-F]{2})+)$/.exec(text);
  if (!m) throw new Error(`--entry ${text}: use bytes:<hex>, dtr or external`);
  return { type: 'bytes', bytes: Uint8Array.from(Buffer.from(m[1]!, 'hex')) };
}

function faultsOf(list: string[]): YmodemSimFaults & { bootFails?: boolean } {
  const f: YmodemSimFaults & { bootFails?: boolean } = {};
  for (const item of list) {
    const [kind, a, b] = item.split(':');
    const n = (v: string | undefined) => {
      const x = Number(v);
      if (!Number.isFinite(x)) throw new Error(`--fault ${item}: ${v} is not a number`);
      return x;
    };
    if (kind === 'corrupt') f.corruptBlock = { block: n(a) };
    else if (kind === 'drop') f.dropBytes = { block: n(a), count: n(b) };
    else if (kind === 'stall') f.stall = { block: n(a), ms: b === 'forever' ? Infinity : n(b) };
    else if (kind === 'gone') f.disappearAt = { block: n(a) };
    else if (kind === 'naks') f.nakStorm = { block: n(a), count: n(b) };
    else if (kind === 'no-eob') f.noEndOfBatch = true;
    else if (kind === 'boot-fails') f.bootFails = true;
    else throw new Error(`--fault ${item}: unknown fault`);
  }
  return f;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      pty: { type: 'boolean', default: false },
      port: { type: 'string' },
      baud: { type: 'string', default: '115200' },
      entry: { type: 'string', default: 'bytes:7f424f4f540d' },
      start: { type: 'string', default: 'app' },
      version: { type: 'string', default: '1.0.0' },
      'flash-ms': { type: 'string', default: '0' },
      fault: { type: 'string', multiple: true, default: [] },
      checksum: { type: 'boolean', default: false },
    },
  });
  if (!values.pty && !values.port) throw new Error('give --pty (start a socat pair) or --port <path>');
  const log = pino({ level: 'info' }, pino.destination(2));
  const opts = {
    entry: entryOf(values.entry),
    startIn: values.start === 'bootloader' ? ('bootloader' as const) : ('app' as const),
    version: values.version,
    timing: { flashWriteMsPerBlock: Number(values['flash-ms']) },
    faults: faultsOf(values.fault),
    check: values.checksum ? ('checksum' as const) : ('crc' as const),
    log,
  };
  const baudRate = Number(values.baud);
  let stop: () => Promise<void>;
  if (values.pty) {
    const rig = await startYmodemRig({ ...opts, baudRate });
    process.stdout.write(`host port: ${rig.port}\n`);
    stop = () => rig.close();
  } else {
    const port = await PacedPort.open({ path: values.port!, baudRate, log });
    const sim = new YmodemBootloaderSim({ ...opts, port });
    stop = () => sim.close();
  }
  log.info(
    { baudRate, entry: values.entry, start: values.start, version: values.version },
    'ymodem bootloader simulator running',
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await stop();
}

main().catch((e: unknown) => {
  process.stderr.write(`ymodem-sim: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
