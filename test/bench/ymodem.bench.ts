/**
 * YMODEM-1K figures (printed, nothing asserted about speed):
 *  1. throughput of our sender through the real `serialport` link into the bootloader simulator
 *     paced at 115200 and 921600 baud, as a fraction of the line rate (8N1: baud/10 bytes/s);
 *  2. our sender vs lrzsz `sb` on the same paced link: time ratio, measured at the device (first
 *     header received → batch ended) so both see the same 'C' timing; our sender runs in a child
 *     process (this file with `--send`), as `sb` does, so neither shares the simulator's event loop;
 *  3. CPU per block and RSS of our process while it streams a file into lrzsz `rb` (its own
 *     process) over an unpaced pty: sender + serialport link only.
 * Parts 1-2 run SP_BENCH_YMODEM_ROUNDS rounds (default 3) of ours then sb per baud rate and print
 * medians (the ratio is the median of the rounds' ratios: both saw the same load in a round).
 * Needs socat and lrzsz; parts whose tool is missing are skipped with a note. Runs in ~2 min.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSerialLink } from '../../drivers/serial/serialport-link.js';
import { YmodemSender } from '../../drivers/serial/ymodem/sender.js';
import { FileImageSource } from '../../drivers/shared/image-source.js';
import { openPtyPair } from '../../hw-fixtures/serial/pty-pair.js';
import { startYmodemRig } from '../../hw-fixtures/serial/ymodem-rig.js';
import { recordFigure } from './summary.js';

/** Rounds per baud rate (ours, then sb); medians are printed. */
const ROUNDS = Math.max(1, Math.floor(Number(process.env['SP_BENCH_YMODEM_ROUNDS'] ?? 3) || 3));

const has = (cmd: string, arg: string) => {
  try {
    execFileSync(cmd, [arg], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** Child-process mode: send `file` to `port` and exit (0 = delivered). */
async function sendMode(port: string, file: string, baudRate: number): Promise<void> {
  const link = await openSerialLink({ path: port, baudRate, assertControlLinesOnOpen: false });
  const source = await FileImageSource.open(file);
  try {
    const acks: { t: number; bytes: number }[] = [];
    await new YmodemSender(link).send(source, {
      fileName: 'fw.bin',
      onProgress: (p) => acks.push({ t: performance.now(), bytes: p.bytesDone }),
    });
    const first = acks[0]!;
    const last = acks.at(-1)!;
    process.stdout.write(JSON.stringify({ steady: ((last.bytes - first.bytes) * 1000) / (last.t - first.t) }));
  } finally {
    await source.close();
    await link.close();
  }
}

/** Device-side duration of the first batch (ms) and the sender's data-phase payload rate between the first and last ACK (B/s). */
async function ours(baudRate: number, file: string, size: number): Promise<{ ms: number; steady: number }> {
  const rig = await startYmodemRig({ baudRate, startIn: 'bootloader', timing: { cIntervalMs: 100, bootMs: 1 } });
  const child = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), '--send', rig.port, file, String(baudRate)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (t: string) => (out += t));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    const rec = await rig.sim.waitForTransfer(1, 60_000);
    if (rec.kind !== 'complete' || rec.files[0]?.data.length !== size)
      throw new Error(`our transfer at ${baudRate} ended ${rec.kind}`);
    if ((await exited) !== 0) throw new Error('sender child failed');
    return { ms: rec.endedAt - rec.startedAt!, steady: (JSON.parse(out) as { steady: number }).steady };
  } finally {
    child.kill('SIGKILL');
    await rig.close();
  }
}

async function sb(baudRate: number, dir: string, size: number): Promise<number> {
  const rig = await startYmodemRig({ baudRate, startIn: 'bootloader', timing: { cIntervalMs: 100, bootMs: 1 } });
  const child = spawn('sh', ['-c', 'exec sb --ymodem -k -b -q fw.bin < "$0" > "$0"', rig.port], {
    cwd: dir,
    stdio: 'ignore',
  });
  try {
    const rec = await rig.sim.waitForTransfer(1, 60_000);
    if (rec.kind !== 'complete' || rec.files[0]?.data.length !== size)
      throw new Error(`sb transfer at ${baudRate} ended ${rec.kind}`);
    return rec.endedAt - rec.startedAt!;
  } finally {
    child.kill('SIGKILL');
    await rig.close();
  }
}

