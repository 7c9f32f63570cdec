import type { SerialLink } from '../../drivers/serial/link.js';
import { ACK, STX } from '../../drivers/serial/ymodem/constants.js';

/** One data block as our sender saw it (absolute ms): the ACK that released it, the frame's write. */
export interface SenderBlockTrace {
  ackAt: number;
  writeIssued: number;
  writeDone: number;
}

export interface SenderWireTrace {
  blocks: SenderBlockTrace[];
}

/**
 * Bench instrument: timestamps the received bytes of a `serialport` link as they enter its receive
 * buffer (the moment the port delivered them) and each data frame handed to `link.write`. Reaches
 * into the link's private receive buffer; for test/bench only.
 */
export function traceSenderWire(link: SerialLink, now: () => number): SenderWireTrace {
  const trace: SenderWireTrace = { blocks: [] };
  const rx = (link as unknown as { rx: { push(d: Uint8Array): void } }).rx;
  const push = rx.push.bind(rx);
  let lastAck = NaN;
  rx.push = (d: Uint8Array) => {
    if (d.includes(ACK)) lastAck = now();
    push(d);
  };
  const write = link.write.bind(link);
  link.write = async (data, signal, opts) => {
    if (data[0] !== STX || Number.isNaN(lastAck)) return write(data, signal, opts);
    const block: SenderBlockTrace = { ackAt: lastAck, writeIssued: now(), writeDone: NaN };
    lastAck = NaN;
    await write(data, signal, opts);
    block.writeDone = now();
    trace.blocks.push(block);
  };
  return trace;
}
