import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type {
  AddonConstants,
  AddonSocket,
  AddonSocketOptions,
  AddonSystemError,
  IsoTpAddon,
} from '../../../drivers/can/kernel-isotp/addon.js';
import { KernelIsoTpChannel } from '../../../drivers/can/kernel-isotp/kernel-channel.js';
import { isBusError } from '../../../drivers/shared/errors.js';
import { VirtualClock } from '../../../hw-fixtures/can/virtual-clock.js';

/**
 * KernelIsoTpChannel over a fake addon (no kernel needed): what exchange() writes, how it waits, and
 * which errors it gives. The real sockets are covered in the VM (test/vm/isotp-backends).
 */

/** A CAN_ISOTP socket as the addon presents it; the test plays the kernel through its callbacks. */
class FakeSocket implements AddonSocket {
  /** PDUs written with trySend / send (copied, as the kernel copies them). */
  readonly trySent: Uint8Array[] = [];
  readonly sent: Uint8Array[] = [];
  /** false: trySend reports "would block" (a PDU still going out). */
  writable = true;
  /** What txBusy() answers. */
  busy = false;
  trySendError: AddonSystemError | undefined;
  sendCallback: ((err: AddonSystemError | null) => void) | undefined;
  closed = false;

  constructor(
    readonly options: AddonSocketOptions,
    readonly onMessage: (data: Buffer) => void,
    readonly onError: (err: AddonSystemError) => void,
  ) {}

  trySend(data: Uint8Array): boolean {
    if (this.trySendError) throw this.trySendError;
    if (!this.writable) return false;
    this.trySent.push(Uint8Array.from(data));
    return true;
  }
  send(data: Buffer, cb: (err: AddonSystemError | null) => void): void {
    this.sent.push(Uint8Array.from(data));
    this.sendCallback = cb;
  }
  txBusy(): boolean {
    return this.busy;
  }
  close(): void {
    this.closed = true;
  }
}

/** Flag values of linux/can/isotp.h (the fake kernel ignores them). */
const constants: AddonConstants = {
  CAN_ISOTP_LISTEN_MODE: 0x1,
  CAN_ISOTP_EXTEND_ADDR: 0x2,
  CAN_ISOTP_TX_PADDING: 0x4,
  CAN_ISOTP_RX_PADDING: 0x8,
  CAN_ISOTP_CHK_PAD_LEN: 0x10,
  CAN_ISOTP_CHK_PAD_DATA: 0x20,
  CAN_ISOTP_HALF_DUPLEX: 0x40,
  CAN_ISOTP_FORCE_TXSTMIN: 0x80,
  CAN_ISOTP_FORCE_RXSTMIN: 0x100,
  CAN_ISOTP_RX_EXT_ADDR: 0x200,
  CAN_ISOTP_WAIT_TX_DONE: 0x400,
  CAN_ISOTP_SF_BROADCAST: 0x800,
  CAN_ISOTP_FRAME_TXTIME_ZERO: 0xffffffff,
  CAN_MTU: 16,
  CANFD_MTU: 72,
  CANFD_BRS: 0x1,
};

function systemError(code: string): AddonSystemError {
  return Object.assign(new Error(`write: ${code}`), { code, errno: 0, syscall: 'write' });
}

/** `lo` stands in for the CAN interface: open() only reads its MTU before the (fake) socket. */
const IFACE = 'lo';
const noIface = !existsSync(`/sys/class/net/${IFACE}/mtu`) && `no /sys/class/net/${IFACE}`;

function openChannel(clock = new VirtualClock()): { ch: KernelIsoTpChannel; sock: FakeSocket; clock: VirtualClock } {
  const opened: FakeSocket[] = [];
  const addon: IsoTpAddon = {
    IsoTpSocket: class extends FakeSocket {
      constructor(...args: ConstructorParameters<typeof FakeSocket>) {
        super(...args);
        opened.push(this);
      }
    },
    probe: () => null,
    constants,
  };
  const ch = KernelIsoTpChannel.open(IFACE, { txId: 0x7e0, rxId: 0x7e8 }, { addon, clock });
  return { ch, sock: opened[0]!, clock };
}