async function cpuIntoRb(
  file: string,
  dir: string,
  size: number,
): Promise<{ cpuUsPerBlock: number; rssBaseMiB: number; rssPeakMiB: number; kBps: number }> {
  const pair = await openPtyPair();
  const rb = spawn('sh', ['-c', 'exec rb --ymodem -b -y -q < "$0" > "$0"', pair.b], {
    cwd: join(dir, 'rx'),
    stdio: 'ignore',
  });
  const link = await openSerialLink({ path: pair.a, assertControlLinesOnOpen: false });
  const source = await FileImageSource.open(file);
  global.gc?.();
  const rssBase = process.memoryUsage().rss;
  let rssPeak = rssBase;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 20);
  try {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const r = await new YmodemSender(link).send(source, { fileName: 'big.bin' });
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return {
      cpuUsPerBlock: (cpu.user + cpu.system) / r.blocks,
      rssBaseMiB: rssBase / 2 ** 20,
      rssPeakMiB: rssPeak / 2 ** 20,
      kBps: size / ms,
    };
  } finally {
    clearInterval(sampler);
    rb.kill('SIGKILL');
    await source.close();
    await link.close();
    await pair.close();
  }
}

async function main(): Promise<void> {
  if (!has('socat', '-V')) {
    console.log('ymodem bench skipped: socat not installed');
    return;
  }
  const lrzsz = has('sb', '--version') && has('rb', '--version');
  const dir = await mkdtemp(join(tmpdir(), 'ymodem-bench-'));
  try {
    await import('node:fs/promises').then((fs) => fs.mkdir(join(dir, 'rx')));
    console.log('YMODEM-1K, our sender → bootloader simulator over a pty (serialport), paced 8N1');
    console.log('baud     image      time      payload      line rate   fraction   data phase   sb time    ours/sb');
    for (const [baud, size] of [
      [115200, 64 * 1024],
      [921600, 256 * 1024],
    ] as const) {
      const file = join(dir, 'fw.bin');
      await writeFile(file, randomBytes(size));
      // Rounds of ours then sb, back to back (same load); the figure is the median of the rounds' ratios.
      const rounds: { t: number; steady: number; ts?: number }[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const { ms: t, steady } = await ours(baud, file, size);
        rounds.push({ t, steady, ...(lrzsz && { ts: await sb(baud, dir, size) }) });
      }
      const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const t = mid(rounds.map((r) => r.t));
      const steady = mid(rounds.map((r) => r.steady));
      const payload = size / (t / 1000);
      const line = baud / 10;
      let sbCol = 'n/a (no lrzsz)';
      if (lrzsz) {
        const ratios = rounds.map((r) => r.t / r.ts!);
        const ratio = mid(ratios);
        sbCol = `${(mid(rounds.map((r) => r.ts!)) / 1000).toFixed(2)} s   ${ratio.toFixed(3)} (rounds ${ratios.map((x) => x.toFixed(3)).join(', ')})`;
        recordFigure({ name: `ymodem ${baud} baud: time ours/sb`, value: ratio, goal: 1, better: 'lower', unit: 'x' });
      }
      console.log(
        `${String(baud).padEnd(8)} ${String(size / 1024).padStart(4)} KiB  ${(t / 1000).toFixed(2).padStart(6)} s  ${(payload / 1000).toFixed(2).padStart(6)} kB/s  ${(line / 1000).toFixed(2).padStart(6)} kB/s  ${((100 * payload) / line).toFixed(1).padStart(6)} %   ${((100 * steady) / line).toFixed(1).padStart(6)} %     ${sbCol}`,
      );
    }
    console.log(
      'time = device-measured, first header received → batch ended; data phase = payload rate between the first and last ACK',
    );
    console.log(
      'ceiling: 1024 payload bytes per 1029-byte frame + 1-byte ACK = 99.4 % before turnaround and flash time',
    );
    if (lrzsz) {
      const size = 2 * 1024 * 1024;
      const file = join(dir, 'big.bin');
      await writeFile(file, randomBytes(size));
      const c = await cpuIntoRb(file, dir, size);
      console.log(
        `CPU, our sender + serialport link streaming ${size / 2 ** 20} MiB into rb (unpaced pty): ${c.cpuUsPerBlock.toFixed(0)} µs per 1K block, ${c.kBps.toFixed(0)} kB/s`,
      );
      console.log(
        `RSS: ${c.rssBaseMiB.toFixed(1)} MiB before, ${c.rssPeakMiB.toFixed(1)} MiB peak (image streamed, not loaded)`,
      );
    } else {
      console.log('CPU/RSS part skipped: lrzsz not installed');
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

(process.argv[2] === '--send' ? sendMode(process.argv[3]!, process.argv[4]!, Number(process.argv[5])) : main()).catch(
  (e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  },
);
