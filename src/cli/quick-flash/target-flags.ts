import { SensorProxyError } from '../../model/errors.js';

/**
 * Quick flash's flags (`sensor-proxy flash <image> --protocol P <target>...`), parsed and checked
 * without touching any device. Names follow the tools field engineers know:
 *
 * | flag                         | from                                   | protocol     |
 * |------------------------------|----------------------------------------|--------------|
 * | `-p, --port PATH\|NAME`      | esptool `-p/--port`, mcumgr `dev=`      | smp, ymodem  |
 * | `-b, --baud N`               | esptool `-b/--baud`, mcumgr `baud=`     | smp, ymodem  |
 * | `--mtu N`                    | mcumgr `mtu=`                          | smp          |
 * | `--can IFACE[:TX:RX]`        | can-utils `isotpsend -s TX -d RX IFACE` | uds          |
 * | `--tx-id ID`, `--rx-id ID`   | isotpsend `-s` / `-d` (hex)             | uds          |
 * | `--address ADDR`             | dfu-util `-s ADDR` (download address)   | uds          |
 * | `-d, --device VID:PID`       | dfu-util `-d/--device`                  | dfu          |
 * | `-S, --serial SN`            | dfu-util `-S/--serial`                  | dfu          |
 * | `--path BUS-PORT`            | dfu-util `-p/--path`                    | dfu          |
 * | `-a, --alt N`                | dfu-util `-a/--alt`                     | dfu          |
 * | `-s, --dfuse-address ADDR`   | dfu-util `-s/--dfuse-address`           | dfu          |
 */
export const QUICK_PROTOCOLS = ['smp', 'ymodem', 'uds', 'dfu'] as const;
export type QuickProtocol = (typeof QUICK_PROTOCOLS)[number];

export type TargetSpec =
  /** A device path (contains `/`) or a configured serial sensor's name / id. */
  | { kind: 'serial'; port: string }
  | { kind: 'can'; iface: string; txId: number; rxId: number }
  | { kind: 'usb'; vid?: number; pid?: number; serialNumber?: string; portPath?: string };

export interface QuickFlashRequest {
  image: string;
  /** Undefined when only a configured serial sensor can tell (resolved later). */
  protocol: QuickProtocol | undefined;
  targets: TargetSpec[];
  /** From the protocol flags (baudRate, mtu, memoryAddress, alt, dfuseAddress) and --version. */
  handlerProperties: Record<string, unknown>;
  /** --version: the version the image carries (installedCriteria). */
  version: string | undefined;
  force: boolean;
}

type Values = Record<string, string | boolean | string[] | undefined>;

/** Flags that name a target or a protocol: any of them makes `flash` a quick flash. */
export const TARGET_FLAGS = ['protocol', 'port', 'can', 'device', 'serial', 'path'] as const;
/** Flags that only quick flash takes. */
export const QUICK_ONLY_FLAGS = [
  ...TARGET_FLAGS,
  'baud',
  'mtu',
  'tx-id',
  'rx-id',
  'address',
  'alt',
  'dfuse-address',
  'version',
  'force',
] as const;
/** Flags that only a manifest flash takes. */
export const MANIFEST_ONLY_FLAGS = ['files', 'component', 'reboot', 'inventory'] as const;

const usage = (message: string, hint?: string) => new SensorProxyError('CLI_USAGE', message, { ...(hint && { hint }) });
const list = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : typeof v === 'string' ? [v] : []);
const one = (v: unknown): string | undefined => (Array.isArray(v) ? (v.at(-1) as string | undefined) : (v as string));

/** True when the flags ask for a quick flash. */
export function isQuickFlash(values: Values): boolean {
  return TARGET_FLAGS.some((f) => values[f] !== undefined);
}

/** A CAN id as can-utils takes it: hex, `0x` optional (`7E0`, `0x7E0`, `18DA10F1`). */
export function parseCanId(s: string, flag: string): number {
  const t = s.trim().replace(/^0x/i, '');
  if (!/^[0-9a-f]{1,8}$/i.test(t) || parseInt(t, 16) > 0x1fffffff)
    throw usage(`${flag} "${s}" is not a CAN id`, 'CAN ids are hex, as in isotpsend: 7E0, 0x7E0, 18DA10F1 (29-bit)');
  return parseInt(t, 16);
}

