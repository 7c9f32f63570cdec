import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { decodeBody, encodeBody, type SmpBody } from '../../drivers/serial/smp/cbor-body.js';
import { encodeConsoleFrames } from '../../drivers/serial/smp/console-framing.js';
import { SmpConsoleReassembler } from '../../drivers/serial/smp/console-reassembler.js';
import { MgmtErr } from '../../drivers/serial/smp/smp-errors.js';
import { SERIAL_PACKET_OVERHEAD } from '../../drivers/serial/smp/buffer-size.js';
import {
  decodeSmpPacket,
  encodeSmpPacket,
  ImageCmd,
  OsCmd,
  SmpGroup,
  type SmpHeader,
  type SmpOpValue,
} from '../../drivers/serial/smp/smp-header.js';
import { delay } from '../../drivers/shared/deadline.js';
import { isCancelled } from '../../drivers/shared/errors.js';
import { McubootSlots, type SlotError } from './mcuboot-slots.js';
import { PacedPort } from './paced-port.js';
import { buildTestImage } from './test-image.js';

/** Fault switches; each one-shot switch clears itself when it fires. Change them at any time. */
export interface SmpSimFaults {
  /** Flip one base64 character in each of the next N response frames (host sees a CRC error). */
  corruptResponses?: number;
  /** Leave N bytes out of the middle of the next response. */
  dropResponseBytes?: number;
  /** At the next request, stop answering for this many ms (requests meanwhile are lost). */
  stallMs?: number;
  /** When an upload reaches this offset, close the port mid-transfer and come back after `disappearForMs`. */
  disappearAtOffset?: number;
  /** How long the port stays away, ms. Default 300. */
  disappearForMs?: number;
  /** When an upload reaches this offset, reboot without answering (MCUboot keeps the partial upload). */
  rebootAtOffset?: number;
  /** The image booted for test crashes before it is confirmed: MCUboot reverts it (persistent switch). */
  crashNewImage?: boolean;
}

export interface SmpDeviceSimOptions {
  /** The simulator's end of the pty pair. */
  path: string;
  /** Simulated line rate, baud (both directions paced, 8N1). Default 115200; 0 = unpaced. */
  baudRate?: number;
  /** Image in the primary slot at power-on. Default: a 4 KiB test image, version 1.0.0. */
  primaryImage?: Uint8Array;
  /**
   * The SMP buffer, bytes: what `mcumgr params` reports as `buf_size`. As on Zephyr, the serial
   * packet's length, SMP message and CRC are decoded into it, so a request longer than
   * `bufSize` − 4 does not fit and is dropped without an answer (reference/bus-protocols.md §7).
   * Default 256.
   */
  bufSize?: number;
  /**
   * `buf_count` in the params answer, and the buffers the device has: each request waiting or being
   * handled holds one, the response being sent one more (Zephyr `CONFIG_MCUMGR_BUF_COUNT`: "used for
   * both requests and responses"); a request that finds none free is dropped unanswered. Default 4.
   */
  bufCount?: number;
  /** Answers `mcumgr params` (group 0 command 6); false: stays silent on it, as older firmware does. Default true. */
  answersParams?: boolean;
  /** Flash write time, µs per byte, spent before answering an upload chunk. Default 10. */
  flashUsPerByte?: number;
  /** Time from reset to the application answering again, ms. Default 200. */
  bootTimeMs?: number;
  /** The port vanishes during a reset, like a USB CDC-ACM device re-enumerating. Default false. */
  resetDisconnects?: boolean;
  slotSize?: number;
  faults?: SmpSimFaults;
  log?: Logger;
}

/** What the simulator saw, for assertions. */
export interface SmpSimRecord {
  requests: { op: number; group: number; id: number; seq: number }[];
  /** `off` of every image upload request the device processed, in order. */
  uploadOffsets: number[];
  resets: number;
  reboots: number;
  disappearances: number;
  rxDiscards: number;
  /** Requests dropped unanswered because they did not fit the buffer, with their SMP message length. */
  oversize: number[];
  /** Requests dropped unanswered because every buffer was in use (too many requests in flight). */
  overrun: number;
  /** Most requests held at once (waiting or being handled). */
  maxHeld: number;
}

/**
 * An MCUmgr SMP device (Zephyr img_mgmt + os_mgmt over the console transport) with MCUboot
 * slots, on one end of a pty pair, paced at a baud rate. Run it standalone with
 * `node dist/hw-fixtures/serial/smp-device-sim.js --port /dev/pts/N [--baud 115200] [--version 1.0.0]`.
 */
