import { BusError } from '../../shared/errors.js';
import type { SmpBody } from './cbor-body.js';
import { SmpGroup } from './smp-header.js';

/**
 * MGMT_ERR codes (Zephyr `include/zephyr/mgmt/mcumgr/mgmt/mgmt_defines.h` enum mcumgr_err_t;
 * 12/13 from the mcumgr-toolkit enum; reference/bus-protocols.md §2.2). ≥ 256 are user codes.
 */
export const MGMT_ERR_NAMES: readonly string[] = [
  'MGMT_ERR_EOK',
  'MGMT_ERR_EUNKNOWN',
  'MGMT_ERR_ENOMEM',
  'MGMT_ERR_EINVAL',
  'MGMT_ERR_ETIMEOUT',
  'MGMT_ERR_ENOENT',
  'MGMT_ERR_EBADSTATE',
  'MGMT_ERR_EMSGSIZE',
  'MGMT_ERR_ENOTSUP',
  'MGMT_ERR_ECORRUPT',
  'MGMT_ERR_EBUSY',
  'MGMT_ERR_EACCESSDENIED',
  'MGMT_ERR_UNSUPPORTED_TOO_OLD',
  'MGMT_ERR_UNSUPPORTED_TOO_NEW',
];

/** Well-known MGMT_ERR values used by callers. */
export const MgmtErr = {
  EOK: 0,
  EUNKNOWN: 1,
  ENOMEM: 2,
  EINVAL: 3,
  ETIMEOUT: 4,
  ENOENT: 5,
  EBADSTATE: 6,
  EMSGSIZE: 7,
  ENOTSUP: 8,
  ECORRUPT: 9,
  EBUSY: 10,
} as const;

/** SMP v2 group errors of the image group (Zephyr `img_mgmt.h` enum img_mgmt_err_code_t). */
export const IMG_MGMT_ERR_NAMES: readonly string[] = [
  'IMG_MGMT_ERR_OK',
  'IMG_MGMT_ERR_UNKNOWN',
  'IMG_MGMT_ERR_FLASH_CONFIG_QUERY_FAIL',
  'IMG_MGMT_ERR_NO_IMAGE',
  'IMG_MGMT_ERR_NO_TLVS',
  'IMG_MGMT_ERR_INVALID_TLV',
  'IMG_MGMT_ERR_TLV_MULTIPLE_HASHES_FOUND',
  'IMG_MGMT_ERR_TLV_INVALID_SIZE',
  'IMG_MGMT_ERR_HASH_NOT_FOUND',
  'IMG_MGMT_ERR_NO_FREE_SLOT',
  'IMG_MGMT_ERR_FLASH_OPEN_FAILED',
  'IMG_MGMT_ERR_FLASH_READ_FAILED',
  'IMG_MGMT_ERR_FLASH_WRITE_FAILED',
  'IMG_MGMT_ERR_FLASH_ERASE_FAILED',
  'IMG_MGMT_ERR_INVALID_SLOT',
  'IMG_MGMT_ERR_NO_FREE_MEMORY',
  'IMG_MGMT_ERR_FLASH_CONTEXT_ALREADY_SET',
  'IMG_MGMT_ERR_FLASH_CONTEXT_NOT_SET',
  'IMG_MGMT_ERR_FLASH_AREA_DEVICE_NULL',
  'IMG_MGMT_ERR_INVALID_PAGE_OFFSET',
  'IMG_MGMT_ERR_INVALID_OFFSET',
  'IMG_MGMT_ERR_INVALID_LENGTH',
  'IMG_MGMT_ERR_INVALID_IMAGE_HEADER',
  'IMG_MGMT_ERR_INVALID_IMAGE_HEADER_MAGIC',
  'IMG_MGMT_ERR_INVALID_HASH',
  'IMG_MGMT_ERR_INVALID_FLASH_ADDRESS',
  'IMG_MGMT_ERR_VERSION_GET_FAILED',
  'IMG_MGMT_ERR_CURRENT_VERSION_IS_NEWER',
  'IMG_MGMT_ERR_IMAGE_ALREADY_PENDING',
  'IMG_MGMT_ERR_INVALID_IMAGE_VECTOR_TABLE',
  'IMG_MGMT_ERR_INVALID_IMAGE_TOO_LARGE',
  'IMG_MGMT_ERR_INVALID_IMAGE_DATA_OVERRUN',
  'IMG_MGMT_ERR_IMAGE_CONFIRMATION_DENIED',
  'IMG_MGMT_ERR_IMAGE_SETTING_TEST_TO_ACTIVE_DENIED',
];

/** Readable name of an SMP v1 `rc` (MGMT_ERR_*). */
export function mgmtErrName(rc: number): string {
  if (rc >= 256) return `MGMT_ERR_PERUSER(${rc})`;
  return MGMT_ERR_NAMES[rc] ?? `MGMT_ERR_${rc}`;
}

/** Readable name of an SMP v2 group error (`err.group`, `err.rc`). */
export function groupErrName(group: number, rc: number): string {
  if (group === SmpGroup.Image) return IMG_MGMT_ERR_NAMES[rc] ?? `IMG_MGMT_ERR_${rc}`;
  return `GROUP_${group}_ERR_${rc}`;
}

/**
 * Details of BusError `SMP_RC`: `rc` and its `name`; for SMP v2 group errors also `group`;
 * `rsn` when the server sent a reason string.
 */
export interface SmpRcDetails {
  rc: number;
  name: string;
  group?: number;
  rsn?: string;
  /** The request the error answers. */
  request: { group: number; id: number };
}

/**
 * Throws BusError `SMP_RC` when a response body carries an error: v1 `{rc != 0, rsn?}` or
 * v2 `{err: {group, rc != 0}}` (smp_protocol.rst "Minimal response"; v2 clients must handle
 * both). A body without either is a success.
 */
export function throwIfSmpError(body: SmpBody, request: { group: number; id: number }): void {
  const err = body.err;
  if (err !== null && typeof err === 'object' && !(err instanceof Uint8Array)) {
    const e = err as Record<string, unknown>;
    const rc = Number(e.rc ?? 0);
    const group = Number(e.group ?? request.group);
    if (rc !== 0) {
      const name = groupErrName(group, rc);
      const details: SmpRcDetails = { rc, name, group, request };
      throw new BusError(
        'SMP_RC',
        `SMP error ${name} (group ${group}, rc ${rc}) for group ${request.group} command ${request.id}`,
        { ...details },
      );
    }
  }
  if (body.rc !== undefined) {
    const rc = Number(body.rc);
    if (rc !== 0) {
      const name = mgmtErrName(rc);
      const details: SmpRcDetails = { rc, name, request };
      if (typeof body.rsn === 'string') details.rsn = body.rsn;
      throw new BusError(
        'SMP_RC',
        `SMP error ${name} (rc ${rc}) for group ${request.group} command ${request.id}${details.rsn ? `: ${details.rsn}` : ''}`,
        { ...details },
      );
    }
  }
}