/** An address or number: `0x…` hex or decimal. */
export function parseNumber(s: string, flag: string, max = 0xffffffff): number {
  const t = s.trim();
  const n = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^\d+$/.test(t) ? Number(t) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > max) throw usage(`${flag} "${s}" is not a number (0x… hex or decimal)`);
  return n;
}

/** `VID:PID` as dfu-util takes it: 4 hex digits each, `0x` optional. */
export function parseVidPid(s: string): { vid: number; pid: number } {
  const m = /^(?:0x)?([0-9a-f]{1,4}):(?:0x)?([0-9a-f]{1,4})$/i.exec(s.trim());
  if (!m) throw usage(`--device "${s}" is not VID:PID`, 'give the USB ids in hex as dfu-util does: --device 0483:df11');
  return { vid: parseInt(m[1]!, 16), pid: parseInt(m[2]!, 16) };
}

/** `IFACE`, or `IFACE:TX:RX` (`can0:7E0:7E8`); ids from --tx-id/--rx-id when not in the value. */
function canTarget(value: string, txFlag: string | undefined, rxFlag: string | undefined): TargetSpec {
  const parts = value.split(':');
  // `mem:<name>` is the in-process bus: its name contains a colon.
  const iface = parts[0] === 'mem' ? `${parts[0]}:${parts[1] ?? ''}` : parts[0]!;
  const ids = parts.slice(parts[0] === 'mem' ? 2 : 1);
  if (!iface || iface === 'mem:' || !/^[A-Za-z0-9_.:-]+$/.test(iface))
    throw usage(`--can "${value}" names no interface`, 'e.g. --can can0:7E0:7E8');
  if (ids.length !== 0 && ids.length !== 2)
    throw usage(`--can "${value}" is not IFACE or IFACE:TX:RX`, 'e.g. --can can0:7E0:7E8');
  const tx = ids[0] ?? txFlag;
  const rx = ids[1] ?? rxFlag;
  if (tx === undefined || rx === undefined)
    throw usage(
      `--can ${value}: the ECU's request and response ids are missing`,
      'give them as --can can0:7E0:7E8, or --tx-id 7E0 --rx-id 7E8',
    );
  return {
    kind: 'can',
    iface,
    txId: parseCanId(tx, ids[0] ? `--can ${value}` : '--tx-id'),
    rxId: parseCanId(rx, ids[1] ? `--can ${value}` : '--rx-id'),
  };
}

function usbTargets(values: Values): TargetSpec[] {
  const devices = list(values.device).map(parseVidPid);
  const serials = list(values.serial);
  const paths = list(values.path);
  if (serials.length > 0 && paths.length > 0)
    throw usage('give USB targets by --serial or by --path, not both', 'one flag per device: --serial A --serial B');
  if (devices.length > 1 && serials.length + paths.length > 0)
    throw usage('--serial/--path pick among the devices of ONE --device VID:PID; several --device take no --serial');
  const ids = devices[0] ?? {};
  if (serials.length > 0) return serials.map((serialNumber) => ({ kind: 'usb', ...ids, serialNumber }));
  if (paths.length > 0) return paths.map((portPath) => ({ kind: 'usb', ...ids, portPath }));
  return devices.map((d) => ({ kind: 'usb', ...d }));
}

const KIND_OF: Record<QuickProtocol, TargetSpec['kind']> = { smp: 'serial', ymodem: 'serial', uds: 'can', dfu: 'usb' };
const FLAGS_OF: Record<TargetSpec['kind'], string> = {
  serial: '--port',
  can: '--can',
  usb: '--device/--serial/--path',
};

/**
 * Parses the quick-flash flags.
 * @throws SensorProxyError CLI_USAGE (a malformed or misplaced flag), TARGET_INVALID (a protocol
 *   that does not fit the target: `--protocol uds --port /dev/ttyACM0`).
 */
