/**
 * Issue 13 item 4, twin side: the MQTT byte-stream guard in front of MQTT.js's parser. Packets are
 * generated and the guard's output parsed by `mqtt-packet` (the codec aedes uses, an independent
 * implementation), so framing is checked against a real MQTT 3.1.1 codec.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generate, parser, type IPublishPacket, type Packet } from 'mqtt-packet';
import {
  encodeRemainingLength,
  TwinDocScanner,
  TwinSizeGuard,
  type OversizeTwinMessage,
} from '../../../src/hub/twin-size-guard.js';
import { boundedDesired, parseServiceRequest, OVERSIZE_KEY } from '../../../src/hub/service-request.js';

const LIMIT = 1000;
const PATCH_TOPIC = '$iothub/twin/PATCH/properties/desired/?$version=7';
const GET_TOPIC = '$iothub/twin/res/200/?$rid=42';

function publish(topic: string, payload: string | Buffer, o: Partial<IPublishPacket> = {}): Buffer {
  return generate({ cmd: 'publish', topic, payload, qos: 0, dup: false, retain: false, ...o } as IPublishPacket);
}

/** Feeds `chunks` through a guard; returns the packets mqtt-packet parses from its output and the drop reports. */
async function through(
  chunks: Buffer[],
  limit = LIMIT,
): Promise<{ packets: Packet[]; out: Buffer; dropped: OversizeTwinMessage[] }> {
  const dropped: OversizeTwinMessage[] = [];
  const guard = new TwinSizeGuard({ limitBytes: limit, onOversize: (m) => dropped.push(m) });
  const outParts: Buffer[] = [];
  guard.on('data', (b: Buffer) => outParts.push(b));
  const ended = new Promise((r) => guard.on('end', r));
  for (const c of chunks) guard.write(c);
  guard.end();
  await ended;
  const out = Buffer.concat(outParts);
  const packets: Packet[] = [];
  const p = parser({ protocolVersion: 4 });
  p.on('packet', (pk: Packet) => packets.push(pk));
  p.on('error', (e: Error) => assert.fail(`mqtt-packet could not parse the guard's output: ${e.message}`));
  p.parse(out);
  return { packets, out, dropped };
}

/** Every way of cutting `buf` in two, plus one byte at a time. */
function splits(buf: Buffer): Buffer[][] {
  const ways: Buffer[][] = [];
  for (let i = 1; i < buf.length; i++) ways.push([buf.subarray(0, i), buf.subarray(i)]);
  ways.push([...buf].map((b) => Buffer.from([b])));
  return ways;
}

const bigManifest = (n: number) => 'x'.repeat(n);
const desiredPatch = (manifestBytes: number, wf = { action: 3, id: 'wf-big', retryTimestamp: 'r1' }) =>
  JSON.stringify({
    deviceUpdate: {
      __t: 'c',
      service: { workflow: wf, updateManifest: bigManifest(manifestBytes), updateManifestSignature: 'sig' },
    },
    $version: 7,
  });

