/**
 * Bounds the size of the twin messages IoT Hub sends, before the SDK buffers and parses them
 * (issue 13 item 4). MQTT.js collects a whole PUBLISH in memory and the SDK then `JSON.parse`s it,
 * merges it into its twin and walks it: a 50 MB desired PATCH cost hundreds of MB of heap before
 * the agent could look at its size. This guard sits between the TLS socket and MQTT.js's packet
 * parser and reads only the MQTT framing (MQTT 3.1.1, OASIS standard,
 * https://docs.oasis-open.org/mqtt/mqtt/v3.1.1/os/mqtt-v3.1.1-os.html):
 * - §2.2: fixed header, byte 1 = packet type (bits 7-4; PUBLISH is 3) and flags (PUBLISH: DUP bit 3,
 *   QoS bits 2-1, RETAIN bit 0), then the Remaining Length;
 * - §2.2.3: Remaining Length, 1 to 4 bytes of 7 bits each, least significant first, bit 7 set on
 *   every byte but the last (at most 268 435 455);
 * - §3.3.2: PUBLISH variable header, the topic as a UTF-8 string (2-byte big-endian length + bytes,
 *   §1.5.3), then a 2-byte packet identifier only when QoS is 1 or 2.
 *
 * Every packet passes unchanged, as it arrives and without being buffered, except a PUBLISH on a
 * twin topic (`$iothub/twin/PATCH/properties/desired/…`, `$iothub/twin/res/…`, the prefixes the
 * SDK routes on; `reference/iothub-emulator.md`, topics table) whose payload is over the limit.
 * Its payload is streamed through a small JSON scanner and dropped; what the scanner found (the
 * desired `$version` and a small `deviceUpdate.service.workflow`) goes into a substitute PUBLISH of
 * a few hundred bytes on the same topic, with the same flags and packet identifier (so a QoS 1
 * PUBACK still answers it), sent on in its place. The substitute marks the service request with
 * {@link OVERSIZE_KEY} (the number of bytes dropped), so the deployment ends in a terminal `MANIFEST_TOO_LARGE` report exactly as
 * for a document `boundedDesired` cut down. Memory: at most one topic (64 KiB) and 4 KiB of
 * workflow per message, whatever its size.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { COMPONENT, OVERSIZE_KEY } from './service-request.js';

/** Topic prefixes the SDK routes twin traffic on (`mqtt_twin_client.js`, `_onMqttMessage`). */
export const TWIN_DESIRED_PREFIX = '$iothub/twin/PATCH/properties/desired';
export const TWIN_RESPONSE_PREFIX = '$iothub/twin/res';

/** PUBLISH packet type (MQTT 3.1.1 §2.2.1, table 2.1). */
const PUBLISH = 3;
/** Largest `workflow` value kept from an oversize message (it is `{action, id, retryTimestamp}`). */
export const MAX_WORKFLOW_BYTES = 4096;

/** What the scanner found in a dropped twin document. */
export interface TwinDocFacts {
  /** `$version` of the desired document (root of a PATCH, `desired` of a GET answer). */
  version: number | undefined;
  /** `deviceUpdate.service` is present. */
  hasService: boolean;
  /** `deviceUpdate.service.workflow` when it is a JSON object of at most {@link MAX_WORKFLOW_BYTES}. */
  workflow: Record<string, unknown> | undefined;
}

export interface OversizeTwinMessage {
  topic: string;
  /** Payload bytes dropped. */
  bytes: number;
  facts: TwinDocFacts;
}

/** Nesting levels whose keys are tracked; deeper ones are only counted (the paths of interest are 4 deep). */
const TRACK_DEPTH = 8;
const MAX_KEY_BYTES = 64;
const MAX_VERSION_BYTES = 32;

interface Frame {
  obj: boolean;
  key: string | undefined;
  /** In an object: the next string is a key. */
  expectKey: boolean;
}

interface Capture {
  what: 'version' | 'workflow';
  level: number;
  limit: number;
  parts: number[];
  tooBig: boolean;
}

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDelimiter = (c: number) => isSpace(c) || c === 0x2c || c === 0x5d || c === 0x7d || c === 0x3a;

