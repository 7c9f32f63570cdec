import { createHash } from 'node:crypto';
import { BusError, throwIfAborted } from '../../../../drivers/shared/errors.js';
import type { ImageSource } from '../../../../drivers/shared/image-source.js';

/**
 * TOY/1, the toy protocol of docs/extending.md: one request, one response, addressed by a small
 * integer. Request = command byte + payload; response = status byte (0 = OK) + payload.
 * A driver layer file: it imports only drivers/ (here drivers/shared) and emits plain errors
 * ({@link BusError} with a `TOY_` code) that the handler maps to result codes on its side.
 */
export const ToyCommand = { Identify: 0x01, Begin: 0x02, Write: 0x03, Finish: 0x04 } as const;
export const ToyStatus = { Ok: 0x00, BadRequest: 0x01, HashMismatch: 0x10 } as const;

/** The wire: whatever carries TOY/1 frames (a memory bus in the example; a UART or a socket in life). */
export interface ToyBus {
  /** Addresses that answer on the bus now. */
  scan(signal?: AbortSignal): Promise<number[]>;
  /** One exchange with the device at `address`; rejects with TOY_NO_DEVICE when nothing answers. */
  exchange(address: number, request: Uint8Array, signal?: AbortSignal): Promise<Uint8Array>;
}

export interface ToyIdentity {
  model: string;
  serial: string;
  version: string;
}

/** The protocol client for one device: identification and a streamed flash. */
export class ToyClient {
  constructor(
    private readonly bus: ToyBus,
    readonly address: number,
    private readonly chunkSize = 64,
  ) {}

  async identify(signal?: AbortSignal): Promise<ToyIdentity> {
    const body = await this.request(ToyCommand.Identify, new Uint8Array(0), signal);
    return JSON.parse(Buffer.from(body).toString('utf8')) as ToyIdentity;
  }

  /**
   * Streams `image` in `chunkSize` writes (never the whole image in memory), then FINISH with its
   * SHA-256: the device checks it and activates the image. `onChunk` gets the bytes written so far.
   */
  async flash(image: ImageSource, onChunk: (written: number) => void, signal?: AbortSignal): Promise<void> {
    const size = Buffer.alloc(4);
    size.writeUInt32BE(image.size);
    await this.request(ToyCommand.Begin, size, signal);
    const hash = createHash('sha256');
    for (let offset = 0; offset < image.size; offset += this.chunkSize) {
      throwIfAborted(signal);
      const chunk = await image.readAt(offset, this.chunkSize);
      hash.update(chunk);
      const frame = Buffer.alloc(4 + chunk.length);
      frame.writeUInt32BE(offset);
      frame.set(chunk, 4);
      await this.request(ToyCommand.Write, frame, signal);
      onChunk(offset + chunk.length);
    }
    await this.request(ToyCommand.Finish, hash.digest(), signal);
  }

  private async request(command: number, payload: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    throwIfAborted(signal);
    const req = new Uint8Array(1 + payload.length);
    req[0] = command;
    req.set(payload, 1);
    const res = await this.bus.exchange(this.address, req, signal);
    const status = res[0];
    if (status === ToyStatus.Ok) return res.subarray(1);
    throw new BusError(
      status === ToyStatus.HashMismatch ? 'TOY_HASH_MISMATCH' : 'TOY_NAK',
      `toy device ${this.address} refused command 0x${command.toString(16)} with status 0x${(status ?? 0).toString(16)}`,
      { address: this.address, command, status },
    );
  }
}
