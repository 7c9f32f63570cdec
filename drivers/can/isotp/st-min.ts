/**
 * STmin encoding (ISO 15765-2 §9.6.5.4; reference/bus-protocols.md §1.2): 0x00-0x7F = 0-127 ms,
 * 0xF1-0xF9 = 100-900 µs; every other value is reserved and read as 0x7F (127 ms) as Linux does
 * ("fix wrong STmin values according spec", net/can/isotp.c).
 */
export function decodeStMin(byte: number): number {
  if (byte <= 0x7f) return byte * 1000;
  if (byte >= 0xf1 && byte <= 0xf9) return (byte - 0xf0) * 100;
  return 127_000;
}

/** Smallest STmin byte whose gap is ≥ `us` (rounded up to a representable value; max 127 ms). */
export function encodeStMin(us: number): number {
  if (us <= 0) return 0;
  if (us <= 900) return 0xf0 + Math.ceil(us / 100);
  return Math.min(0x7f, Math.ceil(us / 1000));
}