/**
 * A streaming JSON scanner that keeps only `<prefix>.$version` and
 * `<prefix>.deviceUpdate.service.workflow` (small values) of a document of any size, in constant
 * memory. It never throws: garbage simply yields nothing.
 */
export class TwinDocScanner {
  private readonly frames: Frame[] = [];
  /** Levels below {@link TRACK_DEPTH} (not tracked). */
  private deep = 0;
  private inString = false;
  private escape = false;
  private stringIsKey = false;
  private keyBytes: number[] | undefined;
  private inPrimitive = false;
  private capture: Capture | undefined;
  private readonly facts: TwinDocFacts = { version: undefined, hasService: false, workflow: undefined };

  /** @param prefix keys above the desired document: `[]` for a PATCH, `['desired']` for a GET answer. */
  constructor(private readonly prefix: readonly string[]) {}

  write(buf: Uint8Array): void {
    for (let i = 0; i < buf.length; i++) {
      const c = buf[i]!;
      if (this.inString) {
        // The fast path: most of a hostile document is one long string nobody keeps.
        if (!this.capture && !this.stringIsKey && !this.escape) {
          let j = i;
          while (j < buf.length && buf[j] !== 0x22 && buf[j] !== 0x5c) j++;
          if (j === buf.length) return;
          i = j;
        }
        this.stringByte(buf[i]!);
        continue;
      }
      if (this.inPrimitive) {
        if (!isDelimiter(c) && c !== 0x22 && c !== 0x7b && c !== 0x5b) {
          this.keep(c);
          continue;
        }
        this.inPrimitive = false;
        this.valueEnded();
      }
      this.keep(c);
      this.structural(c);
    }
  }

  result(): TwinDocFacts {
    if (this.inPrimitive) {
      this.inPrimitive = false;
      this.valueEnded();
    }
    return { ...this.facts };
  }

  private get level(): number {
    return this.frames.length + this.deep;
  }

  private keep(c: number): void {
    const cap = this.capture;
    if (!cap || cap.tooBig) return;
    if (cap.parts.length >= cap.limit) {
      cap.tooBig = true;
      cap.parts = [];
    } else cap.parts.push(c);
  }

  private stringByte(c: number): void {
    this.keep(c);
    if (this.escape) {
      this.escape = false;
      this.keyByte(c);
    } else if (c === 0x5c) {
      this.escape = true;
      this.keyByte(c);
    } else if (c === 0x22) {
      this.inString = false;
      if (this.stringIsKey) this.keyEnded();
      else this.valueEnded();
    } else this.keyByte(c);
  }

  private keyByte(c: number): void {
    if (!this.stringIsKey || this.keyBytes === undefined) return;
    if (this.keyBytes.length >= MAX_KEY_BYTES) this.keyBytes = undefined;
    else this.keyBytes.push(c);
  }

  private keyEnded(): void {
    this.stringIsKey = false;
    const top = this.deep === 0 ? this.frames[this.frames.length - 1] : undefined;
    if (!top) return;
    top.expectKey = false;
    top.key = undefined;
    if (this.keyBytes === undefined) return;
    const raw = Buffer.from(this.keyBytes);
    this.keyBytes = undefined;
    try {
      top.key = raw.includes(0x5c) ? (JSON.parse(`"${raw.toString('utf8')}"`) as string) : raw.toString('utf8');
    } catch {
      top.key = undefined;
    }
  }

