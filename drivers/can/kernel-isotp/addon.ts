import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The kernel ISO-TP addon (`native/isotp`, our own N-API code; built by `make native`, never by an
 * npm install script). Loaded lazily, so a gateway without it still runs the user-space ISO-TP.
 */

/** A system error thrown or reported by the addon (like Node's: errno name, number, syscall). */
export interface AddonSystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

/** Options of one CAN_ISOTP socket as the addon takes them (struct fields of linux/can/isotp.h). */
export interface AddonSocketOptions {
  iface: string;
  txId: number;
  rxId: number;
  /** 29-bit ids: CAN_EFF_FLAG is set on tx_id and rx_id. */
  extended: boolean;
  /** can_isotp_options.flags (CAN_ISOTP_* of {@link AddonConstants}). */
  flags: number;
  /** can_isotp_options.frame_txtime in ns; CAN_ISOTP_FRAME_TXTIME_ZERO for none. */
  frameTxTimeNs: number;
  extAddress: number;
  rxExtAddress: number;
  txPadContent: number;
  rxPadContent: number;
  /** can_isotp_fc_options: BS, STmin byte and WFTmax we announce. */
  fcBs: number;
  fcStmin: number;
  fcWftmax: number;
  /** CAN_ISOTP_TX_STMIN in ns (with CAN_ISOTP_FORCE_TXSTMIN); omitted = the receiver's STmin. */
  txStminNs?: number;
  /** can_isotp_ll_options (CAN FD); omitted = classic CAN. */
  llMtu?: number;
  llTxDl?: number;
  llTxFlags?: number;
  /** Receive buffer: the largest PDU accepted (larger ones are reported as EMSGSIZE). */
  rxBufferSize: number;
}

export interface AddonSocket {
  /** Sends one PDU; `cb` runs once it is on the bus (or failed). One send at a time. */
  send(data: Buffer, cb: (err: AddonSystemError | null) => void): void;
  /**
   * Writes one PDU now without waiting for its transmission; its tx errors (ECOMM, EMSGSIZE) then come
   * through onError. false when it cannot be written without blocking (a send in flight, WAIT_TX_DONE,
   * the previous PDU still going out): use `send`. Throws a system error otherwise.
   */
  trySend(data: Uint8Array): boolean;
  /** True while a PDU is still being transmitted (Linux ≥ 6.1.y; always false on earlier kernels). */
  txBusy(): boolean;
  close(): void;
}

export interface AddonConstants {
  CAN_ISOTP_LISTEN_MODE: number;
  CAN_ISOTP_EXTEND_ADDR: number;
  CAN_ISOTP_TX_PADDING: number;
  CAN_ISOTP_RX_PADDING: number;
  CAN_ISOTP_CHK_PAD_LEN: number;
  CAN_ISOTP_CHK_PAD_DATA: number;
  CAN_ISOTP_HALF_DUPLEX: number;
  CAN_ISOTP_FORCE_TXSTMIN: number;
  CAN_ISOTP_FORCE_RXSTMIN: number;
  CAN_ISOTP_RX_EXT_ADDR: number;
  CAN_ISOTP_WAIT_TX_DONE: number;
  CAN_ISOTP_SF_BROADCAST: number;
  CAN_ISOTP_FRAME_TXTIME_ZERO: number;
  CAN_MTU: number;
  CANFD_MTU: number;
  CANFD_BRS: number;
}

export interface IsoTpAddon {
  IsoTpSocket: new (
    options: AddonSocketOptions,
    onMessage: (data: Buffer) => void,
    onError: (err: AddonSystemError) => void,
  ) => AddonSocket;
  /** null when CAN_ISOTP sockets open on this kernel (loading can-isotp on demand), else why not. */
  probe(): AddonSystemError | null;
  constants: AddonConstants;
}

/** Where `make native` puts the addon, relative to the repository (or package) root. */
export const ADDON_RELATIVE_PATH = join('native', 'isotp', 'build', 'Release', 'sp_isotp.node');
/** Environment variable naming the addon file explicitly (e.g. a package's arch-specific build). */
export const ADDON_PATH_ENV = 'SENSOR_PROXY_ISOTP_ADDON';

let cached: { addon: IsoTpAddon } | { error: string } | undefined;

/** Candidate addon files: $SENSOR_PROXY_ISOTP_ADDON, then native/isotp/build/Release above this module (source or dist). */
export function addonCandidates(): string[] {
  const out: string[] = [];
  const env = process.env[ADDON_PATH_ENV];
  if (env) out.push(env);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    out.push(join(dir, ADDON_RELATIVE_PATH));
    dir = dirname(dir);
  }
  return out;
}

/** The addon, or why it cannot be loaded (not built: run `make native`; wrong architecture; …). */
export function loadIsoTpAddon(): { addon: IsoTpAddon } | { error: string } {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const candidates = addonCandidates();
  const file = candidates.find((p) => existsSync(p));
  if (!file) {
    cached = { error: `the kernel ISO-TP addon is not built (no ${ADDON_RELATIVE_PATH}; run \`make native\`)` };
    return cached;
  }
  try {
    cached = { addon: require(file) as IsoTpAddon };
  } catch (e) {
    cached = { error: `the kernel ISO-TP addon ${file} does not load: ${(e as Error).message}` };
  }
  return cached;
}
