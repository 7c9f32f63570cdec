/**
 * CRC-16/XMODEM (poly 0x1021, init 0x0000, no reflection, no final XOR): the CRC of the SMP
 * serial transport (Zephyr `smp_transport.rst` "CRC Details"; reference/bus-protocols.md §2.2).
 * Check value: "123456789" → 0x31C3.
 */
const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let b = 0; b < 8; b++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

/** CRC-16/XMODEM of `data`, continuing from `crc` (default 0, the SMP initial value). */
export function crc16Xmodem(data: Uint8Array, crc = 0): number {
  let c = crc & 0xffff;
  for (let i = 0; i < data.length; i++) c = ((c << 8) & 0xffff) ^ TABLE[((c >>> 8) ^ data[i]!) & 0xff]!;
  return c;
}
