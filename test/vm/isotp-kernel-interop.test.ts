import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { CanFrame } from '../../drivers/can/frame.js';
import { IsoTpChannel } from '../../drivers/can/isotp/channel.js';
import { encodeStMin } from '../../drivers/can/isotp/st-min.js';
import { IFACE, TEST_TIMEOUT_MS, kernelIsoTpLoaded, openVcan, scaled } from './vm-env.js';

/**
 * Interop with the Linux kernel's ISO-TP (an independent implementation) through can-utils
 * isotpsend/isotprecv on real vcan: both directions, 1 / 7 / 4095 / 4500 bytes (> 4095: the 32-bit
 * FF_DL escape; can-utils' stdin buffer holds 5000), classic and CAN FD (TX_DL 64), and every value
 * of BS {0, 8}, STmin {0, 5 ms, 200 µs} and padding {on, off} spread over the cases.
 */
const SIZES = [1, 7, 4095, 4500];
const COMBOS: { bs: number; stMinUs: number; padding: boolean }[] = [];
for (const bs of [0, 8])
  for (const stMinUs of [0, 5000, 200]) for (const padding of [true, false]) COMBOS.push({ bs, stMinUs, padding });

interface Case {
  dir: 'to-kernel' | 'from-kernel';
  fd: boolean;
  size: number;
  bs: number;
  stMinUs: number;
  padding: boolean;
}
const CASES: Case[] = [];
let k = 0;
for (const dir of ['to-kernel', 'from-kernel'] as const)
  for (const fd of [false, true])
    for (const size of SIZES) CASES.push({ dir, fd, size, ...COMBOS[k++ % COMBOS.length]! });

const TESTER = 0x7e0;
const PEER = 0x7e8;

function payload(size: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 7 + seed) & 0xff);
}

function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
}

/** Kernel-side options: link layer for FD, tx padding (+ length check of what we send) when padding is on. */
function kernelArgs(c: Case): string[] {
  const a: string[] = [];
  if (c.fd) a.push('-L', '72:64:1');
  if (c.padding) a.push('-p', 'CC:CC', '-P', 'l');
  return a;
}

/** Waits until the kernel has an ISO-TP receiver registered for `id` (so a single frame is not lost). */
async function waitForKernelReceiver(id: number, deadlineMs: number): Promise<void> {
  const file = '/proc/net/can/rcvlist_sff';
  // e.g. "   vcan0     7e0    c00007ff  000000004ecd54a6  00000000392271b7         0  isotp"
  const needle = new RegExp(`\\s0*${id.toString(16)}\\s+[0-9a-f]*7ff\\s.*\\sisotp\\s*$`, 'im');
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (existsSync(file) && needle.test(readFileSync(file, 'utf8'))) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no kernel receiver for 0x${id.toString(16)} after ${deadlineMs} ms`);
}

interface Proc {
  done: Promise<string>;
  kill(): void;
}

function run(cmd: string, args: string[], stdin: string | undefined, timeoutMs: number): Proc {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  if (stdin !== undefined) child.stdin.end(stdin);
  else child.stdin.end();
  const done = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} did not finish within ${timeoutMs} ms; stderr: ${err}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code ?? sig}; stderr: ${err}`));
    });
  });
  return { done, kill: () => child.kill('SIGKILL') };
}

for (const c of CASES) {
  const name = `${c.dir} ${c.fd ? 'FD' : 'classic'} ${c.size} B, BS ${c.bs}, STmin ${c.stMinUs} µs, padding ${c.padding ? 'on' : 'off'}`;
  test(name, { timeout: TEST_TIMEOUT_MS }, async (t) => {
    if (!kernelIsoTpLoaded()) {
      if (process.env['CI'] === 'true') throw new Error('can-isotp is not loaded in CI');
      t.skip('kernel ISO-TP (can-isotp) not loaded');
      return;
    }
    const bus = await openVcan(t);
    if (!bus) return;
    const wire = await openVcan(t);
    const seen: CanFrame[] = [];
    const unsub = wire!.subscribe(undefined, (f) => seen.push(f));
    let proc: Proc | undefined;
    const ch = new IsoTpChannel(bus, {
      txId: TESTER,
      rxId: PEER,
      txDataLength: c.fd ? 64 : 8,
      padding: c.padding ? 0xcc : false,
      blockSize: c.bs,
      stMinUs: c.stMinUs,
      maxMessageSize: 8192,
      timeouts: { nAsMs: scaled(1000), nBsMs: scaled(1000), nCrMs: scaled(1000) },
    });
    try {
      const data = payload(c.size, c.size + (c.fd ? 1 : 0));
      if (c.dir === 'to-kernel') {
        const recv = (proc = run(
          'isotprecv',
          [
            '-s',
            PEER.toString(16),
            '-d',
            TESTER.toString(16),
            '-b',
            String(c.bs),
            '-m',
            encodeStMin(c.stMinUs).toString(16),
            ...kernelArgs(c),
            IFACE,
          ],
          undefined,
          scaled(30_000),
        ));
        await waitForKernelReceiver(TESTER, scaled(5000));
        await ch.send(data);
        const out = await recv.done;
        assert.equal(out.trim().toLowerCase(), toHex(data), 'isotprecv printed exactly what we sent');
        const ours = seen.filter((f) => f.id === TESTER);
        if (!c.fd) {
          if (c.padding)
            assert.ok(
              ours.every((f) => f.data.length === 8),
              'every frame we sent is padded to 8 bytes',
            );
          else if (c.size > 7)
            assert.ok(
              ours.some((f) => f.data.length < 8),
              'the last CF is length-optimised',
            );
        } else if (c.size > 62) {
          assert.equal(ours[0]!.data.length, 64, 'the FD first frame fills TX_DL 64');
        }
      } else {
        const send = (proc = run(
          'isotpsend',
          ['-s', PEER.toString(16), '-d', TESTER.toString(16), ...kernelArgs(c), IFACE],
          toHex(data),
          scaled(30_000),
        ));
        const got = await ch.receive(scaled(30_000));
        await send.done;
        assert.deepEqual(Buffer.from(got), Buffer.from(data), 'we received exactly what isotpsend sent');
        const fcs = seen.filter((f) => f.id === TESTER);
        if (c.size > (c.fd ? 62 : 7)) {
          const expectFc =
            1 +
            (c.bs > 0
              ? Math.floor(
                  (Math.ceil((c.size - (c.fd ? (c.size > 4095 ? 58 : 62) : c.size > 4095 ? 2 : 6)) / (c.fd ? 63 : 7)) -
                    1) /
                    c.bs,
                )
              : 0);
          assert.equal(fcs.length, expectFc, 'one FC after the FF plus one per completed block');
          assert.equal(fcs[0]!.data[1], c.bs, 'our FC announces BS');
          assert.equal(fcs[0]!.data[2], encodeStMin(c.stMinUs), 'our FC announces STmin');
          assert.equal(fcs[0]!.data.length, c.padding ? 8 : 3, 'FC padding follows the option');
        }
      }
      proc = undefined;
    } finally {
      if (proc) {
        // The test failed before the peer finished: stop it and record how it ended.
        proc.kill();
        await proc.done.then(
          (out) => t.diagnostic(`peer output: ${out.slice(0, 200)}`),
          (e: unknown) => t.diagnostic(`peer: ${(e as Error).message}`),
        );
      }
      unsub();
      ch.close();
      await bus.close();
      await wire!.close();
    }
  });
}