  private structural(c: number): void {
    if (isSpace(c) || c === 0x3a /* : */) return;
    const top = this.deep === 0 ? this.frames[this.frames.length - 1] : undefined;
    if (c === 0x2c /* , */) {
      if (top?.obj) top.expectKey = true;
      return;
    }
    if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      if (this.deep > 0) this.deep--;
      else if (this.frames.length > 0) this.frames.pop();
      this.valueEnded();
      return;
    }
    if (c === 0x22 /* " */ && top?.obj && top.expectKey) {
      this.inString = true;
      this.stringIsKey = true;
      this.keyBytes = [];
      return;
    }
    // A value starts here.
    this.valueStarts(c);
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (this.deep > 0 || this.frames.length >= TRACK_DEPTH) this.deep++;
      else this.frames.push({ obj: c === 0x7b, key: undefined, expectKey: c === 0x7b });
    } else if (c === 0x22) {
      this.inString = true;
      this.stringIsKey = false;
    } else this.inPrimitive = true;
  }

  /** The path of a value starting now, when every level is a tracked object key. */
  private path(): string[] | undefined {
    if (this.deep > 0) return undefined;
    const keys: string[] = [];
    for (const f of this.frames) {
      if (!f.obj || f.key === undefined) return undefined;
      keys.push(f.key);
    }
    return keys;
  }

  private valueStarts(first: number): void {
    if (this.capture) return;
    const p = this.path();
    if (!p || p.length < this.prefix.length || this.prefix.some((k, i) => p[i] !== k)) return;
    const rest = p.slice(this.prefix.length).join('\u0000');
    const start = (what: Capture['what'], limit: number) => {
      this.capture = { what, level: this.level, limit, parts: [first], tooBig: false };
    };
    if (rest === '$version') start('version', MAX_VERSION_BYTES);
    else if (rest === [COMPONENT, 'service'].join('\u0000')) this.facts.hasService = true;
    else if (rest === [COMPONENT, 'service', 'workflow'].join('\u0000')) start('workflow', MAX_WORKFLOW_BYTES);
  }

  private valueEnded(): void {
    const cap = this.capture;
    if (!cap || this.level !== cap.level) return;
    this.capture = undefined;
    if (cap.tooBig) {
      if (cap.what === 'workflow') this.facts.workflow = undefined;
      return;
    }
    const text = Buffer.from(cap.parts).toString('utf8');
    if (cap.what === 'version') {
      const v = /^\d{1,15}$/.test(text) ? Number(text) : undefined;
      this.facts.version = v;
      return;
    }
    try {
      const wf: unknown = JSON.parse(text);
      this.facts.workflow =
        typeof wf === 'object' && wf !== null && !Array.isArray(wf) ? (wf as Record<string, unknown>) : undefined;
    } catch {
      this.facts.workflow = undefined;
    }
  }
}

/**
 * The payload sent on in place of an oversize twin message: the desired document reduced to what
 * refusing the deployment needs (see {@link boundedDesired} for the same shape after parsing).
 * A GET answer (`res/200`) carries it under `desired`; any other answer becomes an error answer,
 * which fails the SDK request instead of passing for an empty success.
 */
export function substitutePayload(topic: string, facts: TwinDocFacts, droppedBytes: number): Buffer {
  const desired: Record<string, unknown> = {};
  if (facts.hasService)
    desired[COMPONENT] = { service: { workflow: facts.workflow ?? null, [OVERSIZE_KEY]: droppedBytes } };
  const version = facts.version ?? topicVersion(topic);
  if (version !== undefined) desired.$version = version;
  if (topic.startsWith(TWIN_DESIRED_PREFIX)) return Buffer.from(JSON.stringify(desired));
  if (topic.startsWith(`${TWIN_RESPONSE_PREFIX}/200/`)) return Buffer.from(JSON.stringify({ desired, reported: {} }));
  return Buffer.from(JSON.stringify({ errorCode: 413, message: 'twin message over the size limit (dropped)' }));
}

function topicVersion(topic: string): number | undefined {
  const m = /[?&]\$version=(\d{1,15})(?:&|$)/.exec(topic);
  return m ? Number(m[1]) : undefined;
}

/** MQTT 3.1.1 §2.2.3 encoding of a Remaining Length. */
export function encodeRemainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

export interface TwinSizeGuardOptions {
  /** Largest twin payload passed on, bytes. */
  limitBytes: number;
  /** Told about every message dropped (after its substitute was passed on). */
  onOversize?: (m: OversizeTwinMessage) => void;
}

type State = 'header' | 'pass' | 'publishHead' | 'drop' | 'raw';

/**
 * The incoming byte stream of one MQTT connection, with oversize twin PUBLISH packets replaced
 * (see the file comment). Malformed framing (a fifth Remaining Length byte) makes it pass the rest
 * through untouched: MQTT.js's parser then reports the error as it did before.
 */
export class TwinSizeGuard extends Transform {
  private state: State = 'header';
  /** Fixed header being read: type/flags byte + up to 4 length bytes. */
  private head: number[] = [];
  /** Bytes of the current packet still to come (after the fixed header). */
  private remaining = 0;
  /** A candidate PUBLISH's variable header, buffered until its topic is known. */
  private varHead: number[] = [];
  private varHeadNeed = 0;
  private topic = '';
  private scanner: TwinDocScanner | undefined;
  private dropped = 0;

