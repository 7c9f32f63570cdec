import { execFile } from 'node:child_process';
import { access, statfs } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { kernelIsoTpAvailability, type KernelIsoTpAvailability } from '../../drivers/can/kernel-isotp/availability.js';
import type { GatewayConfig } from '../config/gateway-config.js';

/**
 * `sensor-proxy doctor`: one result per check. Every `fail` (and `warn`) carries a remedy: the exact
 * command to run or file to write. Check ids are stable (README "doctor" lists them).
 */
export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip';

export interface CheckResult {
  id: string;
  status: CheckStatus;
  detail: string;
  remedy?: string;
}

/**
 * What the checks read of the system, injectable so every check is unit-tested against a fake
 * /proc, /sys, /dev, /etc and /boot tree and fake process facts.
 */
export interface SystemProbes {
  procRoot: string;
  sysRoot: string;
  devRoot: string;
  etcRoot: string;
  bootRoot: string;
  pid: number;
  user: string;
  nodeVersion: string;
  /** process.arch: 'arm' is 32-bit Pi OS, where the package can only bundle Node 20 (README). */
  arch: string;
  now(): Date;
  exec(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** access(2) with the running user's rights: R_OK/W_OK bits. */
  canAccess(path: string, mode: number): Promise<boolean>;
  /** Bytes available to an unprivileged writer on the file system holding `path` (statfs). */
  freeBytes(path: string): Promise<number>;
  importModule(name: string): Promise<unknown>;
  /** Whether the kernel's ISO-TP sockets (can-isotp + our addon) can serve a CAN interface. */
  isoTpAvailability(ifname: string): KernelIsoTpAvailability;
}

export interface DoctorContext {
  config: GatewayConfig | undefined;
  configPath: string | undefined;
  probes: SystemProbes;
  /** Free space the state folder must have: room for the largest download. */
  minFreeBytes: number;
  signal: AbortSignal;
}

export type CheckGroup = (ctx: DoctorContext) => Promise<CheckResult[]>;

export const pass = (id: string, detail: string): CheckResult => ({ id, status: 'pass', detail });
export const skip = (id: string, detail: string): CheckResult => ({ id, status: 'skip', detail });
export const fail = (id: string, detail: string, remedy: string): CheckResult => ({
  id,
  status: 'fail',
  detail,
  remedy,
});
export const warn = (id: string, detail: string, remedy: string): CheckResult => ({
  id,
  status: 'warn',
  detail,
  remedy,
});

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    // a uid without a passwd entry (setpriv --reuid N): name it by number
    return String(process.getuid?.() ?? '?');
  }
}

export function realProbes(): SystemProbes {
  return {
    procRoot: '/proc',
    sysRoot: '/sys',
    devRoot: '/dev',
    etcRoot: '/etc',
    bootRoot: '/boot',
    pid: process.pid,
    user: currentUser(),
    nodeVersion: process.versions.node,
    arch: process.arch,
    now: () => new Date(),
    exec: (cmd, args) =>
      new Promise((resolve) =>
        execFile(cmd, args, { timeout: 10_000 }, (err, stdout, stderr) =>
          resolve({
            code: err ? (typeof err.code === 'number' ? err.code : 127) : 0,
            stdout: String(stdout),
            stderr: String(stderr || (err && !stderr ? err.message : '')),
          }),
        ),
      ),
    canAccess: (path, mode) =>
      access(path, mode).then(
        () => true,
        () => false,
      ),
    freeBytes: async (path) => {
      const s = await statfs(path);
      return s.bavail * s.bsize;
    },
    importModule: (name) => import(name),
    isoTpAvailability: kernelIsoTpAvailability,
  };
}