export class SmpDeviceSim {
  readonly slots: McubootSlots;
  faults: SmpSimFaults;
  readonly record: SmpSimRecord = {
    requests: [],
    uploadOffsets: [],
    resets: 0,
    reboots: 0,
    disappearances: 0,
    rxDiscards: 0,
    oversize: [],
    overrun: 0,
    maxHeld: 0,
  };
  /** Requests received and not yet answered (each holds a buffer; the one being answered holds two). */
  private held = 0;
  private readonly rx: SmpConsoleReassembler;
  private readonly life = new AbortController();
  private queue: Promise<void> = Promise.resolve();
  private state: 'running' | 'booting' | 'away' = 'running';
  private stalledUntil = 0;

  private constructor(
    private readonly port: PacedPort,
    private readonly options: SmpDeviceSimOptions,
  ) {
    this.slots = new McubootSlots(options.primaryImage ?? buildTestImage('1.0.0'), options.slotSize);
    this.faults = options.faults ?? {};
    this.rx = new SmpConsoleReassembler({ onDiscard: () => this.record.rxDiscards++ });
    port.onData((d) => this.onData(d));
  }

  static async start(options: SmpDeviceSimOptions): Promise<SmpDeviceSim> {
    const port = await PacedPort.open({ path: options.path, baudRate: options.baudRate ?? 115200, log: options.log });
    return new SmpDeviceSim(port, options);
  }

  get bufSize(): number {
    return this.options.bufSize ?? 256;
  }

  /** Version string of the image in the primary slot (the one running). */
  get runningVersion(): string {
    return this.slots.primary.version;
  }

  /** The paced port (line statistics, pacing maths). */
  get line(): PacedPort {
    return this.port;
  }

  async close(): Promise<void> {
    this.life.abort(new Error('simulator closed'));
    await this.port.close();
  }

  private onData(data: Uint8Array): void {
    if (this.state !== 'running') return; // a rebooting or vanished device hears nothing
    for (const packet of this.rx.feed(data)) {
      if (this.held > 0 && this.held + 2 > (this.options.bufCount ?? 4)) {
        this.record.overrun++;
        continue;
      }
      this.held++;
      this.record.maxHeld = Math.max(this.record.maxHeld, this.held);
      this.queue = this.queue
        .then(() => this.handle(packet))
        .finally(() => this.held--)
        .catch((e: unknown) => {
          if (!isCancelled(e)) this.options.log?.error({ err: e }, 'smp sim: request handling failed');
        });
    }
  }

  private async handle(packet: Uint8Array): Promise<void> {
    if (this.life.signal.aborted || this.state !== 'running') return;
    const { header, data } = decodeSmpPacket(packet);
    this.record.requests.push({ op: header.op, group: header.group, id: header.id, seq: header.seq });
    const now = performance.now();
    if (this.faults.stallMs) {
      this.stalledUntil = now + this.faults.stallMs;
      this.faults.stallMs = undefined;
    }
    if (now < this.stalledUntil) return;
    if (packet.length + SERIAL_PACKET_OVERHEAD > this.bufSize) {
      this.record.oversize.push(packet.length);
      return;
    }
    const body = decodeBody(data);
    if (header.group === SmpGroup.Os) return this.os(header, body);
    if (header.group === SmpGroup.Image) return this.image(header, body);
    return this.respond(header, { rc: MgmtErr.ENOTSUP });
  }

  private async os(h: SmpHeader, body: SmpBody): Promise<void> {
    switch (h.id) {
      case OsCmd.Echo:
        return this.respond(h, { r: typeof body.d === 'string' ? body.d : '' });
      case OsCmd.McumgrParams:
        if (this.options.answersParams === false) return;
        return this.respond(h, { buf_size: this.bufSize, buf_count: this.options.bufCount ?? 4 });
      case OsCmd.Info:
        return this.respond(h, { output: `sensor-proxy-smp-sim ${this.runningVersion}` });
      case OsCmd.Reset:
        await this.respond(h, {});
        this.record.resets++;
        return this.reboot(this.options.resetDisconnects === true);
      default:
        return this.respond(h, { rc: MgmtErr.ENOTSUP });
    }
  }

