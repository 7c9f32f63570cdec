/**
 * YMODEM per-block turnaround, ours vs lrzsz `sb` (printed, nothing asserted): where the time
 * between frames goes on the paced pty rig of ymodem.bench.ts.
 *
 * At the device (the rig's pty end, before pacing): the time from an ACK handed to the pty to the
 * first byte of the next frame arriving, for every data block, and the end of the session (last
 * ACK → EOT, NAK → EOT, 'C' → null block 0). Inside our sender (a child process, as `sb` is one):
 * the ACK's arrival at the port → the frame handed to the link → the write done. Senders: ours;
 * `stock`, ours on serialport's own binding (I/O through libuv's thread pool); `bare`, the floor of
 * a Node sender (frames encoded up front, one write(2) in the 'data' event); `sb`.
 * Clocks: `performance.timeOrigin + now()` in both processes (same host clock).
 * SP_BENCH_YMODEM_ROUNDS rounds (default 3) per rate; per-block figures pool all rounds.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSync } from 'node:fs';
import { SerialPort } from 'serialport';
import { directIoBinding } from '../../drivers/serial/direct-io-binding.js';
import { openSerialLink } from '../../drivers/serial/serialport-link.js';
import { encodeBlock, encodeEndOfBatchBlock, encodeHeaderBlock } from '../../drivers/serial/ymodem/codec.js';
import { YmodemSender } from '../../drivers/serial/ymodem/sender.js';
import { ACK, BLOCK_1K, CRC_REQUEST, EOT, NAK, STX } from '../../drivers/serial/ymodem/constants.js';
import { FileImageSource } from '../../drivers/shared/image-source.js';
import { startYmodemRig } from '../../hw-fixtures/serial/ymodem-rig.js';
import { traceSenderWire, type SenderWireTrace } from './ymodem-sender-trace.js';

const ROUNDS = Math.max(1, Math.floor(Number(process.env['SP_BENCH_YMODEM_ROUNDS'] ?? 3) || 3));
const now = () => performance.timeOrigin + performance.now();

/** `stock`: our sender on serialport's own binding (reads and writes through the thread pool). */
type Sender = 'ours' | 'stock' | 'bare' | 'sb';

interface WireEvent {
  dir: 'rx' | 'tx';
  first: number;
  len: number;
  at: number;
}

/**
 * Child mode `--bare`: the floor of a Node sender on this link: every frame encoded before the
 * start, each answer handled in the port's 'data' event with one write(2), no state machine, no
 * timers, no promises (a YMODEM sender that trusts the receiver: no NAK handling).
 */
async function bareMode(port: string, file: string, baudRate: number): Promise<void> {
  const image = await readFile(file);
  const frames = [encodeHeaderBlock({ fileName: 'fw.bin', size: image.length })];
  for (let off = 0, n = 1; off < image.length; off += BLOCK_1K, n++)
    frames.push(encodeBlock(n, image.subarray(off, off + BLOCK_1K), BLOCK_1K));
  frames.push(Uint8Array.of(EOT), Uint8Array.of(EOT), encodeEndOfBatchBlock());
  const sp = new SerialPort({
    path: port,
    baudRate,
    hupcl: false,
    autoOpen: false,
    binding: directIoBinding(),
  } as never);
  await new Promise<void>((resolve, reject) => sp.open((e) => (e ? reject(e) : resolve())));
  const fd = (sp as unknown as { port: { fd: number } }).port.fd;
  // The byte that releases frame i: 'C' for block 0 and block 1, ACK for the rest of the data and
  // the first EOT, NAK for the second EOT (the rig NAKs the first), 'C' for the null block; then ACK.
  const release = [CRC_REQUEST, CRC_REQUEST, ...frames.slice(2, -2).map(() => ACK), NAK, CRC_REQUEST, ACK];
  let next = 0;
  await new Promise<void>((resolve) => {
    sp.on('data', (d: Buffer) => {
      for (const b of d) {
        if (b === NAK && next >= 2 && next < frames.length - 2) {
          writeSync(fd, frames[next - 1]!); // a data frame or the first EOT again
          continue;
        }
        if (b !== release[next]) continue;
        if (next === frames.length) return resolve();
        writeSync(fd, frames[next++]!);
      }
    });
  });
  await new Promise<void>((resolve) => sp.close(() => resolve()));
}

