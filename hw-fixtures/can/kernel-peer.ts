import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** hw-fixtures/can/uds_kernel_peer.py in the source tree (dist/ holds no .py files). */
export const KERNEL_PEER_SCRIPT = join(
  dirname(fileURLToPath(import.meta.url)).replace(/\/dist\/hw-fixtures\/can$/, '/hw-fixtures/can'),
  'uds_kernel_peer.py',
);

export interface KernelEcu {
  /** Lines the ECU printed ("ready", "flashed <version> <bytes>", "power loss"). */
  lines: string[];
  stop(): Promise<void>;
}

/** Starts the independent Python UDS ECU on kernel ISO-TP and waits for "ready". */
export function startKernelEcu(args: string[], readyTimeoutMs: number): Promise<KernelEcu> {
  return startKernelPeer('ecu', args, readyTimeoutMs);
}

/** Starts a long-running role of the Python peer (`ecu`, or `sink`: plain ISO-TP receiver) and waits for "ready". */
export async function startKernelPeer(
  role: 'ecu' | 'sink',
  args: string[],
  readyTimeoutMs: number,
): Promise<KernelEcu> {
  const child: ChildProcess = spawn('python3', ['-u', KERNEL_PEER_SCRIPT, role, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`python ${role} not ready: ${err}`)), readyTimeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      for (const l of d.toString().split('\n')) if (l) lines.push(l);
      if (lines.includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`python ${role} exited ${code}: ${err}`));
    });
  });
  return {
    lines,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
