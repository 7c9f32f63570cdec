import { createHash } from 'node:crypto';
import { BusError, throwIfAborted } from '../../../../drivers/shared/errors.js';
import { ToyCommand, ToyStatus, type ToyBus, type ToyIdentity } from './toy-bus.js';

/** A simulated TOY/1 device: its identity, its flash, and a fault switch for tests. */
export interface SimulatedToyDevice extends ToyIdentity {
  flash: Uint8Array;
  /** Flip one bit of every written chunk (a noisy line): FINISH then fails its hash check. */
  corruptWrites?: boolean;
}

/**
 * TOY/1 devices in memory. On FINISH with a matching SHA-256 the device activates the image: an
 * image starts with the line `TOYFW <version>\n`, which becomes the version IDENTIFY reports.
 */
export class MemoryToyBus implements ToyBus {
  readonly devices = new Map<number, SimulatedToyDevice>();
  private readonly pending = new Map<number, Uint8Array>();

  add(address: number, device: SimulatedToyDevice): this {
    this.devices.set(address, device);
    return this;
  }

  async scan(): Promise<number[]> {
    return [...this.devices.keys()].sort((a, b) => a - b);
  }

  async exchange(address: number, request: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    throwIfAborted(signal);
    const d = this.devices.get(address);
    if (!d) throw new BusError('TOY_NO_DEVICE', `no toy device answers at address ${address}`, { address });
    const body = Buffer.from(request.subarray(1));
    const ok = (payload: Uint8Array = new Uint8Array(0)) => Uint8Array.of(ToyStatus.Ok, ...payload);
    switch (request[0]) {
      case ToyCommand.Identify:
        return ok(Buffer.from(JSON.stringify({ model: d.model, serial: d.serial, version: d.version })));
      case ToyCommand.Begin:
        this.pending.set(address, new Uint8Array(body.readUInt32BE(0)));
        return ok();
      case ToyCommand.Write: {
        const buf = this.pending.get(address);
        const offset = body.readUInt32BE(0);
        const data = Uint8Array.from(body.subarray(4));
        if (!buf || offset + data.length > buf.length) return Uint8Array.of(ToyStatus.BadRequest);
        if (d.corruptWrites && data.length > 0) data[0]! ^= 0x01;
        buf.set(data, offset);
        return ok();
      }
      case ToyCommand.Finish: {
        const buf = this.pending.get(address);
        if (!buf) return Uint8Array.of(ToyStatus.BadRequest);
        this.pending.delete(address);
        if (!createHash('sha256').update(buf).digest().equals(body)) return Uint8Array.of(ToyStatus.HashMismatch);
        d.flash = buf;
        d.version = /^TOYFW (\S+)\n/.exec(Buffer.from(buf.subarray(0, 64)).toString('latin1'))?.[1] ?? 'unknown';
        return ok();
      }
      default:
        return Uint8Array.of(ToyStatus.BadRequest);
    }
  }
}