describe('TwinSizeGuard (MQTT 3.1.1 framing)', () => {
  it('passes ordinary traffic byte for byte, split at every byte boundary', async () => {
    const stream = Buffer.concat([
      generate({ cmd: 'connack', returnCode: 0, sessionPresent: false }),
      generate({ cmd: 'suback', messageId: 1, granted: [0] }),
      publish(GET_TOPIC, '{"desired":{"$version":3},"reported":{"$version":1}}'),
      publish(PATCH_TOPIC, desiredPatch(200)),
      generate({ cmd: 'pingresp' }),
    ]);
    for (const chunks of splits(stream)) {
      const { out, dropped } = await through(chunks);
      assert.deepEqual(out, stream);
      assert.deepEqual(dropped, []);
    }
  });

  it('decodes Remaining Lengths of 1 to 4 bytes (§2.2.3) and leaves non-twin topics untouched', async () => {
    // Payload sizes whose PUBLISH Remaining Length needs 1, 2, 3 and 4 bytes.
    for (const [size, lenBytes] of [
      [10, 1],
      [200, 2],
      [20_000, 3],
      [2_100_000, 4],
    ] as const) {
      const pk = publish('devices/gw/messages/devicebound/x', Buffer.alloc(size, 0x61));
      let n = 1;
      while (pk[n]! & 0x80) n++;
      assert.equal(n, lenBytes, `${size}: the packet's Remaining Length takes ${lenBytes} bytes`);
      const chunks = size < 1000 ? [pk] : [pk.subarray(0, 3), pk.subarray(3, 4000), pk.subarray(4000)];
      const { out, dropped } = await through(chunks);
      assert.deepEqual(out, pk, `a ${size}-byte non-twin PUBLISH (over the limit too) passes unchanged`);
      assert.deepEqual(dropped, []);
    }
  });

  it('encodes Remaining Length as the spec examples (§2.2.3 table 2.4 bounds)', () => {
    const cases: Array<[number, number[]]> = [
      [0, [0x00]],
      [127, [0x7f]],
      [128, [0x80, 0x01]],
      [16_383, [0xff, 0x7f]],
      [16_384, [0x80, 0x80, 0x01]],
      [2_097_151, [0xff, 0xff, 0x7f]],
      [2_097_152, [0x80, 0x80, 0x80, 0x01]],
      [268_435_455, [0xff, 0xff, 0xff, 0x7f]],
    ];
    for (const [n, bytes] of cases) assert.deepEqual([...encodeRemainingLength(n)], bytes, String(n));
  });

  it('replaces an oversize desired PATCH by a small one that keeps the workflow and $version', async () => {
    const pk = publish(PATCH_TOPIC, desiredPatch(5000));
    const { packets, dropped } = await through([pk]);
    assert.equal(packets.length, 1);
    const sub = packets[0] as IPublishPacket;
    assert.equal(sub.topic, PATCH_TOPIC);
    assert.equal(sub.qos, 0);
    const doc = JSON.parse(sub.payload.toString()) as Record<string, any>;
    assert.deepEqual(doc, {
      deviceUpdate: {
        service: {
          workflow: { action: 3, id: 'wf-big', retryTimestamp: 'r1' },
          [OVERSIZE_KEY]: Buffer.byteLength(desiredPatch(5000)),
        },
      },
      $version: 7,
    });
    assert.equal(dropped.length, 1);
    assert.equal(dropped[0]!.bytes, Buffer.byteLength(desiredPatch(5000)));
    // What the agent then makes of it: a request marked oversize (MANIFEST_TOO_LARGE in deployment.ts).
    const { desired } = boundedDesired(doc);
    const req = parseServiceRequest((desired.deviceUpdate as any).service);
    assert.equal(req.oversize, true);
    assert.equal(req.workflow.id, 'wf-big');
    assert.equal(req.workflow.retryTimestamp, 'r1');
    assert.equal(req.oversizeBytes, Buffer.byteLength(desiredPatch(5000)));
  });

  it('an oversize PUBLISH followed by a normal one in the same chunk, at every split', async () => {
    const big = publish(PATCH_TOPIC, desiredPatch(1500));
    const small = publish('$iothub/twin/PATCH/properties/desired/?$version=8', '{"other":1,"$version":8}');
    const stream = Buffer.concat([big, small, generate({ cmd: 'pingresp' })]);
    for (const chunks of splits(stream)) {
      const { packets, out, dropped } = await through(chunks);
      assert.equal(packets.length, 3);
      assert.equal((packets[0] as IPublishPacket).topic, PATCH_TOPIC);
      assert.ok(
        (packets[0] as IPublishPacket).payload
          .toString()
          .includes(`"$oversize":${big.length - 2 - 3 - PATCH_TOPIC.length}`),
        'the substitute carries the number of payload bytes dropped',
      );
      assert.deepEqual(
        out.subarray(out.length - small.length - 2),
        Buffer.concat([small, generate({ cmd: 'pingresp' })]),
      );
      assert.equal(packets[2]!.cmd, 'pingresp');
      assert.equal(dropped.length, 1);
      assert.equal(dropped[0]!.facts.workflow?.id, 'wf-big');
    }
  });

  it('keeps QoS, DUP/RETAIN flags and the packet id of a QoS 1 twin PUBLISH (PUBACK still matches)', async () => {
    const pk = publish(PATCH_TOPIC, desiredPatch(3000), { qos: 1, messageId: 4242, dup: true });
    for (const chunks of [[pk], [pk.subarray(0, 2), pk.subarray(2, 60), pk.subarray(60)]]) {
      const { packets } = await through(chunks);
      const sub = packets[0] as IPublishPacket;
      assert.equal(sub.qos, 1);
      assert.equal(sub.messageId, 4242);
      assert.equal(sub.dup, true);
      assert.equal(sub.topic, PATCH_TOPIC);
    }
  });

  it('an oversize GET answer keeps desired.$version and the workflow under "desired"', async () => {
    const body = JSON.stringify({
      desired: {
        deviceUpdate: { __t: 'c', service: { workflow: { action: 3, id: 'g1' }, updateManifest: bigManifest(3000) } },
        $version: 12,
      },
      reported: { deviceUpdate: { agent: { state: 0 } }, $version: 30 },
    });
    const { packets } = await through([publish(GET_TOPIC, body)]);
    const doc = JSON.parse((packets[0] as IPublishPacket).payload.toString());
    const size = Buffer.byteLength(body);
    assert.deepEqual(doc, {
      desired: { deviceUpdate: { service: { workflow: { action: 3, id: 'g1' }, [OVERSIZE_KEY]: size } }, $version: 12 },
      reported: {},
    });
  });

  it('an oversize answer other than a GET answer becomes an error answer (the SDK request fails)', async () => {
    const { packets } = await through([publish('$iothub/twin/res/204/?$rid=9&$version=3', 'y'.repeat(2000))]);
    assert.equal(JSON.parse((packets[0] as IPublishPacket).payload.toString()).errorCode, 413);
  });

  it('an oversize PATCH without deviceUpdate.service keeps only $version (taken from the topic if need be)', async () => {
    const { packets, dropped } = await through([publish(PATCH_TOPIC, `{"other":"${'z'.repeat(3000)}"}`)]);
    assert.deepEqual(JSON.parse((packets[0] as IPublishPacket).payload.toString()), { $version: 7 });
    assert.equal(dropped[0]!.facts.hasService, false);
  });

  it('payloads at the limit pass; one byte over is replaced', async () => {
    const at = publish(PATCH_TOPIC, 'a'.repeat(LIMIT));
    assert.deepEqual((await through([at])).out, at);
    const over = await through([publish(PATCH_TOPIC, 'a'.repeat(LIMIT + 1))]);
    assert.equal(over.dropped.length, 1);
    assert.equal(over.dropped[0]!.bytes, LIMIT + 1);
  });

  it('malformed framing (a fifth Remaining Length byte) is passed on for MQTT.js to refuse', async () => {
    const bad = Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00]);
    const guard = new TwinSizeGuard({ limitBytes: LIMIT });
    const parts: Buffer[] = [];
    guard.on('data', (b: Buffer) => parts.push(b));
    guard.end(bad);
    await new Promise((r) => guard.on('end', r));
    assert.deepEqual(Buffer.concat(parts), bad);
  });
});

