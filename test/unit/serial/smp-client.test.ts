/**
 * SmpClient against a scripted device on an in-memory serial cable: sequence matching, retries,
 * abort, and the upload's use of the device's `off` (resume, restart, stall) — asserted on the
 * requests the device received (smp_group_1.rst "Image upload").
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { decodeBody, encodeBody, type SmpBody } from '../../../drivers/serial/smp/cbor-body.js';
import { encodeConsoleFrames } from '../../../drivers/serial/smp/console-framing.js';
import { SmpConsoleReassembler } from '../../../drivers/serial/smp/console-reassembler.js';
import { SmpClient } from '../../../drivers/serial/smp/smp-client.js';
import {
  decodeSmpPacket,
  encodeSmpPacket,
  type SmpHeader,
  type SmpOpValue,
} from '../../../drivers/serial/smp/smp-header.js';
import { CancelledError, isBusError } from '../../../drivers/shared/errors.js';
import { BufferImageSource } from '../../../drivers/shared/image-source.js';
import { createMemoryLinkPair } from '../../../hw-fixtures/serial/ymodem-memory-link.js';

const T = { timeout: 10_000 };

interface Seen {
  header: SmpHeader;
  body: SmpBody;
  size: number;
}

/** A device that answers each request with whatever `answer` returns (undefined = stay silent). */
function scriptedDevice(answer: (req: Seen, n: number) => SmpBody | undefined | { seq: number; body: SmpBody }[]) {
  const { host, device } = createMemoryLinkPair();
  const seen: Seen[] = [];
  const rx = new SmpConsoleReassembler();
  device.onData((d) => {
    for (const packet of rx.feed(d)) {
      const { header, data } = decodeSmpPacket(packet);
      const req = { header, body: decodeBody(data), size: packet.length };
      seen.push(req);
      const out = answer(req, seen.length);
      const replies = out === undefined ? [] : Array.isArray(out) ? out : [{ seq: header.seq, body: out }];
      for (const r of replies) {
        const rsp = encodeSmpPacket(
          {
            op: (header.op + 1) as SmpOpValue,
            version: header.version,
            flags: 0,
            group: header.group,
            seq: r.seq,
            id: header.id,
          },
          encodeBody(r.body),
        );
        void device.write(encodeConsoleFrames(rsp));
      }
    }
  });
  return { host, seen };
}

describe('SmpClient requests', () => {
  it('drops a response to another sequence number and returns the matching one', T, async () => {
    const { host } = scriptedDevice((req) => [
      { seq: (req.header.seq + 7) & 0xff, body: { r: 'stale' } },
      { seq: req.header.seq, body: { r: 'fresh' } },
    ]);
    assert.equal(await new SmpClient(host).echo('fresh'), 'fresh');
  });

  it('resends an unanswered request with a new sequence number', T, async () => {
    const { host, seen } = scriptedDevice((req, n) => (n === 1 ? undefined : { r: req.body.d as string }));
    assert.equal(await new SmpClient(host, { timeouts: { responseMs: 100 } }).echo('again'), 'again');
    assert.equal(seen.length, 2);
    assert.notEqual(seen[0]!.header.seq, seen[1]!.header.seq);
  });

  it('gives SMP_TIMEOUT after the attempts, and CancelledError on abort, without hanging', T, async () => {
    const { host, seen } = scriptedDevice(() => undefined);
    const c = new SmpClient(host, { timeouts: { responseMs: 50 }, attempts: { request: 3 } });
    await assert.rejects(c.echo('x'), (e: unknown) => isBusError(e, 'SMP_TIMEOUT') && e.details.attempts === 3);
    assert.equal(seen.length, 3);
    const ac = new AbortController();
    const pending = assert.rejects(
      c.echo('y', { signal: ac.signal, timeoutMs: 60_000 }),
      (e: unknown) => e instanceof CancelledError,
    );
    setImmediate(() => ac.abort(new Error('stop')));
    await pending;
  });
});

