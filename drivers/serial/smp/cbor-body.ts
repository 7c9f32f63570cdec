import { decode, encode } from 'cborg';
import { BusError } from '../../shared/errors.js';

/** A CBOR map as SMP groups < 64 carry it (smp_protocol.rst "Management Group ID's"). */
export type SmpBody = Record<string, unknown>;

/**
 * Encodes an SMP body with `cborg` (definite lengths, canonical key order; MCUmgr servers accept
 * any key order). Keys whose value is `undefined` are left out, so optional fields stay absent.
 */
export function encodeBody(body: SmpBody): Uint8Array {
  // fromEntries defines own properties: `clean[k] = v` would drop a "__proto__" key (it sets the
  // prototype instead), silently changing the body (found by the property tests).
  const clean: SmpBody = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
  return encode(clean);
}

/**
 * Decodes an SMP body. Accepts the indefinite-length maps legacy mcumgr emits (`bf … ff`,
 * reference/bus-protocols.md §2.2); an empty body decodes as `{}`. Throws BusError
 * `SMP_BAD_CBOR` when the bytes are not one CBOR map.
 */
export function decodeBody(data: Uint8Array): SmpBody {
  if (data.length === 0) return {};
  let value: unknown;
  try {
    value = decode(data, { useMaps: false });
  } catch (e) {
    throw new BusError(
      'SMP_BAD_CBOR',
      `SMP body is not valid CBOR: ${e instanceof Error ? e.message : String(e)}`,
      { length: data.length },
      e,
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    throw new BusError('SMP_BAD_CBOR', 'SMP body is not a CBOR map', { length: data.length });
  }
  return value as SmpBody;
}
