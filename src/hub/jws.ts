/**
 * Compact JWS (RFC 7515 §7.1) as the Device Update service uses it: `b64url(header).b64url(payload).b64url(sig)`,
 * RS256 only (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 §3.3). RSA keys arrive as JWK-like
 * `{n, e}`: root keys in base64url, the sjwk signing key in standard base64
 * (`reference/adu-agent.md` §5.4 steps 3-4), so both alphabets are accepted.
 */
import { createPublicKey, createVerify, type KeyObject } from 'node:crypto';
import { HubError, JwsResult, jwsErc } from './hub-error.js';

/** An RSA root key: key id, modulus and exponent (base64url or base64, big-endian). */
export interface RootKey {
  kid: string;
  n: string;
  e: string;
}

/** The three parts of a compact JWS, decoded where that makes sense. */
export interface CompactJws {
  header: Record<string, unknown>;
  payload: Uint8Array;
  signature: Uint8Array;
  /** `part0.part1`: the bytes the signature covers. */
  signingInput: string;
}

/** Decodes base64url or standard base64 (padding optional) into bytes. */
export function decodeBase64Any(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
}

/** Standard or url-safe base64 → unpadded base64url (the JWK form node's `createPublicKey` takes). */
export function toBase64Url(text: string): string {
  return text.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fail(result: number, message: string, cause?: unknown): HubError {
  return new HubError('HUB_SIGNATURE_INVALID', message, {
    erc: jwsErc(result),
    details: { jwsResult: result },
    ...(cause !== undefined && { cause }),
  });
}

/**
 * Splits and decodes a compact JWS.
 * @throws HubError `HUB_SIGNATURE_INVALID` (JWSResult 2 BadStructure, 8 InvalidEncodingJWSHeader).
 */
export function parseCompactJws(jws: string, what: string): CompactJws {
  const parts = jws.split('.');
  if (parts.length !== 3 || parts.some((p) => p.length === 0 || !/^[A-Za-z0-9_\-+/=]+$/.test(p))) {
    throw fail(JwsResult.BadStructure, `${what} is not a compact JWS (three base64url parts)`);
  }
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(decodeBase64Any(parts[0]!)).toString('utf8'));
  } catch (e) {
    throw fail(JwsResult.InvalidEncodingJwsHeader, `${what}: header is not base64url JSON`, e);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw fail(JwsResult.InvalidEncodingJwsHeader, `${what}: header is not a JSON object`);
  return {
    header: header as Record<string, unknown>,
    payload: decodeBase64Any(parts[1]!),
    signature: decodeBase64Any(parts[2]!),
    signingInput: `${parts[0]}.${parts[1]}`,
  };
}

/**
 * Builds an RSA public key from `n`/`e` in either base64 alphabet.
 * @throws HubError `HUB_SIGNATURE_INVALID` (JWSResult 12 FailGenPubKey).
 */
export function rsaPublicKey(n: string, e: string, what: string): KeyObject {
  try {
    const key = createPublicKey({ key: { kty: 'RSA', n: toBase64Url(n), e: toBase64Url(e) }, format: 'jwk' });
    if (key.asymmetricKeyType !== 'rsa') throw new Error(`not an RSA key (${key.asymmetricKeyType})`);
    return key;
  } catch (err) {
    if (err instanceof HubError) throw err;
    throw fail(
      JwsResult.FailGenPubKey,
      `${what}: cannot build an RSA public key from n/e: ${(err as Error).message}`,
      err,
    );
  }
}

/**
 * Checks `jws` is RS256 and its signature verifies with `key`.
 * @throws HubError `HUB_SIGNATURE_INVALID` (JWSResult 8 when `alg` is not RS256, 4 InvalidSignature).
 */
export function verifyRs256(jws: CompactJws, key: KeyObject, what: string): void {
  if (jws.header.alg !== 'RS256')
    throw fail(
      JwsResult.InvalidEncodingJwsHeader,
      `${what}: alg is ${JSON.stringify(jws.header.alg)}, only RS256 is accepted`,
    );
  const ok = createVerify('RSA-SHA256').update(jws.signingInput).verify(key, jws.signature);
  if (!ok) throw fail(JwsResult.InvalidSignature, `${what}: RS256 signature does not verify`);
}

/** Parses a JWS payload as a JSON object, or throws with `result`. */
export function payloadJson(jws: CompactJws, what: string, result: number): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(Buffer.from(jws.payload).toString('utf8'));
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch (e) {
    throw fail(result, `${what}: payload is not JSON`, e);
  }
  throw fail(result, `${what}: payload is not a JSON object`);
}

export { fail as jwsFailure };
