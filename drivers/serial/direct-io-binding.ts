import { readSync, writeSync } from 'node:fs';
import { SerialPort } from 'serialport';

/** The binding type `serialport` opens ports through. */
export type SerialPortBinding = (typeof SerialPort)['binding'];

/** What this module uses of an open Linux/Unix `serialport` binding port (`@serialport/bindings-cpp`). */
interface UnixPort {
  fd: number | null;
  readonly isOpen: boolean;
  poller: { once(event: 'readable' | 'writable', cb: (err: Error | null) => void): unknown };
  writeOperation: Promise<void> | null;
  read(buffer: Buffer, offset: number, length: number): Promise<{ bytesRead: number; buffer: Buffer }>;
  write(buffer: Buffer): Promise<void>;
}

/** errno codes that mean "not now": wait for the poller, then try again. */
const AGAIN = new Set(['EAGAIN', 'EWOULDBLOCK', 'EINTR']);
/** errno codes the stock binding marks as a disconnect (the stream then reports the port closed). */
const GONE = new Set(['EBADF', 'ENXIO', 'UNKNOWN']);

const notOpen = () => Object.assign(new Error('Port is not open'), { canceled: true });

function errnoCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

function asDisconnect(e: unknown): unknown {
  if (GONE.has(errnoCode(e) ?? '') || (e as NodeJS.ErrnoException).errno === -1)
    (e as { disconnect?: boolean }).disconnect = true;
  return e;
}

function ready(port: UnixPort, event: 'readable' | 'writable'): Promise<void> {
  return new Promise<void>((resolve, reject) => port.poller.once(event, (err) => (err ? reject(err) : resolve())));
}

/**
 * Reads with `read(2)` on the event-loop thread once the poller reports the fd readable: the call
 * returns at once (the fd is non-blocking), in the poll callback that saw the bytes arrive. The
 * stock binding reads through libuv's thread pool, one thread hand-off per chunk received, and
 * tries before polling, which costs a thrown EAGAIN per chunk here.
 */
async function readNow(port: UnixPort, buffer: Buffer, offset: number, length: number) {
  for (;;) {
    if (!port.isOpen) throw notOpen();
    await ready(port, 'readable');
    if (!port.isOpen || port.fd === null) throw notOpen();
    try {
      const bytesRead = readSync(port.fd, buffer, offset, length, null);
      if (bytesRead > 0) return { bytesRead, buffer };
    } catch (e) {
      if (!AGAIN.has(errnoCode(e) ?? '')) throw asDisconnect(e);
    }
  }
}

/** Writes with `write(2)` on the event-loop thread (non-blocking fd); what the OS does not take yet waits for the poller. */
function writeNow(port: UnixPort, buffer: Buffer): Promise<void> {
  const op = (async () => {
    let off = 0;
    while (off < buffer.length) {
      if (!port.isOpen || port.fd === null) throw new Error('Port is not open');
      try {
        off += writeSync(port.fd, buffer, off, buffer.length - off);
        continue;
      } catch (e) {
        if (!AGAIN.has(errnoCode(e) ?? '')) throw asDisconnect(e);
      }
      await ready(port, 'writable');
    }
  })();
  // drain() awaits the write in flight before tcdrain, as with the stock write.
  port.writeOperation = op;
  return op;
}

/**
 * The platform's `serialport` binding with reads and writes done as non-blocking syscalls on the
 * event-loop thread instead of through libuv's thread pool: a byte that arrives is read in the
 * poll callback that reported it, and a write reaches the OS before `write()` returns. For a
 * request/answer protocol this takes two thread hand-offs out of every turnaround (YMODEM: ACK
 * in → next frame out; test/bench/ymodem-turnaround.bench.ts). Open, close, modem lines, drain
 * and flush stay the binding's own. Other platforms than Linux get the stock binding.
 */
export function directIoBinding(base: SerialPortBinding = SerialPort.binding): SerialPortBinding {
  if (process.platform !== 'linux') return base;
  const real = base as unknown as { list(): Promise<unknown>; open(o: unknown): Promise<UnixPort> };
  return {
    list: () => real.list(),
    open: async (options: unknown) => {
      const port = await real.open(options);
      if (typeof port.fd !== 'number' || typeof port.poller?.once !== 'function') return port;
      port.read = (buffer, offset, length) => readNow(port, buffer, offset, length);
      port.write = (buffer) => writeNow(port, buffer);
      return port;
    },
  } as unknown as SerialPortBinding;
}