  private async image(h: SmpHeader, body: SmpBody): Promise<void> {
    if (h.id === ImageCmd.State) {
      if (h.op === 2) {
        const err = this.slots.setState({
          hash: body.hash instanceof Uint8Array ? body.hash : undefined,
          confirm: body.confirm === true,
        });
        if (err) return this.respondError(h, err.err);
      }
      return this.respond(h, { images: this.slots.states() });
    }
    if (h.id === ImageCmd.Upload) {
      const off = typeof body.off === 'number' ? body.off : -1;
      if (off < 0 || !(body.data instanceof Uint8Array)) return this.respond(h, { rc: MgmtErr.EINVAL });
      this.record.uploadOffsets.push(off);
      const r = this.slots.uploadChunk({
        off,
        data: body.data,
        len: typeof body.len === 'number' ? body.len : undefined,
        sha: body.sha instanceof Uint8Array ? body.sha : undefined,
      });
      if ('err' in r) return this.respondError(h, r.err);
      const flashMs = (r.written * (this.options.flashUsPerByte ?? 10)) / 1000;
      if (flashMs > 0) await delay(flashMs, this.life.signal);
      const reached = Number(r.ok.off);
      if (this.faults.rebootAtOffset !== undefined && reached >= this.faults.rebootAtOffset) {
        this.faults.rebootAtOffset = undefined;
        return this.reboot(false);
      }
      if (this.faults.disappearAtOffset !== undefined && reached >= this.faults.disappearAtOffset) {
        this.faults.disappearAtOffset = undefined;
        return this.vanish(this.faults.disappearForMs ?? 300);
      }
      return this.respond(h, r.ok);
    }
    return this.respond(h, { rc: MgmtErr.ENOTSUP });
  }

  private respondError(h: SmpHeader, err: SlotError): Promise<void> {
    return this.respond(
      h,
      h.version === 1 ? { err: { group: err.group, rc: err.rc } } : { rc: err.v1rc, rsn: err.rsn },
    );
  }

  private async respond(req: SmpHeader, body: SmpBody): Promise<void> {
    const packet = encodeSmpPacket(
      { op: (req.op + 1) as SmpOpValue, version: req.version, flags: 0, group: req.group, seq: req.seq, id: req.id },
      encodeBody(body),
    );
    let wire = encodeConsoleFrames(packet);
    if (this.faults.corruptResponses) {
      this.faults.corruptResponses--;
      wire = Uint8Array.from(wire);
      wire[4] = wire[4] === 0x41 ? 0x42 : 0x41;
    }
    if (this.faults.dropResponseBytes) {
      const n = this.faults.dropResponseBytes;
      this.faults.dropResponseBytes = undefined;
      const mid = Math.floor(wire.length / 2);
      wire = Uint8Array.from([...wire.subarray(0, mid), ...wire.subarray(mid + n)]);
    }
    await this.port.write(wire);
  }

  /** Device restarts: deaf for `bootTimeMs`, MCUboot runs, the application comes back. */
  private async reboot(portVanishes: boolean): Promise<void> {
    this.state = 'booting';
    this.record.reboots++;
    if (portVanishes) {
      this.record.disappearances++;
      await this.port.disappear();
    }
    await delay(this.options.bootTimeMs ?? 200, this.life.signal);
    this.slots.boot({ crashNewImage: this.faults.crashNewImage });
    this.rx.reset();
    if (portVanishes) await this.port.reopen();
    this.state = 'running';
    this.options.log?.info({ version: this.runningVersion, boot: this.slots.boots.at(-1) }, 'smp sim: booted');
  }

  /** The port closes mid-transfer and comes back after `ms` (device state kept). */
  private async vanish(ms: number): Promise<void> {
    this.state = 'away';
    this.record.disappearances++;
    await this.port.disappear();
    await delay(ms, this.life.signal);
    this.rx.reset();
    await this.port.reopen();
    this.state = 'running';
  }
}

async function main(argv: string[]): Promise<void> {
  const arg = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const port = arg('port');
  if (!port) {
    process.stderr.write(
      'usage: smp-device-sim --port /dev/pts/N [--baud 115200] [--version 1.0.0] [--flash-us-per-byte 10] [--buf-size 256] [--buf-count 4] [--no-params]\n',
    );
    process.exitCode = 2;
    return;
  }
  const sim = await SmpDeviceSim.start({
    path: port,
    baudRate: Number(arg('baud') ?? 115200),
    primaryImage: buildTestImage(arg('version') ?? '1.0.0'),
    flashUsPerByte: Number(arg('flash-us-per-byte') ?? 10),
    bufSize: Number(arg('buf-size') ?? 256),
    bufCount: Number(arg('buf-count') ?? 4),
    answersParams: !argv.includes('--no-params'),
  });
  process.stderr.write(`smp-device-sim on ${port}, running ${sim.runningVersion}; Ctrl-C to stop\n`);
  process.once('SIGINT', () => void sim.close());
  process.once('SIGTERM', () => void sim.close());
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`smp-device-sim: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
