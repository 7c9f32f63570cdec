import { sleep, type Clock } from '../../drivers/can/clock.js';

export interface FlashMemoryOptions {
  /** First address. Default 0x0800_0000. */
  base?: number;
  /** Bytes. Default 512 KiB. */
  size?: number;
  /** Erase unit in bytes. Default 4 KiB. */
  sectorSize?: number;
  /** Time to erase one sector, µs. Default 2000 (2 ms: 256 KiB ≈ 128 ms). */
  eraseUsPerSector?: number;
  /** Time to program 1 KiB, µs. Default 1000. */
  writeUsPerKiB?: number;
}

/**
 * The simulated ECU's flash: erase before write (writing a non-erased byte is a programming failure),
 * with erase and write times on the injected clock. Inspectable for tests.
 */
export class FlashMemory {
  readonly base: number;
  readonly size: number;
  readonly sectorSize: number;
  readonly bytes: Uint8Array;
  private readonly erased: boolean[];
  private readonly eraseUs: number;
  private readonly writeUsPerKiB: number;
  /** Counters: sectors erased, bytes programmed. */
  readonly counters = { sectorsErased: 0, bytesWritten: 0 };

  constructor(
    private readonly clock: Clock,
    o: FlashMemoryOptions = {},
  ) {
    this.base = o.base ?? 0x0800_0000;
    this.size = o.size ?? 512 * 1024;
    this.sectorSize = o.sectorSize ?? 4096;
    this.bytes = new Uint8Array(this.size).fill(0xa5);
    this.erased = new Array<boolean>(Math.ceil(this.size / this.sectorSize)).fill(false);
    this.eraseUs = o.eraseUsPerSector ?? 2000;
    this.writeUsPerKiB = o.writeUsPerKiB ?? 1000;
  }

  contains(address: number, length: number): boolean {
    return address >= this.base && length >= 0 && address + length <= this.base + this.size;
  }

  /** Erases every sector touching [address, address+length). Takes eraseUsPerSector per sector. */
  async erase(address: number, length: number): Promise<void> {
    const first = Math.floor((address - this.base) / this.sectorSize);
    const last = Math.floor((address - this.base + length - 1) / this.sectorSize);
    await sleep(this.clock, (last - first + 1) * this.eraseUs);
    for (let s = first; s <= last; s++) {
      this.erased[s] = true;
      this.bytes.fill(0xff, s * this.sectorSize, (s + 1) * this.sectorSize);
      this.counters.sectorsErased++;
    }
  }

  /** True when every sector of the range is erased (and not yet written). */
  isErased(address: number, length: number): boolean {
    const first = Math.floor((address - this.base) / this.sectorSize);
    const last = Math.floor((address - this.base + Math.max(1, length) - 1) / this.sectorSize);
    for (let s = first; s <= last; s++) if (!this.erased[s]) return false;
    return true;
  }

  /** Programs `data` at `address`; false (nothing written) when a target sector was not erased. */
  async write(address: number, data: Uint8Array): Promise<boolean> {
    if (!this.isErased(address, data.length)) return false;
    await sleep(this.clock, (data.length / 1024) * this.writeUsPerKiB);
    this.bytes.set(data, address - this.base);
    this.counters.bytesWritten += data.length;
    return true;
  }

  read(address: number, length: number): Uint8Array {
    return this.bytes.subarray(address - this.base, address - this.base + length);
  }

  /** Marks written sectors as no longer erased (called when a download completes). */
  seal(address: number, length: number): void {
    const first = Math.floor((address - this.base) / this.sectorSize);
    const last = Math.floor((address - this.base + Math.max(1, length) - 1) / this.sectorSize);
    for (let s = first; s <= last; s++) this.erased[s] = false;
  }
}
