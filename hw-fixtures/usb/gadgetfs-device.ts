import { closeSync, existsSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import type { BusAction, DfuDeviceModel, SetupPacket } from './dfu-device-model.js';

/**
 * Puts a {@link DfuDeviceModel} on the bus as a real USB device through gadgetfs on dummy_hcd
 * (reference/bus-protocols.md §7 step 5; Linux `drivers/usb/gadget/legacy/inode.c`):
 *
 * ```
 *  host (libusb / npm usb / dfu-util) ── dummy_hcd ── gadgetfs ep0 ── this loop ── DfuDeviceModel
 * ```
 *
 * Why gadgetfs and not configfs FunctionFS: Debian 6.1's f_fs rejects the DFU functional descriptor
 * (EINVAL, reference §3.5); gadgetfs does not walk the inner descriptors.
 *
 * The loop is synchronous on purpose: it runs alone in its own process (`dfu-gadget-cli.ts`), a
 * blocking event read cannot be interrupted from the same thread, and closing ep0 while another
 * thread reads it would keep the device on the bus. ep0 protocol (inode.c `ep0_read`/`ep0_write`):
 * IN request → write() the data, or read() to stall; OUT without data → read(fd, buf, 0) ACKs the
 * status stage, write() stalls; OUT with data → read() the data stage (the kernel cannot stall it).
 */
export interface GadgetOptions {
  /** gadgetfs mount point (default /dev/gadget; mounted when missing). */
  mountPoint: string;
  /** UDC file name (default dummy_udc). */
  udc: string;
  /** ms to stay away after a `vanish` before coming back in DFU mode; undefined = stay away. */
  reappearAfterMs: number | undefined;
  /** Called with one-line JSON-able events (state changes, manifests). */
  report: (event: Record<string, unknown>) => void;
}

const EVENT_SIZE = 12; // struct usb_gadgetfs_event: 8-byte union + u32 type
const GadgetfsEvent = { NOP: 0, CONNECT: 1, DISCONNECT: 2, SETUP: 3, SUSPEND: 4 } as const;
const sleepBuffer = new Int32Array(new SharedArrayBuffer(4));
/** Blocking sleep for the synchronous gadget loop (no timers run in this process). */
const sleepSync = (ms: number) => Atomics.wait(sleepBuffer, 0, 0, Math.max(0, ms));

/**
 * Node's fs.read/readSync return at once for length 0 without calling read(2) (lib/fs.js), but
 * gadgetfs needs that zero-length read to ACK a status stage: use the fs binding directly.
 */
const fsBinding = (
  process as unknown as {
    binding(name: 'fs'): { read(fd: number, b: Uint8Array, o: number, l: number, p: number): number };
  }
).binding('fs');

export class GadgetfsDfuDevice {
  private fd = -1;
  private configured = false;
  private pendingAction: BusAction | undefined;
  /** Control requests aborted under the device (see {@link guarded}); tests require 0. */
  aborted = 0;
  /** Requests answered with a stall. */
  stalls = 0;

  constructor(
    private readonly model: DfuDeviceModel,
    private readonly opts: GadgetOptions,
  ) {
    model.onBusAction = (a) => {
      this.pendingAction = a;
    };
  }

  /** Mounts gadgetfs if needed (root). */
  static mount(mountPoint: string): void {
    if (existsSync(mountPoint) && existsSync(`${mountPoint}/dummy_udc`)) return;
    mkdirSync(mountPoint, { recursive: true });
    execFileSync('mount', ['-t', 'gadgetfs', 'gadgetfs', mountPoint], { stdio: 'inherit' });
  }

  private attach(): void {
    this.fd = openSync(`${this.opts.mountPoint}/${this.opts.udc}`, 'r+');
    const cfg = this.model.configDescriptor();
    const dev = this.model.deviceDescriptor();
    // tag 0, full-speed config, high-speed config, device descriptor (inode.c dev_config)
    const buf = new Uint8Array(4 + cfg.length * 2 + dev.length);
    buf.set(cfg, 4);
    buf.set(cfg, 4 + cfg.length);
    buf.set(dev, 4 + cfg.length * 2);
    writeSync(this.fd, buf);
    this.configured = false;
    this.opts.report({ event: 'attached', mode: this.model.mode, version: this.model.version });
  }

  private detach(): void {
    // gadgetfs 6.1 can oops when ep0 closes with a reply still queued (reference §7): let it drain.
    sleepSync(50);
    closeSync(this.fd);
    this.fd = -1;
  }

  /** Runs until the process is killed. */
  run(): never {
    this.attach();
    const buf = new Uint8Array(EVENT_SIZE * 8);
    for (;;) {
      let n = 0;
      this.guarded(() => (n = readSync(this.fd, buf, 0, buf.length, null)));
      for (let o = 0; o + EVENT_SIZE <= n; o += EVENT_SIZE) {
        const type = buf[o + 8]! | (buf[o + 9]! << 8);
        if (type === GadgetfsEvent.SETUP) this.guarded(() => this.setup(buf.subarray(o, o + 8)));
        else if (type === GadgetfsEvent.DISCONNECT && this.configured) {
          this.configured = false;
          this.model.busReset();
        }
      }
      this.applyAction();
    }
  }

  private applyAction(): void {
    const a = this.pendingAction;
    if (!a) return;
    this.pendingAction = undefined;
    this.detach();
    if (a.type === 'vanish') {
      this.opts.report({ event: 'vanished' });
      if (this.opts.reappearAfterMs === undefined) for (;;) sleepSync(60_000);
      sleepSync(this.opts.reappearAfterMs);
      this.model.enterMode('dfu');
    } else sleepSync(a.delayMs);
    this.attach();
  }

  private setup(raw: Uint8Array): void {
    const s: SetupPacket = {
      bmRequestType: raw[0]!,
      bRequest: raw[1]!,
      wValue: raw[2]! | (raw[3]! << 8),
      wIndex: raw[4]! | (raw[5]! << 8),
      wLength: raw[6]! | (raw[7]! << 8),
    };
    if ((s.bmRequestType & 0x80) !== 0) {
      const reply = this.model.handle(s);
      if (reply.type === 'data') writeSync(this.fd, reply.data);
      else this.stall(() => readSync(this.fd, new Uint8Array(1), 0, 1, null));
      return;
    }
    if (s.bmRequestType === 0x00 && s.bRequest === 0x09) this.configured = true; // SET_CONFIGURATION
    if (s.wLength > 0) {
      const data = new Uint8Array(s.wLength);
      const n = readSync(this.fd, data, 0, data.length, null);
      this.model.handle(s, data.subarray(0, n)); // a failure shows on the next GETSTATUS (reference §7)
      return;
    }
    const reply = this.model.handle(s);
    if (reply.type === 'stall') this.stall(() => writeSync(this.fd, new Uint8Array(1)));
    else fsBinding.read(this.fd, new Uint8Array(1), 0, 0, -1);
  }

  /**
   * EIDRM: the host sent the next SETUP before this one finished (it gave up, or dummy_hcd
   * completed an OUT data stage before we read it: reference §7); ECANCELED/ESRCH: disconnected.
   * The request is lost for the device; counted and reported, never fatal.
   */
  private halted = 0;

  private guarded(op: () => void): void {
    try {
      op();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? (e as { errno?: number }).errno;
      const errno = (e as { errno?: number }).errno;
      // EIDRM -43 and ECANCELED -125 have no libuv names either (code UNKNOWN).
      if (code === 'EIDRM' || code === 'ECANCELED' || code === 'ESRCH' || errno === -43 || errno === -125) {
        this.aborted++;
        this.opts.report({ event: 'setup-aborted', code, aborted: this.aborted });
        return;
      }
      // EL2HLT (-51, no libuv name) on reading the next event: ep0 still halted from the stall that
      // followed an aborted setup (seen once in ~3000 blocks under TCG). Reported and read on, so the
      // host's recovery meets a device instead of a dead simulator; bounded in case it never clears.
      if (errno === -51 && ++this.halted < 100) {
        this.opts.report({ event: 'ep0-halted', halted: this.halted });
        return;
      }
      throw e;
    }
  }

  /** ep0 answers a wrong-direction transfer with EL2HLT after halting: that is the stall. */
  private stall(op: () => void): void {
    try {
      op();
    } catch (e) {
      // libuv has no name for EL2HLT (errno 51): Node reports code UNKNOWN, errno -51.
      const err = e as NodeJS.ErrnoException;
      if (err.code !== 'EL2HLT' && err.errno !== -51) throw e;
    }
    this.stalls++;
  }
}