describe('TwinDocScanner', () => {
  const scan = (text: string, prefix: string[] = [], chunk = 0) => {
    const s = new TwinDocScanner(prefix);
    const buf = Buffer.from(text);
    if (chunk === 0) s.write(buf);
    else for (let i = 0; i < buf.length; i += chunk) s.write(buf.subarray(i, i + chunk));
    return s.result();
  };

  it('finds the workflow and $version whatever the chunking, escapes, nesting and key order', () => {
    const doc = JSON.stringify({
      $version: 41,
      a: [{ deviceUpdate: { service: { workflow: { id: 'decoy' } } } }],
      deep: JSON.parse('['.repeat(50) + '{"workflow":{"id":"x"}}' + ']'.repeat(50)),
      deviceUpdate: {
        __t: 'c',
        service: {
          updateManifest: 'a "quoted" \\ string with } and ] and {"workflow":{}}',
          workflow: { action: 3, id: 'é-"1"', nested: { k: [1, 2, { z: null }] } },
        },
      },
    }).replace('"deviceUpdate":{"__t"', '"device\\u0055pdate":{"__t"');
    for (const chunk of [0, 1, 2, 3, 7, 64]) {
      const f = scan(doc, [], chunk);
      assert.equal(f.version, 41, `chunk ${chunk}`);
      assert.equal(f.hasService, true);
      assert.deepEqual(f.workflow, { action: 3, id: 'é-"1"', nested: { k: [1, 2, { z: null }] } });
    }
  });

  it('drops a workflow over 4 KiB, and survives garbage', () => {
    const f = scan(JSON.stringify({ deviceUpdate: { service: { workflow: { id: 'w'.repeat(5000) } } }, $version: 2 }));
    assert.equal(f.workflow, undefined);
    assert.equal(f.version, 2);
    assert.equal(f.hasService, true);
    for (const junk of [
      '}}}]]]',
      '"unterminated',
      '{"a":',
      '{{{{{{{{{{',
      '\u0000\u00ff',
      '{"$version":1e999}',
      '[1,2',
    ]) {
      const r = scan(junk);
      assert.equal(r.workflow, undefined);
    }
    assert.equal(scan('{"$version":1e999}').version, undefined);
  });
});
