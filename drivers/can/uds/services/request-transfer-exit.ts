import { requireLength, type UdsService } from './service.js';

/** RequestTransferExit 0x37 (ISO 14229-1 §14.5): `37 [params]` → `77 [params]`; devices often verify here (0x72/0x24). */
export const RequestTransferExit = {
  sid: 0x37,
  name: 'RequestTransferExit',
  hasSubFunction: false,
  echoLength: 0,
  allowedNrcs: [0x13, 0x24, 0x31, 0x72],
} as const satisfies UdsService;

export function encodeRequestTransferExit(params: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(1 + params.length);
  out[0] = RequestTransferExit.sid;
  out.set(params, 1);
  return out;
}

export function decodeRequestTransferExit(resp: Uint8Array): Uint8Array {
  requireLength(RequestTransferExit, resp, 1);
  return resp.slice(1);
}
