/**
 * How big an SMP request may be on the serial transport, from the device's SMP buffer.
 *
 * A Zephyr device decodes a whole serial packet, the 2-byte length, the SMP message (8-byte
 * header + CBOR) and the 2-byte CRC, into one buffer of `buf_size` bytes (the value `mcumgr
 * params`, group 0 command 6, reports) and drops a request that does not fit without answering
 * (reference/bus-protocols.md §7 "Zephyr SMP", §2.2 "Serial/console framing"). So the largest
 * request is `buf_size` − 4 bytes; a client that sends a full `buf_size` sees only timeouts.
 */

/** Bytes of the serial packet around the SMP message: total length (2) and CRC-16 (2). */
export const SERIAL_PACKET_OVERHEAD = 4;

/**
 * SMP buffer sizes seen on devices, largest first: Zephyr's `CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE`
 * / `MCUMGR_BUF_SIZE` defaults (384 in Zephyr ≤ 2.7, 256 the UART MTU default, §2.2) and the
 * powers of two builders pick. Used to step down when a device does not say its size.
 */
export const COMMON_BUFFER_SIZES: readonly number[] = [4096, 2048, 1024, 512, 384, 256, 128];

/** The buffer size assumed for a device that does not answer `mcumgr params` (§2.2: "plan for 256"). */
export const DEFAULT_BUFFER_SIZE = 256;

/** Largest SMP message (header + CBOR) a device with a `bufSize`-byte buffer takes over the serial transport. */
export function requestLimitForBuffer(bufSize: number): number {
  return bufSize - SERIAL_PACKET_OVERHEAD;
}

/**
 * The next smaller request limit to try after requests of up to `limit` bytes went unanswered:
 * the limit of the largest common buffer size whose limit is below `limit`, or undefined when
 * none is left.
 */
export function smallerRequestLimit(limit: number): number | undefined {
  for (const size of COMMON_BUFFER_SIZES) {
    const l = requestLimitForBuffer(size);
    if (l < limit) return l;
  }
  return undefined;
}

/** Most upload requests a client keeps in flight, whatever the device reports (bounds the resend after a loss). */
export const MAX_REQUESTS_IN_FLIGHT = 4;

/**
 * Upload requests a client may keep in flight for a device that reported `bufCount` SMP buffers
 * (`buf_count` of `mcumgr params`). The buffers hold requests and responses alike
 * (Zephyr `CONFIG_MCUMGR_BUF_COUNT`: "used for both requests and responses"), so each request in
 * flight is counted with its response: `floor(bufCount / 2)`, at least 1, at most
 * {@link MAX_REQUESTS_IN_FLIGHT}. A device that does not report its buffers gets 1 (SMP's
 * request/response turnaround, reference/bus-protocols.md §6 "several requests in flight may help
 * where the device accepts it").
 */
export function requestsInFlightForBuffers(bufCount: number | undefined): number {
  if (bufCount === undefined || !Number.isInteger(bufCount) || bufCount < 2) return 1;
  return Math.min(MAX_REQUESTS_IN_FLIGHT, Math.floor(bufCount / 2));
}
