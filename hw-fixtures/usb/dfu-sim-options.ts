import type { DfuStatusName } from '../../drivers/usb/dfu/constants.js';

/**
 * Behaviour of the simulated DFU device (shared by the gadgetfs device in the qemu guest and the
 * in-process WebUSB device). Times are ms of the injected clock.
 */
export interface DfuSimOptions {
  /** Run-time mode VID/PID (default 1209:0001, pid.codes test IDs). */
  vid: number;
  pid: number;
  /** PID in DFU mode (default 0xdf11, as STM32 ROM loaders do: re-enumeration changes the PID). */
  dfuPid: number;
  serialNumber: string;
  manufacturer: string;
  product: string;
  /** bcdDevice of the installed firmware (run-time mode), default 0x0100. */
  version: number;
  /** wTransferSize (default 256: Debian 6.1 gadgets cap control transfers at 256 bytes, reference §7). */
  transferSize: number;
  /** bwPollTimeout reported after each DNLOAD (ms, default 1). */
  pollTimeoutMs: number;
  /** Real flash write time per block (ms, default = pollTimeoutMs); a poll before it ends sees dfuDNBUSY again. */
  writeTimeMs: number;
  /** Time to manifest (ms, default 5). */
  manifestTimeMs: number;
  /** DfuSe page erase time (ms, default 5). */
  eraseTimeMs: number;
  canUpload: boolean;
  manifestationTolerant: boolean;
  willDetach: boolean;
  /** wDetachTimeOut (ms, default 1000). */
  detachTimeoutMs: number;
  /** ms from DFU_DETACH (will-detach) or leave to re-enumeration (default 20). */
  reenumerateDelayMs: number;
  /** Start in DFU mode instead of run-time mode. */
  startInDfuMode: boolean;
  /** DfuSe (bcdDFUVersion 0x011A) with a memory map instead of a plain DFU image. */
  dfuse: DfuseMemory | undefined;
  /** Capacity of a plain DFU image (bytes, default 4 MiB). */
  capacity: number;
  faults: DfuSimFaults;
}

export interface DfuseMemory {
  /** Start address (default 0x08000000). */
  base: number;
  pageSize: number;
  pages: number;
}

/** Fault switches. Block numbers count data DNLOADs from the start of a download (0-based). */
export interface DfuSimFaults {
  /** The GETSTATUS after this block stalls; the device goes to dfuERROR/errSTALLEDPKT. */
  stallAfterBlock?: { block: number; times?: number };
  /** The GETSTATUS after this block reports `status` and dfuERROR (`times` downloads, default 1). */
  errorAfterBlock?: { block: number; status: DfuStatusName; times?: number };
  /** Like errorAfterBlock, one entry per download attempt in turn (every bStatus in one device session). */
  errorSequence?: { block: number; status: DfuStatusName }[];
  /** The device vanishes from the bus after taking this block (unplug, power cut). */
  disconnectAfterBlock?: number;
}

export const DEFAULT_DFU_SIM_OPTIONS: Readonly<DfuSimOptions> = Object.freeze<DfuSimOptions>({
  vid: 0x1209,
  pid: 0x0001,
  dfuPid: 0xdf11,
  serialNumber: 'SN-DFU-0001',
  manufacturer: 'sensor-proxy',
  product: 'DFU test sensor',
  version: 0x0100,
  transferSize: 256,
  pollTimeoutMs: 1,
  writeTimeMs: 1,
  manifestTimeMs: 5,
  eraseTimeMs: 5,
  canUpload: true,
  manifestationTolerant: false,
  willDetach: true,
  detachTimeoutMs: 1000,
  reenumerateDelayMs: 20,
  startInDfuMode: false,
  dfuse: undefined,
  capacity: 4 * 1024 * 1024,
  faults: {},
});

export const DEFAULT_DFUSE_MEMORY: Readonly<DfuseMemory> = Object.freeze({
  base: 0x08000000,
  pageSize: 2048,
  pages: 1024,
});

export function resolveDfuSimOptions(partial: Partial<DfuSimOptions> = {}): DfuSimOptions {
  const o = { ...DEFAULT_DFU_SIM_OPTIONS, ...partial, faults: { ...(partial.faults ?? {}) } };
  if (partial.writeTimeMs === undefined) o.writeTimeMs = o.pollTimeoutMs;
  return o;
}

/**
 * Version marker the simulator reads from a flashed image: ASCII `FWVER=` and 4 hex digits (the
 * new bcdDevice), within the first 4 KiB. Images without it keep the old version.
 */
export function versionFromImage(head: Uint8Array): number | undefined {
  const m = /FWVER=([0-9a-fA-F]{4})/.exec(
    Buffer.from(head.buffer, head.byteOffset, Math.min(head.length, 4096)).toString('latin1'),
  );
  return m ? parseInt(m[1]!, 16) : undefined;
}
