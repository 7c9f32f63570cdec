import { DfuseCommand, DfuStatus, DFUSE_DATA_BLOCK_BASE } from '../../drivers/usb/dfu/constants.js';
import type { DfuseMemory } from './dfu-sim-options.js';

export interface DfuseResult {
  status: number;
  /** Busy time the command needs (ms): reported as bwPollTimeout. */
  busyMs?: number;
}

/**
 * The flash behind a simulated DfuSe device (reference/bus-protocols.md §3.2, dfu-util
 * `src/dfuse.c`): an address pointer set by command 0x21, page erase / mass erase by 0x41, data
 * blocks written at `pointer + (wValue - 2) * wTransferSize`. Programming a byte that is not erased
 * fails with errCHECK_ERASED, as flash would. Starts programmed with zeros (old firmware).
 */
export class DfuseFlash {
  readonly data: Uint8Array;
  pointer: number;
  /** Erase commands taken (page or mass), for tests. */
  erases = 0;

  constructor(
    readonly memory: DfuseMemory,
    private readonly eraseTimeMs = 5,
  ) {
    this.data = new Uint8Array(memory.pageSize * memory.pages);
    this.pointer = memory.base;
  }

  private inRange(addr: number, len: number): boolean {
    return addr >= this.memory.base && addr + len <= this.memory.base + this.data.length;
  }

  /** A DNLOAD with wValue 0: a DfuSe command. */
  command(cmd: Uint8Array): DfuseResult {
    const op = cmd[0];
    const addr = cmd.length >= 5 ? (cmd[1]! | (cmd[2]! << 8) | (cmd[3]! << 16) | (cmd[4]! << 24)) >>> 0 : undefined;
    if (op === DfuseCommand.SET_ADDRESS && addr !== undefined) {
      if (!this.inRange(addr, 0)) return { status: DfuStatus.errADDRESS };
      this.pointer = addr;
      return { status: DfuStatus.OK, busyMs: 1 };
    }
    if (op === DfuseCommand.ERASE && cmd.length === 1) {
      this.data.fill(0xff);
      this.erases++;
      return { status: DfuStatus.OK, busyMs: this.eraseTimeMs * 4 };
    }
    if (op === DfuseCommand.ERASE && addr !== undefined) {
      if (!this.inRange(addr, 1)) return { status: DfuStatus.errADDRESS };
      const page = Math.floor((addr - this.memory.base) / this.memory.pageSize);
      this.data.fill(0xff, page * this.memory.pageSize, (page + 1) * this.memory.pageSize);
      this.erases++;
      return { status: DfuStatus.OK, busyMs: this.eraseTimeMs };
    }
    if (op === DfuseCommand.GET_COMMANDS || op === DfuseCommand.READ_UNPROTECT)
      return { status: DfuStatus.OK, busyMs: 1 };
    return { status: DfuStatus.errTARGET };
  }

  /** A DNLOAD with wValue >= 2: program `block` at the pointer-relative address. */
  write(wValue: number, transferSize: number, block: Uint8Array): DfuseResult {
    const addr = this.pointer + (wValue - DFUSE_DATA_BLOCK_BASE) * transferSize;
    if (!this.inRange(addr, block.length)) return { status: DfuStatus.errADDRESS };
    const at = addr - this.memory.base;
    for (let i = 0; i < block.length; i++) if (this.data[at + i] !== 0xff) return { status: DfuStatus.errCHECK_ERASED };
    this.data.set(block, at);
    return { status: DfuStatus.OK };
  }

  /** An UPLOAD with wValue >= 2 (or at `from` when given). Short at the end of memory. */
  read(wValue: number, transferSize: number, length: number, from?: number): Uint8Array {
    const addr = from ?? this.pointer + (wValue - DFUSE_DATA_BLOCK_BASE) * transferSize;
    const at = Math.max(0, addr - this.memory.base);
    return this.data.subarray(at, Math.min(this.data.length, at + length));
  }
}