/** Child mode: send `file`, print the sender-side trace as JSON. */
async function sendMode(port: string, file: string, baudRate: number, stock: boolean): Promise<void> {
  const link = await openSerialLink({
    path: port,
    baudRate,
    assertControlLinesOnOpen: false,
    ...(stock && { binding: SerialPort.binding }),
  });
  const trace = traceSenderWire(link, now);
  const source = await FileImageSource.open(file);
  try {
    await new YmodemSender(link).send(source, { fileName: 'fw.bin' });
    process.stdout.write(JSON.stringify(trace));
  } finally {
    await source.close();
    await link.close();
  }
}

async function run(
  who: Sender,
  baudRate: number,
  dir: string,
  size: number,
): Promise<{ wire: WireEvent[]; sender?: SenderWireTrace }> {
  const wire: WireEvent[] = [];
  const rig = await startYmodemRig({
    baudRate,
    startIn: 'bootloader',
    timing: { cIntervalMs: 100, bootMs: 1 },
    onWire: (d, data, at) => wire.push({ dir: d, first: data[0]!, len: data.length, at: performance.timeOrigin + at }),
  });
  const file = join(dir, 'fw.bin');
  const child =
    who !== 'sb'
      ? spawn(
          process.execPath,
          [...process.execArgv, fileURLToPath(import.meta.url), `--${who}`, rig.port, file, String(baudRate)],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        )
      : spawn('sh', ['-c', 'exec sb --ymodem -k -b -q fw.bin < "$0" > "$0"', rig.port], {
          cwd: dir,
          stdio: ['ignore', 'pipe', 'ignore'],
        });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (t: string) => (out += t));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    const rec = await rig.sim.waitForTransfer(1, 60_000);
    if (rec.kind !== 'complete' || rec.files[0]?.data.length !== size)
      throw new Error(`${who} transfer at ${baudRate} ended ${rec.kind}`);
    if ((await exited) !== 0) throw new Error(`${who} sender failed`);
    return who === 'ours' || who === 'stock' ? { wire, sender: JSON.parse(out) as SenderWireTrace } : { wire };
  } finally {
    child.kill('SIGKILL');
    await rig.close();
  }
}

/** Device side: gaps (µs) from each control byte the device sent to the next chunk that arrived, by what followed. */
function deviceGaps(wire: WireEvent[]): { data: number[]; eot: number[]; eotAgain: number[]; endOfBatch: number[] } {
  const g = { data: [] as number[], eot: [] as number[], eotAgain: [] as number[], endOfBatch: [] as number[] };
  let lastTx: WireEvent | undefined;
  let sawEot = false;
  for (const e of wire) {
    if (e.dir === 'tx') {
      if (e.len === 1) lastTx = e;
      continue;
    }
    if (!lastTx) continue;
    const us = (e.at - lastTx.at) * 1000;
    if (lastTx.first === ACK && e.first === STX && !sawEot) g.data.push(us);
    else if (lastTx.first === ACK && e.first === EOT && !sawEot) g.eot.push(us);
    else if (lastTx.first === NAK && e.first === EOT) g.eotAgain.push(us);
    else if (lastTx.first === CRC_REQUEST && sawEot) g.endOfBatch.push(us);
    if (e.first === EOT) sawEot = true;
    lastTx = undefined;
  }
  return g;
}

const q = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};
const fmt = (xs: number[]) =>
  xs.length === 0
    ? 'n/a'
    : `median ${q(xs, 0.5).toFixed(0).padStart(5)}  p10 ${q(xs, 0.1).toFixed(0).padStart(5)}  p90 ${q(xs, 0.9).toFixed(0).padStart(5)} µs (n=${xs.length})`;

