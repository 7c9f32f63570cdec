/**
 * On vcan (natively or in the qemu guest): our ISO-TP sender against the kernel's (can-utils
 * isotpsend) for the same 1 MiB — 256 messages of 4095 bytes into one kernel receiver
 * (`isotprecv -l`), BS 0, STmin 0, no N_As gap (`-t` = CAN_ISOTP_FRAME_TXTIME_ZERO). isotpsend is
 * one process per message, so both are timed on the wire: a third socket sums, per message, the
 * kernel timestamps from its first frame to its last (process starts and gaps between messages excluded).
 * Prints figures only. Skips (prints why) where vcan0 or can-utils are missing.
 *
 *   bash hw-fixtures/vm/vm-run.sh --modules "vcan can-raw can-isotp" -- sh -c \
 *     'bash hw-fixtures/can/setup-vcan.sh && node dist/test/bench/can-vcan.bench.js'
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IsoTpChannel } from '../../drivers/can/isotp/channel.js';
import { SocketCanBus } from '../../drivers/can/socketcan-bus.js';

const IFACE = process.env['SP_VCAN'] ?? 'vcan0';
const MESSAGES = 256;
const SIZE = 4095;

function skip(why: string): never {
  console.log(`can-vcan bench skipped: ${why}`);
  process.exit(0);
}

if (!existsSync(`/sys/class/net/${IFACE}`)) skip(`${IFACE} does not exist`);
if (spawnSync('sh', ['-c', 'command -v isotpsend && command -v isotprecv']).status !== 0)
  skip('can-utils not installed');

function startReceiver(): { stop(): void } {
  const rx = spawn('isotprecv', ['-l', '-s', '7e8', '-d', '7e0', IFACE], { stdio: ['ignore', 'ignore', 'inherit'] });
  return { stop: () => rx.kill('SIGTERM') };
}

/**
 * Sums per-message on-wire time (FF timestamp → last CF timestamp) of frames on 0x7E0, from a
 * `candump -L` log (C, so no frames are lost to a slow JavaScript listener under TCG).
 */
function wireTimer(): { stop(): Promise<{ seconds: number; messages: number }> } {
  const file = join(tmpdir(), `candump-${process.pid}-${Date.now()}.log`);
  const fd = openSync(file, 'w');
  const dump = spawn('candump', ['-L', '-r', '16777216', `${IFACE},7E0:7FF`], { stdio: ['ignore', fd, 'inherit'] });
  closeSync(fd);
  return {
    async stop() {
      await new Promise((r) => setTimeout(r, 500));
      dump.kill('SIGINT');
      await new Promise((r) => dump.once('exit', r));
      const log = readFileSync(file, 'utf8');
      rmSync(file, { force: true });
      let total = 0;
      let messages = 0;
      let first = 0;
      let last = 0;
      for (const line of log.split('\n')) {
        const m = /^\((\d+\.\d+)\) \S+ 7E0##?([0-9A-F])/i.exec(line);
        if (!m) continue;
        const ts = Number(m[1]);
        if (m[2] === '1') {
          if (messages > 0) total += last - first;
          first = last = ts;
          messages++;
        } else if (m[2] === '2') last = ts;
      }
      if (messages > 0) total += last - first;
      return { seconds: total, messages };
    },
  };
}

async function kernelLoop(len: number): Promise<number> {
  const t0 = performance.now();
  const r = spawnSync(
    'sh',
    [
      '-c',
      `i=0; while [ $i -lt ${MESSAGES} ]; do isotpsend -s 7e0 -d 7e8 -t 4294967295 -D ${len} ${IFACE} || exit 1; i=$((i+1)); done`,
    ],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) throw new Error('isotpsend failed');
  return (performance.now() - t0) / 1000;
}

const rx = startReceiver();
await new Promise((r) => setTimeout(r, 1500));
try {
  const bus = await SocketCanBus.open({ iface: IFACE, txTimeoutMs: 20_000 });
  const ch = new IsoTpChannel(bus, {
    txId: 0x7e0,
    rxId: 0x7e8,
    timeouts: { nAsMs: 20_000, nBsMs: 20_000, nCrMs: 20_000 },
  });
  const msg = new Uint8Array(SIZE).fill(0x33);
  const watch1 = wireTimer();
  await new Promise((r) => setTimeout(r, 1000));
  const t0 = performance.now();
  for (let i = 0; i < MESSAGES; i++) await ch.send(msg);
  const oursWall = (performance.now() - t0) / 1000;
  const oursWire = await watch1.stop();
  ch.close();
  await bus.close();
  const watch2 = wireTimer();
  await new Promise((r) => setTimeout(r, 1000));
  const kernelWall = await kernelLoop(SIZE);
  const kernelWire = await watch2.stop();
  const mib = (MESSAGES * SIZE) / 1048576;
  const ours = oursWire.seconds;
  const kernel = kernelWire.seconds;
  console.log(
    `vcan ISO-TP: ours ${ours.toFixed(2)} s on the wire (${oursWire.messages} messages, ${((mib / ours) * 1024).toFixed(0)} KiB/s; ${oursWall.toFixed(2)} s wall)`,
  );
  console.log(
    `vcan ISO-TP: kernel isotpsend ${kernel.toFixed(2)} s on the wire (${kernelWire.messages} messages, ${((mib / kernel) * 1024).toFixed(0)} KiB/s; ${kernelWall.toFixed(2)} s wall incl. ${MESSAGES} process starts)`,
  );
  console.log(
    `vcan ISO-TP: ours / kernel on-wire time ${(ours / kernel).toFixed(2)} (our throughput is ${((kernel / ours) * 100).toFixed(0)} % of the kernel's)`,
  );
} finally {
  rx.stop();
}
