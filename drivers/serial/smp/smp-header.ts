import { BusError } from '../../shared/errors.js';

/**
 * SMP header (8 bytes, big-endian; Zephyr `doc/services/device_mgmt/smp_protocol.rst`
 * "Frame: The envelope"; reference/bus-protocols.md §2.2):
 *
 * ```
 *  byte 0: Res:3 Ver:2 OP:3 | 1: Flags | 2-3: Data Length | 4-5: Group ID | 6: Seq | 7: Command ID
 * ```
 */
export const SMP_HEADER_SIZE = 8;

/** `OP` values (mcumgr_op_t). */
export const SmpOp = { Read: 0, ReadRsp: 1, Write: 2, WriteRsp: 3 } as const;
export type SmpOpValue = (typeof SmpOp)[keyof typeof SmpOp];

/** Management group ids (smp_protocol.rst "Management Group ID's"). */
export const SmpGroup = { Os: 0, Image: 1, Stat: 2, Settings: 3, Fs: 8, Shell: 9, Zephyr: 63 } as const;

/** Group 0 (OS) command ids (smp_groups/smp_group_0.rst). */
export const OsCmd = {
  Echo: 0,
  TaskStat: 2,
  MemPoolStat: 3,
  DateTime: 4,
  Reset: 5,
  McumgrParams: 6,
  Info: 7,
  BootloaderInfo: 8,
} as const;

/** Group 1 (image) command ids (smp_groups/smp_group_1.rst). */
export const ImageCmd = { State: 0, Upload: 1, Erase: 5, SlotInfo: 6 } as const;

/** `Ver` field: 0 = legacy SMP (v1 errors `{rc}`), 1 = SMP v2 (group errors `{err:{group,rc}}`). */
export type SmpVersion = 0 | 1;

export interface SmpHeader {
  op: SmpOpValue;
  version: SmpVersion;
  flags: number;
  /** Length of the CBOR data that follows the header, bytes. */
  length: number;
  group: number;
  seq: number;
  id: number;
}

/** Header + data as one SMP packet (what the serial framing carries). */
export function encodeSmpPacket(h: Omit<SmpHeader, 'length'>, data: Uint8Array): Uint8Array {
  if (data.length > 0xffff) throw new RangeError(`SMP data of ${data.length} bytes exceeds 65535`);
  const out = new Uint8Array(SMP_HEADER_SIZE + data.length);
  out[0] = ((h.version & 0x3) << 3) | (h.op & 0x7);
  out[1] = h.flags & 0xff;
  out[2] = data.length >>> 8;
  out[3] = data.length & 0xff;
  out[4] = (h.group >>> 8) & 0xff;
  out[5] = h.group & 0xff;
  out[6] = h.seq & 0xff;
  out[7] = h.id & 0xff;
  out.set(data, SMP_HEADER_SIZE);
  return out;
}

/**
 * Splits an SMP packet into header and data. Throws BusError `SMP_BAD_PACKET` when it is shorter
 * than a header or its Data Length disagrees with the bytes present.
 */
export function decodeSmpPacket(packet: Uint8Array): { header: SmpHeader; data: Uint8Array } {
  if (packet.length < SMP_HEADER_SIZE) {
    throw new BusError('SMP_BAD_PACKET', `SMP packet of ${packet.length} bytes is shorter than the 8-byte header`, {
      length: packet.length,
    });
  }
  const length = (packet[2]! << 8) | packet[3]!;
  if (length !== packet.length - SMP_HEADER_SIZE) {
    throw new BusError(
      'SMP_BAD_PACKET',
      `SMP header says ${length} data bytes, packet has ${packet.length - SMP_HEADER_SIZE}`,
      { length, actual: packet.length - SMP_HEADER_SIZE },
    );
  }
  const header: SmpHeader = {
    op: (packet[0]! & 0x7) as SmpOpValue,
    version: ((packet[0]! >>> 3) & 0x3) as SmpVersion,
    flags: packet[1]!,
    length,
    group: (packet[4]! << 8) | packet[5]!,
    seq: packet[6]!,
    id: packet[7]!,
  };
  return { header, data: packet.subarray(SMP_HEADER_SIZE) };
}