async function main(): Promise<void> {
  const has = (cmd: string, arg: string) => {
    try {
      execFileSync(cmd, [arg], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (!has('socat', '-V') || !has('sb', '--version')) {
    console.log('ymodem turnaround bench skipped: needs socat and lrzsz');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'ymodem-turn-'));
  try {
    for (const [baud, size] of [
      [115200, 64 * 1024],
      [921600, 256 * 1024],
    ] as const) {
      await writeFile(join(dir, 'fw.bin'), randomBytes(size));
      const dev = { ours: deviceGaps([]), stock: deviceGaps([]), bare: deviceGaps([]), sb: deviceGaps([]) };
      const inSender = {
        react: [] as number[],
        write: [] as number[],
        ackPath: [] as number[],
        framePath: [] as number[],
      };
      const load0 = loadavg()[0]!;
      for (let r = 0; r < ROUNDS; r++) {
        for (const who of ['ours', 'stock', 'bare', 'sb'] as const) {
          const { wire, sender } = await run(who, baud, dir, size);
          const g = deviceGaps(wire);
          for (const k of Object.keys(g) as (keyof typeof g)[]) dev[who][k].push(...g[k]);
          if (!sender || who !== 'ours') continue;
          // Pair each ACK at the device with its arrival in the sender and the frame that answered it.
          const acks = wire.filter((e) => e.dir === 'tx' && e.first === ACK);
          const frames = wire.filter((e) => e.dir === 'rx' && e.first === STX);
          for (const b of sender.blocks.slice(1)) {
            inSender.react.push((b.writeIssued - b.ackAt) * 1000);
            inSender.write.push((b.writeDone - b.writeIssued) * 1000);
            const ack = acks.filter((a) => a.at <= b.ackAt).at(-1);
            const frame = frames.find((f) => f.at >= b.writeIssued - 0.05);
            if (ack) inSender.ackPath.push((b.ackAt - ack.at) * 1000);
            if (frame) inSender.framePath.push((frame.at - b.writeIssued) * 1000);
          }
        }
      }
      const load1 = loadavg()[0]!;
      console.log(
        `YMODEM turnaround at ${baud} baud, ${size / 1024} KiB, ${ROUNDS} rounds (load ${load0.toFixed(2)} → ${load1.toFixed(2)})`,
      );
      console.log(`  device: ACK out → next data frame in   ours ${fmt(dev.ours.data)}`);
      console.log(`                                          stock ${fmt(dev.stock.data)}`);
      console.log(`                                          bare ${fmt(dev.bare.data)}`);
      console.log(`                                          sb   ${fmt(dev.sb.data)}`);
      console.log(`  device: last ACK → EOT                  ours ${fmt(dev.ours.eot)}`);
      console.log(`                                          sb   ${fmt(dev.sb.eot)}`);
      console.log(`  device: NAK → EOT again                 ours ${fmt(dev.ours.eotAgain)}`);
      console.log(`                                          sb   ${fmt(dev.sb.eotAgain)}`);
      console.log(`  device: 'C' → null block 0              ours ${fmt(dev.ours.endOfBatch)}`);
      console.log(`                                          sb   ${fmt(dev.sb.endOfBatch)}`);
      console.log(`  ours inside: device ACK out → ACK at sender port   ${fmt(inSender.ackPath)}`);
      console.log(`               ACK at port → frame write issued      ${fmt(inSender.react)}`);
      console.log(`               write issued → write done             ${fmt(inSender.write)}`);
      console.log(`               write issued → frame at device        ${fmt(inSender.framePath)}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const [mode, port, file, baud] = process.argv.slice(2);
(mode === '--ours' || mode === '--stock'
  ? sendMode(port!, file!, Number(baud), mode === '--stock')
  : mode === '--bare'
    ? bareMode(port!, file!, Number(baud))
    : main()
).catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