export function parseQuickFlashFlags(image: string, values: Values): QuickFlashRequest {
  for (const f of MANIFEST_ONLY_FLAGS)
    if (values[f] !== undefined) throw usage(`--${f} is for a manifest flash; quick flash takes an image and a target`);
  const protoFlag = one(values.protocol);
  if (protoFlag !== undefined && !(QUICK_PROTOCOLS as readonly string[]).includes(protoFlag))
    throw usage(`--protocol "${protoFlag}" is not one of ${QUICK_PROTOCOLS.join(', ')}`);
  let protocol = protoFlag as QuickProtocol | undefined;

  const targets: TargetSpec[] = [
    ...list(values.port).map((port): TargetSpec => ({ kind: 'serial', port })),
    ...list(values.can).map((c) => canTarget(c, one(values['tx-id']), one(values['rx-id']))),
    ...usbTargets(values),
  ];
  if (targets.length === 0)
    throw usage(
      `--protocol ${protocol ?? ''} needs a target`.replace('  ', ' '),
      'serial: --port /dev/ttyACM0 (or a configured sensor name); CAN: --can can0:7E0:7E8; USB: --device 0483:df11',
    );
  const kinds = new Set(targets.map((t) => t.kind));
  if (kinds.size > 1)
    throw usage(
      `one quick flash writes one image over one protocol; got targets on ${[...kinds].join(' and ')}`,
      'run one command per protocol',
    );
  const kind = targets[0]!.kind;
  if (protocol && KIND_OF[protocol] !== kind) {
    const t = describeTarget(targets[0]!);
    throw new SensorProxyError(
      'TARGET_INVALID',
      `--protocol ${protocol} does not fit target ${t}: ${protocol} runs on ${KIND_OF[protocol]} (${FLAGS_OF[KIND_OF[protocol]]}), ${t} is a ${kind} target`,
      {
        details: { target: t, protocol },
        hint: `for a ${kind} target use --protocol ${(Object.keys(KIND_OF) as QuickProtocol[]).filter((p) => KIND_OF[p] === kind).join(' or ')}`,
      },
    );
  }
  if (!protocol && kind === 'can') protocol = 'uds';
  if (!protocol && kind === 'usb') protocol = 'dfu';
  if (kind === 'serial' && values['tx-id'] !== undefined) throw usage('--tx-id/--rx-id are for --can targets');

  const hp: Record<string, unknown> = {};
  const only = (flag: string, protocols: QuickProtocol[]) => {
    if (values[flag] === undefined) return undefined;
    if (protocol ? !protocols.includes(protocol) : KIND_OF[protocols[0]!] !== kind)
      throw usage(`--${flag} applies to ${protocols.join(' and ')}, not ${protocol ?? kind}`);
    return one(values[flag])!;
  };
  const baud = only('baud', ['smp', 'ymodem']);
  if (baud !== undefined) hp.baudRate = parseNumber(baud, '--baud', 10_000_000);
  const mtu = only('mtu', ['smp']);
  if (mtu !== undefined) hp.mtu = parseNumber(mtu, '--mtu', 0xffff);
  const address = only('address', ['uds']);
  if (address !== undefined) hp.memoryAddress = parseNumber(address, '--address');
  const alt = only('alt', ['dfu']);
  if (alt !== undefined) hp.alt = parseNumber(alt, '--alt', 255);
  const dfuse = only('dfuse-address', ['dfu']);
  if (dfuse !== undefined) hp.dfuseAddress = parseNumber(dfuse, '--dfuse-address');
  const version = one(values.version);
  if (version !== undefined && version.trim() === '') throw usage('--version is empty');
  if (version !== undefined) hp.installedCriteria = version.trim();
  return { image, protocol, targets, handlerProperties: hp, version: version?.trim(), force: !!values.force };
}

/** How errors and tables name a target: `/dev/ttyACM0`, `can0 7e0/7e8`, `usb 0483:df11 serial X`. */
export function describeTarget(t: TargetSpec): string {
  const hex = (n: number | undefined, w: number) => (n === undefined ? '*' : n.toString(16).padStart(w, '0'));
  switch (t.kind) {
    case 'serial':
      return t.port;
    case 'can':
      return `${t.iface} ${hex(t.txId, 3)}/${hex(t.rxId, 3)}`;
    case 'usb':
      return (
        `usb ${t.vid === undefined ? '' : `${hex(t.vid, 4)}:${hex(t.pid, 4)}`}` +
        (t.serialNumber ? ` serial ${t.serialNumber}` : '') +
        (t.portPath ? ` at ${t.portPath}` : '')
      ).replace('usb  ', 'usb ');
  }
}