  constructor(private readonly o: TwinSizeGuardOptions) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let i = 0;
    while (i < chunk.length) {
      switch (this.state) {
        case 'header':
          i = this.readHeader(chunk, i);
          break;
        case 'pass': {
          const n = Math.min(this.remaining, chunk.length - i);
          this.push(chunk.subarray(i, i + n));
          i += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = 'header';
          break;
        }
        case 'publishHead':
          i = this.readPublishHead(chunk, i);
          break;
        case 'drop': {
          const n = Math.min(this.remaining, chunk.length - i);
          this.scanner!.write(chunk.subarray(i, i + n));
          i += n;
          this.remaining -= n;
          this.dropped += n;
          if (this.remaining === 0) this.finishDrop();
          break;
        }
        case 'raw':
          this.push(chunk.subarray(i));
          i = chunk.length;
          break;
      }
    }
    done();
  }

  private readHeader(chunk: Buffer, i: number): number {
    while (i < chunk.length) {
      const b = chunk[i++]!;
      this.head.push(b);
      if (this.head.length === 1) continue;
      if (b & 0x80) {
        if (this.head.length === 5) {
          // §2.2.3 allows 4 length bytes: malformed, let MQTT.js's parser say so.
          this.push(Buffer.from(this.head));
          this.head = [];
          this.state = 'raw';
          return i;
        }
        continue;
      }
      let len = 0;
      for (let k = this.head.length - 1; k >= 1; k--) len = len * 128 + (this.head[k]! & 0x7f);
      this.remaining = len;
      const type = this.head[0]! >> 4;
      if (type === PUBLISH && len > this.o.limitBytes) {
        this.state = 'publishHead';
        this.varHead = [];
        this.varHeadNeed = 2;
        return i;
      }
      this.push(Buffer.from(this.head));
      this.head = [];
      this.state = len > 0 ? 'pass' : 'header';
      return i;
    }
    return i;
  }

  private readPublishHead(chunk: Buffer, i: number): number {
    while (i < chunk.length && this.varHead.length < this.varHeadNeed) {
      this.varHead.push(chunk[i++]!);
      if (this.varHead.length === 2) {
        const qos = (this.head[0]! >> 1) & 0x03;
        this.varHeadNeed = 2 + ((this.varHead[0]! << 8) | this.varHead[1]!) + (qos > 0 ? 2 : 0);
      }
    }
    if (this.varHead.length < this.varHeadNeed) return i;
    const topicLen = (this.varHead[0]! << 8) | this.varHead[1]!;
    this.topic = Buffer.from(this.varHead.slice(2, 2 + topicLen)).toString('utf8');
    const payload = this.remaining - this.varHead.length;
    const twin = this.topic.startsWith(TWIN_DESIRED_PREFIX) || this.topic.startsWith(TWIN_RESPONSE_PREFIX);
    if (payload < 0 || payload <= this.o.limitBytes || !twin) {
      // Not ours (or malformed: MQTT.js's parser decides): pass on what was held, then the rest.
      this.push(Buffer.from(this.head));
      this.push(Buffer.from(this.varHead));
      this.head = [];
      this.remaining = Math.max(0, payload);
      this.state = payload < 0 ? 'raw' : this.remaining > 0 ? 'pass' : 'header';
      return i;
    }
    this.remaining = payload;
    this.dropped = 0;
    this.scanner = new TwinDocScanner(this.topic.startsWith(TWIN_RESPONSE_PREFIX) ? ['desired'] : []);
    this.state = 'drop';
    return i;
  }

  private finishDrop(): void {
    const facts = this.scanner!.result();
    this.scanner = undefined;
    const body = substitutePayload(this.topic, facts, this.dropped);
    const varHead = Buffer.from(this.varHead);
    this.push(
      Buffer.concat([Buffer.from([this.head[0]!]), encodeRemainingLength(varHead.length + body.length), varHead, body]),
    );
    const m: OversizeTwinMessage = { topic: this.topic, bytes: this.dropped, facts };
    this.head = [];
    this.varHead = [];
    this.state = 'header';
    this.o.onOversize?.(m);
  }
}