const REQUEST = Uint8Array.of(0x36, 0x01, 0xaa, 0xbb);
const ANSWER = Uint8Array.of(0x76, 0x01);

test(
  'exchange writes the request at once with trySend and resolves with the message received after it',
  { skip: noIface },
  async () => {
    const { ch, sock } = openChannel();
    try {
      ch.discard();
      const answered = ch.exchange(REQUEST, 1000);
      assert.deepEqual(sock.trySent, [REQUEST], 'written synchronously, before the first await');
      assert.deepEqual(sock.sent, [], 'no send() waiting for tx done');
      assert.equal(ch.stats.messagesSent, 1);
      let settled = false;
      void answered.then(() => (settled = true));
      await new Promise((r) => setImmediate(r));
      assert.equal(settled, false, 'waits for the answer');
      sock.onMessage(Buffer.from(ANSWER));
      assert.deepEqual(await answered, ANSWER);
      assert.equal(ch.stats.messagesReceived, 1);
    } finally {
      ch.close();
    }
  },
);

test(
  'exchange rejects ISOTP_RX_TIMEOUT after timeoutMs, extended while the request is still being transmitted',
  { skip: noIface },
  async () => {
    const { ch, sock, clock } = openChannel();
    try {
      sock.busy = true;
      clock.schedule(150_000, () => (sock.busy = false)); // the PDU is out 150 ms after the exchange
      const r = await ch.exchange(REQUEST, 100).then(
        () => assert.fail('no answer came'),
        (e: unknown) => e,
      );
      assert.ok(isBusError(r, 'ISOTP_RX_TIMEOUT'), String(r));
      // 100 ms: still transmitting, extended by 100 ms; at 200 ms it is out, so the timeout stands.
      assert.equal(clock.now(), 200_000);
    } finally {
      ch.close();
    }
  },
);

test('a transmission error after trySend rejects the exchange with the send code', { skip: noIface }, async () => {
  const { ch, sock } = openChannel();
  try {
    const answered = ch.exchange(REQUEST, 1000);
    sock.onError(systemError('ECOMM'));
    await assert.rejects(answered, (e) => isBusError(e, 'ISOTP_TIMEOUT_BS') && e.details['backend'] === 'kernel');
    const overflow = ch.exchange(REQUEST, 1000);
    sock.onError(systemError('EMSGSIZE'));
    await assert.rejects(
      overflow,
      (e) => isBusError(e, 'ISOTP_OVERFLOW') && e.details['size'] === REQUEST.length,
      'FC.OVFLW names the size of the request refused',
    );
  } finally {
    ch.close();
  }
});

test(
  'when trySend would block, exchange sends, waits for tx done, then takes the answer',
  { skip: noIface },
  async () => {
    const { ch, sock } = openChannel();
    try {
      sock.writable = false;
      const answered = ch.exchange(REQUEST, 1000);
      assert.deepEqual(sock.sent, [REQUEST]);
      assert.deepEqual(sock.trySent, []);
      sock.sendCallback!(null);
      await new Promise((r) => setImmediate(r));
      sock.onMessage(Buffer.from(ANSWER));
      assert.deepEqual(await answered, ANSWER);
      assert.equal(ch.stats.messagesSent, 1);
    } finally {
      ch.close();
    }
  },
);

test(
  'exchange maps a failing write and refuses empty requests and a closed channel, sending nothing',
  { skip: noIface },
  async () => {
    const { ch, sock } = openChannel();
    sock.trySendError = systemError('ENETDOWN');
    await assert.rejects(ch.exchange(REQUEST, 1000), (e) => isBusError(e, 'CAN_NETDOWN'));
    sock.trySendError = undefined;
    await assert.rejects(ch.exchange(new Uint8Array(0), 1000), (e) => isBusError(e, 'ISOTP_PAYLOAD_SIZE'));
    ch.close();
    assert.equal(sock.closed, true);
    await assert.rejects(ch.exchange(REQUEST, 1000), (e) => isBusError(e, 'ISOTP_BUSY'));
    assert.deepEqual(sock.trySent, []);
    assert.equal(ch.stats.messagesSent, 0);
  },
);