describe('SmpClient.imageUpload', () => {
  const image = Uint8Array.from({ length: 5000 }, (_, i) => (i * 13) & 0xff);

  /** A device taking uploads like img_mgmt, with hooks to change its answer. */
  function uploadDevice(mtu: number, tweak?: (req: SmpBody, n: number, next: number) => number) {
    let off = 0;
    return scriptedDevice((req, n) => {
      assert.ok(req.size <= mtu, `request ${n} is ${req.size} bytes > MTU ${mtu}`);
      const b = req.body;
      const data = b.data as Uint8Array;
      if (b.off === 0) off = 0;
      if (b.off === off) off += data.length;
      const next = tweak ? tweak(b, n, off) : off;
      off = next;
      return next === image.length ? { off: next, match: true } : { off: next };
    });
  }

  it('fits every request in the MTU and sends first-packet fields only at offset 0', T, async () => {
    const { host, seen } = uploadDevice(128);
    const r = await new SmpClient(host, { mtu: 128 }).imageUpload(new BufferImageSource(image), { image: 0 });
    assert.equal(r.match, true);
    assert.deepEqual(Object.keys(seen[0]!.body).sort(), ['data', 'image', 'len', 'off', 'sha']);
    assert.ok(seen.slice(1).every((s) => Object.keys(s.body).sort().join() === 'data,off'));
    const sent = Buffer.concat(seen.map((s) => s.body.data as Uint8Array));
    assert.deepEqual(new Uint8Array(sent), image);
  });

  it('continues at the offset the device reports on the first request (resume)', T, async () => {
    const { host, seen } = uploadDevice(256, (_req, n, next) => (n === 1 ? 3000 : next));
    const r = await new SmpClient(host).imageUpload(new BufferImageSource(image));
    assert.equal(r.resumedFrom, 3000);
    assert.equal(seen[1]!.body.off, 3000);
    assert.deepEqual(seen[1]!.body.data, image.subarray(3000, 3000 + (seen[1]!.body.data as Uint8Array).length));
    assert.ok(r.bytesSent < 2500, `sent ${r.bytesSent}`);
  });

  it('goes back to 0 with len and sha again when the device lost its state', T, async () => {
    const { host, seen } = uploadDevice(256, (_req, n, next) => (n === 4 ? 0 : next));
    const r = await new SmpClient(host).imageUpload(new BufferImageSource(image));
    assert.equal(r.restarts, 1);
    const again = seen[4]!.body;
    assert.equal(again.off, 0);
    assert.equal(again.len, image.length);
    assert.ok(again.sha instanceof Uint8Array && again.sha.length === 32);
  });

  it('a device that keeps answering the same offset is SMP_UPLOAD_STALLED', T, async () => {
    const { host } = uploadDevice(256, (_req, n, next) => (n >= 2 ? 231 : next));
    await assert.rejects(new SmpClient(host).imageUpload(new BufferImageSource(image)), (e: unknown) =>
      isBusError(e, 'SMP_UPLOAD_STALLED'),
    );
  });

  it('abort stops between chunks with CancelledError', T, async () => {
    const ac = new AbortController();
    const { host, seen } = uploadDevice(256, (_req, n, next) => {
      if (n === 3) ac.abort(new Error('user'));
      return next;
    });
    await assert.rejects(
      new SmpClient(host).imageUpload(new BufferImageSource(image), { signal: ac.signal }),
      (e: unknown) => e instanceof CancelledError,
    );
    assert.ok(seen.length <= 4, `device saw ${seen.length} requests after abort`);
  });

  /** A device with a `bufSize`-byte SMP buffer: requests longer than bufSize − 4 get no answer (reference §7). */
  function smallBufferDevice(bufSize: number, tooLarge: 'silent' | 'emsgsize' = 'silent') {
    let off = 0;
    return scriptedDevice((req) => {
      if (req.size + 4 > bufSize) return tooLarge === 'silent' ? undefined : { rc: 7 };
      const b = req.body;
      if (b.off === 0) off = 0;
      if (b.off === off) off += (b.data as Uint8Array).length;
      return off === image.length ? { off, match: true } : { off };
    });
  }

  it(
    'shrinkOnTimeout: unanswered requests step down to the next common buffer size and the upload completes',
    T,
    async () => {
      const { host, seen } = smallBufferDevice(256);
      const shrunk: number[] = [];
      const c = new SmpClient(host, { mtu: 1020, timeouts: { responseMs: 30 }, attempts: { request: 2 } });
      const r = await c.imageUpload(new BufferImageSource(image), {
        shrinkOnTimeout: true,
        onMtuShrunk: (m) => shrunk.push(m),
      });
      assert.equal(r.match, true);
      assert.deepEqual(shrunk, [508, 380, 252], 'buffers 512, 384, 256 less length and CRC');
      assert.equal(r.mtu, 252);
      assert.equal(c.mtu, 252);
      assert.equal(seen.filter((q) => q.size > 252).length, 6, 'two attempts at each too-large size');
      const taken = seen.filter((q) => q.size <= 252);
      assert.deepEqual(new Uint8Array(Buffer.concat(taken.map((q) => q.body.data as Uint8Array))), image);
    },
  );

  it('shrinkOnTimeout also steps down on MGMT_ERR_EMSGSIZE', T, async () => {
    const { host } = smallBufferDevice(384, 'emsgsize');
    const r = await new SmpClient(host, { mtu: 508 }).imageUpload(new BufferImageSource(image), {
      shrinkOnTimeout: true,
    });
    assert.equal(r.mtu, 380);
  });

  it(
    'without shrinkOnTimeout an oversized request is SMP_TIMEOUT; with it, a dead device still fails at 124',
    T,
    async () => {
      const small = smallBufferDevice(256);
      await assert.rejects(
        new SmpClient(small.host, { mtu: 380, timeouts: { responseMs: 20 } }).imageUpload(new BufferImageSource(image)),
        (e: unknown) => isBusError(e, 'SMP_TIMEOUT'),
      );
      const dead = scriptedDevice(() => undefined);
      const c = new SmpClient(dead.host, { timeouts: { responseMs: 20 }, attempts: { request: 1 } });
      await assert.rejects(c.imageUpload(new BufferImageSource(image), { shrinkOnTimeout: true }), (e: unknown) =>
        isBusError(e, 'SMP_TIMEOUT'),
      );
      assert.equal(c.mtu, 124, 'stopped after the smallest common buffer (128)');
      assert.equal(dead.seen.length, 2, 'one request at 252, one at 124');
    },
  );
});

