/**
 * Shared rig of the quick-flash-on-CAN vm tests (quick-flash-can*.test.ts): a gateway config with the
 * VM's timeouts, the built CLI, a C `candump` of every frame, and what the independent Python ECU
 * (hw-fixtures/can/uds_kernel_peer.py) says it received.
 */
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IsoTpBackend } from '../../drivers/can/isotp/transport.js';
import { kernelIsoTpAvailability } from '../../drivers/can/kernel-isotp/availability.js';
import type { KernelEcu } from '../../hw-fixtures/can/kernel-peer.js';
import { collect, startCli, type CliRun } from '../helpers/cli.js';
import { IFACE, TEST_TIMEOUT_MS, openVcan, scaled } from './vm-env.js';

export const KiB = 1024;
export const BACKENDS: IsoTpBackend[] = ['kernel', 'user'];

/** vcan, kernel ISO-TP (the Python ECU's) and can-utils are there; else a skip (a failure in CI). */
export async function rigReady(t: TestContext): Promise<boolean> {
  const bus = await openVcan(t);
  if (!bus) return false;
  await bus.close();
  const a = kernelIsoTpAvailability(IFACE);
  if (!a.available) {
    if (process.env['CI'] === 'true') throw new Error(`kernel ISO-TP unavailable in CI: ${a.reason}`);
    t.skip(a.reason);
    return false;
  }
  if (spawnSync('candump', ['-h']).error) {
    if (process.env['CI'] === 'true') throw new Error('candump (can-utils) missing in CI');
    t.skip('can-utils not installed');
    return false;
  }
  return true;
}

/** A gateway config as a field engineer's, with the VM's timeouts (scaled: TCG runs code ~20x slower). */
export async function sandbox(backend: IsoTpBackend | 'auto', uds: Record<string, unknown> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'sp-qf-can-'));
  const config = join(dir, 'gateway.json');
  await writeFile(
    config,
    JSON.stringify({
      stateDir: join(dir, 'state'),
      enumerators: [],
      handlers: {
        'sensor-proxy/uds:1': {
          memoryAddress: '0x08000000',
          isotp: { backend },
          p2Ms: scaled(1000),
          p2MarginMs: scaled(250),
          resetTimeoutMs: scaled(5000),
          nAsMs: scaled(1000),
          nBsMs: scaled(1000),
          nCrMs: scaled(1000),
          ...uds,
        },
      },
    }),
  );
  return { dir, config, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** The built CLI (`node dist/src/cli/main.js`), as a field engineer runs it. */
export function cli(args: string[]): Promise<CliRun> {
  return collect(startCli(args), TEST_TIMEOUT_MS - 10_000);
}

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export interface Frame {
  id: number;
  data: string;
}

/** The tester's flow control for a multi-frame response (ISO-TP FC: PCI type 3), not a request. */
export const isFlowControl = (f: Frame) => f.data.startsWith('3');

/**
 * Every frame on the interface, logged by can-utils' candump (C: none lost to a slow JavaScript
 * listener under TCG). Ready once a marker frame (0x7FF, no ECU's id) has come back through it.
 * `stop()` may be called more than once; it returns the frames without the markers.
 */
export async function startCandump(): Promise<{ stop(): Promise<Frame[]> }> {
  const file = join(tmpdir(), `qf-candump-${process.pid}-${Date.now()}.log`);
  const fd = openSync(file, 'w');
  const dump = spawn('candump', ['-L', IFACE], { stdio: ['ignore', fd, 'inherit'] });
  closeSync(fd);
  const exited = new Promise((r) => dump.once('exit', r));
  const frames = (): Frame[] =>
    readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((l) => {
        const m = /^\(\d+\.\d+\) \S+ ([0-9A-F]+)##?([0-9A-F]*)/i.exec(l);
        return m ? [{ id: parseInt(m[1]!, 16), data: m[2]!.toUpperCase() }] : [];
      });
  const deadline = Date.now() + scaled(5000);
  while (!frames().some((f) => f.id === 0x7ff)) {
    if (Date.now() > deadline) {
      dump.kill('SIGKILL');
      throw new Error('candump did not log the marker frame');
    }
    spawnSync('cansend', [IFACE, '7FF#5350']);
    await new Promise((r) => setTimeout(r, 100));
  }
  let stopped: Promise<Frame[]> | undefined;
  return {
    stop() {
      stopped ??= (async () => {
        await new Promise((r) => setTimeout(r, scaled(100)));
        dump.kill('SIGINT');
        await exited;
        const all = frames().filter((f) => f.id !== 0x7ff);
        await rm(file, { force: true });
        return all;
      })();
      return stopped;
    },
  };
}

/** The requests the Python ECU received (--trace), as SIDs in hex. */
export const requestsOf = (ecu: KernelEcu) => ecu.lines.filter((l) => l.startsWith('request ')).map((l) => l.slice(8));

/** The Python ECU checked the image (CRC-32 routine) and holds exactly its bytes (SHA-256). */
export function assertFlashed(ecu: KernelEcu, img: Uint8Array, version: string): void {
  assert.ok(
    ecu.lines.includes(`flashed ${version} ${img.length}`),
    `the ECU checked the image: ${ecu.lines.join(' | ')}`,
  );
  assert.ok(
    ecu.lines.includes(`received sha256 ${sha256(img)}`),
    `the ECU holds exactly the image (its SHA-256): ${ecu.lines.filter((l) => l.startsWith('received')).join(' | ')}`,
  );
}

/** The lanes of two targets overlapped: each started before the other finished. */
export function assertOverlap(run: CliRun, a: string, b: string): void {
  const at = (type: string, id: string) => run.events.findIndex((e) => e.type === type && e.componentId === id);
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const) {
    assert.ok(at('step.started', x) >= 0 && at('step.finished', y) >= 0, `events of ${x} and ${y}`);
    assert.ok(at('step.started', x) < at('step.finished', y), `${x} started before ${y} finished (in parallel)`);
  }
}
