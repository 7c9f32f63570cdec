/**
 * CRC-16/XMODEM: polynomial 0x1021, initial value 0, no reflection, no final XOR. The CRC of every
 * YMODEM block, sent high byte first (ymodem.txt §4.2; bus-protocols.md §2.3), and of the SMP
 * serial transport (Zephyr `smp_transport.rst` "CRC Details"; bus-protocols.md §2.2).
 * Check value: "123456789" → 0x31C3.
 */

const POLY = 0x1021;

const TABLE: Uint16Array = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let b = 0; b < 8; b++) c = c & 0x8000 ? ((c << 1) ^ POLY) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

/**
 * CRC-16/XMODEM of `data[start..end)`, continuing from `crc` (default 0, the XMODEM initial value).
 * Returns a 16-bit unsigned integer.
 */
export function crc16Xmodem(data: Uint8Array, start = 0, end = data.length, crc = 0): number {
  let c = crc & 0xffff;
  for (let i = start; i < end; i++) c = ((c << 8) & 0xffff) ^ TABLE[((c >>> 8) ^ data[i]!) & 0xff]!;
  return c;
}
