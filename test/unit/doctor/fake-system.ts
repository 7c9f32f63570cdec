import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseGatewayConfig } from '../../../src/config/gateway-config.js';
import type { KernelIsoTpAvailability } from '../../../drivers/can/kernel-isotp/availability.js';
import type { DoctorContext, SystemProbes } from '../../../src/doctor/check.js';

const ISOTP_LOADED: KernelIsoTpAvailability = {
  available: true,
  reason: 'can-isotp is loaded',
  moduleLoaded: true,
  addonLoaded: true,
};

/** A fake /proc, /sys, /dev, /etc, /boot tree in a temp folder, and probes reading it. */
export class FakeSystem {
  readonly root = mkdtempSync(join(tmpdir(), 'doctor-'));
  readonly probes: SystemProbes;
  /** Paths the running user may not open (everything else: yes). */
  readonly denied = new Set<string>();
  ipOutput: Record<string, string> = {};
  /** What the kernel ISO-TP probe says per interface (default: can-isotp loaded). */
  isoTp: Record<string, KernelIsoTpAvailability> = {};

  constructor(over: Partial<SystemProbes> = {}) {
    const r = this.root;
    this.probes = {
      procRoot: join(r, 'proc'),
      sysRoot: join(r, 'sys'),
      devRoot: join(r, 'dev'),
      etcRoot: join(r, 'etc'),
      bootRoot: join(r, 'boot'),
      pid: 1,
      user: 'sensor-proxy',
      nodeVersion: '22.12.0',
      arch: 'arm64',
      now: () => new Date('2026-03-01T00:00:00Z'),
      exec: async (_cmd, args) => {
        const out = this.ipOutput[args.at(-1)!];
        return out === undefined
          ? { code: 1, stdout: '', stderr: `Device "${args.at(-1)}" does not exist.` }
          : { code: 0, stdout: out, stderr: '' };
      },
      canAccess: async (p) => !this.denied.has(p),
      freeBytes: async () => 1024 * 1024 * 1024,
      importModule: async () => ({}),
      isoTpAvailability: (ifname) => this.isoTp[ifname] ?? ISOTP_LOADED,
      ...over,
    };
    for (const d of ['proc', 'sys', 'dev', 'etc', 'boot']) mkdirSync(join(r, d), { recursive: true });
  }

  /** Writes `text` at `rel` (relative to the fake root), creating folders. */
  file(rel: string, text = ''): string {
    const p = join(this.root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
    return p;
  }

  link(rel: string, target: string): string {
    const p = join(this.root, rel);
    mkdirSync(dirname(p), { recursive: true });
    symlinkSync(target, p);
    return p;
  }

  ctx(config: Record<string, unknown> = {}, over: Partial<DoctorContext> = {}): DoctorContext {
    return {
      config: parseGatewayConfig({ stateDir: join(this.root, 'state'), ...config }, join(this.root, 'gateway.json')),
      configPath: join(this.root, 'gateway.json'),
      probes: this.probes,
      minFreeBytes: 256 * 1024 * 1024,
      signal: new AbortController().signal,
      ...over,
    };
  }
}