describe('SmpClient.imageUpload with requests in flight', () => {
  const image = Uint8Array.from({ length: 6000 }, (_, i) => (i * 7 + 3) & 0xff);

  /**
   * A device like img_mgmt that answers each request a little later, in order (a chunk at another
   * offset than it expects is answered with the offset it expects, data dropped). `drop(n)` loses
   * request n unanswered; `busyDrops` loses every request that arrives while one is unanswered.
   */
  function windowDevice(o: { drop?: (n: number) => boolean; busyDrops?: boolean } = {}) {
    let off = 0;
    let pending = 0;
    let maxPending = 0;
    const taken: { off: number; data: Uint8Array }[] = [];
    const { host, device } = createMemoryLinkPair();
    const seen: Seen[] = [];
    const rx = new SmpConsoleReassembler();
    let chain = Promise.resolve();
    device.onData((d) => {
      for (const packet of rx.feed(d)) {
        const { header, data } = decodeSmpPacket(packet);
        const req = { header, body: decodeBody(data), size: packet.length };
        seen.push(req);
        const n = seen.length;
        if (o.drop?.(n) || (o.busyDrops && pending > 0)) continue;
        pending++;
        maxPending = Math.max(maxPending, pending);
        chain = chain.then(async () => {
          await new Promise((r) => setTimeout(r, 2));
          const b = req.body;
          const chunk = b.data as Uint8Array;
          if (b.off === 0) off = 0;
          if (b.off === off) {
            taken.push({ off, data: chunk });
            off += chunk.length;
          }
          const body = off === image.length ? { off, match: true } : { off };
          const rsp = encodeSmpPacket(
            { op: (header.op + 1) as SmpOpValue, version: header.version, flags: 0, group: 1, seq: header.seq, id: 1 },
            encodeBody(body),
          );
          pending--;
          await device.write(encodeConsoleFrames(rsp));
        });
      }
    });
    /** The image as the device assembled it from the chunks it took. */
    const assembled = () => {
      const out = new Uint8Array(image.length);
      for (const t of taken) out.set(t.data, t.off);
      return out;
    };
    return { host, seen, assembled, maxPending: () => maxPending };
  }

  it('keeps that many requests in flight after the first and delivers the image', T, async () => {
    const dev = windowDevice();
    const progress: number[] = [];
    const r = await new SmpClient(dev.host).imageUpload(new BufferImageSource(image), {
      requestsInFlight: 2,
      onProgress: (p) => progress.push(p.bytesDone),
    });
    assert.equal(r.match, true);
    assert.equal(r.requestsInFlight, 2);
    assert.equal(dev.maxPending(), 2, 'two requests were waiting at the device at once');
    assert.deepEqual(dev.assembled(), image);
    assert.deepEqual(
      dev.seen.map((q) => q.body.off),
      [...dev.seen.map((q) => q.body.off as number)].sort((a, b) => a - b),
      'offsets only go up: nothing sent twice',
    );
    assert.equal(r.requests, dev.seen.length);
    assert.deepEqual(
      progress,
      [...progress].sort((a, b) => a - b),
    );
    assert.equal(progress.at(-1), image.length);
  });

  it(
    'a lost request: the device asks for its offset again, the upload goes on from there with one in flight',
    T,
    async () => {
      const dev = windowDevice({ drop: (n) => n === 4 });
      const r = await new SmpClient(dev.host).imageUpload(new BufferImageSource(image), { requestsInFlight: 2 });
      assert.equal(r.match, true);
      assert.deepEqual(dev.assembled(), image);
      assert.equal(r.requestsInFlight, 1, 'a device that lost a request in flight gets one at a time');
      const lostOff = dev.seen[3]!.body.off;
      assert.ok(
        dev.seen.slice(4).some((q) => q.body.off === lostOff),
        'the lost chunk was sent again',
      );
    },
  );

  it('a device that drops requests while busy still gets the whole image', T, async () => {
    const dev = windowDevice({ busyDrops: true });
    const r = await new SmpClient(dev.host).imageUpload(new BufferImageSource(image), { requestsInFlight: 3 });
    assert.equal(r.match, true);
    assert.deepEqual(dev.assembled(), image);
    assert.equal(r.requestsInFlight, 1);
  });

  it('requests in flight that all go unanswered: after the timeout it goes on one at a time', T, async () => {
    const dev = windowDevice({ drop: (n) => n === 3 || n === 4 });
    const c = new SmpClient(dev.host, { timeouts: { responseMs: 100 } });
    const r = await c.imageUpload(new BufferImageSource(image), { requestsInFlight: 2 });
    assert.equal(r.match, true);
    assert.deepEqual(dev.assembled(), image);
    assert.equal(r.requestsInFlight, 1);
  });

  it('a device that went back to 0 gets the first-packet fields again', T, async () => {
    let restarted = false;
    const { host, seen } = uploadLikeDevice((b, off) => {
      if (!restarted && off >= 2000) {
        restarted = true;
        return 0;
      }
      return off;
    });
    const r = await new SmpClient(host).imageUpload(new BufferImageSource(image), { requestsInFlight: 2 });
    assert.equal(r.match, true);
    assert.equal(r.restarts, 1);
    const again = seen.filter((q) => q.body.off === 0);
    assert.equal(again.length, 2);
    assert.equal(again[1]!.body.len, image.length);
  });

  /** img_mgmt answering at once; `tweak` may change the offset it answers (and keeps). */
  function uploadLikeDevice(tweak: (b: SmpBody, off: number) => number) {
    let off = 0;
    return scriptedDevice((req) => {
      const b = req.body;
      if (b.off === 0) off = 0;
      if (b.off === off) off += (b.data as Uint8Array).length;
      off = tweak(b, off);
      return off === image.length ? { off, match: true } : { off };
    });
  }

  it('rejects a window outside 1-4', T, async () => {
    const { host } = scriptedDevice(() => ({ off: 0 }));
    await assert.rejects(
      new SmpClient(host).imageUpload(new BufferImageSource(image), { requestsInFlight: 5 }),
      RangeError,
    );
  });
});

describe('SmpClient.mcumgrParams', () => {
  it('returns buf_size and buf_count; a response without buf_size is SMP_BAD_RESPONSE', T, async () => {
    const good = scriptedDevice(() => ({ buf_size: 384, buf_count: 4 }));
    assert.deepEqual(await new SmpClient(good.host).mcumgrParams(), { bufSize: 384, bufCount: 4 });
    assert.deepEqual(good.seen[0]!.header.group, 0);
    assert.deepEqual(good.seen[0]!.header.id, 6);
    const bad = scriptedDevice(() => ({ buf_count: 4 }));
    await assert.rejects(new SmpClient(bad.host).mcumgrParams(), (e: unknown) => isBusError(e, 'SMP_BAD_RESPONSE'));
  });
});
