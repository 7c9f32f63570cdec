/**
 * Update manifest signature check, the chain the ADU agent walks (`reference/adu-agent.md` §5.4):
 *
 * ```text
 * trusted root key (kid) ──RS256──▶ sjwk (signing key JWK, n/e base64) ──RS256──▶ JWS payload {"sha256": b64(SHA-256(updateManifest))}
 * ```
 *
 * Nothing of a deployment runs before this passes.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { HubError, HubErc, JwsResult } from './hub-error.js';
import { jwsFailure, parseCompactJws, payloadJson, rsaPublicKey, verifyRs256, type RootKey } from './jws.js';

export interface SignatureTrust {
  /** Root keys the sjwk may be signed by (production roots by default; config `hub.rootKeys`). */
  rootKeys: readonly RootKey[];
  /** Root key ids withdrawn by a root key package (`disabledRootKeys`). */
  disabledRootKids?: readonly string[];
  /** Signing keys withdrawn by a root key package (`disabledSigningKeys`). */
  disabledSigningKeys?: readonly DisabledSigningKey[];
}

/** A `disabledSigningKeys` entry: base64url hash of the signing key's DER SubjectPublicKeyInfo. */
export interface DisabledSigningKey {
  alg: 'SHA256' | 'SHA384' | 'SHA512';
  hash: string;
}

/**
 * base64url hash of a public key's DER SubjectPublicKeyInfo, what `disabledSigningKeys[].hash`
 * names (ADU hashes the SPKI DER its OpenSSL 3 encoder produces; test vector in
 * `root_key_utils_signing_key_ut.cpp`).
 */
export function signingKeyHash(key: KeyObject, alg: DisabledSigningKey['alg']): string {
  return createHash(alg.replace('SHA', 'sha'))
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('base64url');
}

export interface VerifiedSignature {
  rootKid: string;
  signingKid: string | undefined;
  /** base64 SHA-256 of the manifest string, as signed. */
  manifestSha256: string;
}

/** base64 SHA-256 of the exact bytes of the manifest string (UTF-8), the value the JWS payload carries. */
export function manifestDigest(manifest: string): string {
  return createHash('sha256').update(manifest, 'utf8').digest('base64');
}

/**
 * Verifies `signature` (the twin's `updateManifestSignature`) over `manifest` (the twin's
 * `updateManifest` string, byte for byte).
 * @throws HubError `HUB_SIGNATURE_INVALID` with ERC `MAKE(10, 2, JWSResult)` or 0xa0000005 for a disabled signing key.
 */
export function verifyManifestSignature(manifest: string, signature: string, trust: SignatureTrust): VerifiedSignature {
  const outer = parseCompactJws(signature, 'updateManifestSignature');
  if (typeof outer.header.sjwk !== 'string')
    throw jwsFailure(JwsResult.InvalidEncodingJwsHeader, 'updateManifestSignature: header has no "sjwk"');
  const sjwk = parseCompactJws(outer.header.sjwk, 'sjwk');
  const kid = sjwk.header.kid;
  if (typeof kid !== 'string' || kid === '')
    throw jwsFailure(JwsResult.MissingRootKid, 'sjwk: header has no root key id ("kid")');
  if (trust.disabledRootKids?.includes(kid))
    throw jwsFailure(JwsResult.DisallowedRootKid, `sjwk: root key ${kid} is disabled`);
  const root = trust.rootKeys.find((k) => k.kid === kid);
  if (!root)
    throw jwsFailure(
      JwsResult.InvalidRootKid,
      `sjwk: root key ${kid} is not trusted (trusted: ${trust.rootKeys.map((k) => k.kid).join(', ')})`,
    );
  verifyRs256(sjwk, rsaPublicKey(root.n, root.e, `root key ${kid}`), 'sjwk');

  const jwk = payloadJson(sjwk, 'sjwk', JwsResult.InvalidSjwkPayload);
  if (jwk.kty !== 'RSA' || typeof jwk.n !== 'string' || typeof jwk.e !== 'string')
    throw jwsFailure(JwsResult.InvalidSjwkPayload, 'sjwk: payload is not an RSA JWK with n and e');
  // §5.4 step 5: the exponent must be 65537.
  if (jwk.e !== 'AQAB') throw jwsFailure(JwsResult.InvalidSjwkPayload, `sjwk: exponent ${jwk.e} is not AQAB`);
  const signingKey = rsaPublicKey(jwk.n, jwk.e, 'signing key');
  const disabled = trust.disabledSigningKeys?.find((d) => signingKeyHash(signingKey, d.alg) === d.hash);
  if (disabled) {
    const name = typeof jwk.kid === 'string' ? `${jwk.kid} (${disabled.hash})` : disabled.hash;
    throw new HubError(
      'HUB_SIGNATURE_INVALID',
      `signing key ${name} is disabled by the root key package; the update must be re-signed with a current key`,
      { erc: HubErc.SigningKeyDisabled, details: { jwsResult: JwsResult.SigningKeyDisabled } },
    );
  }
  verifyRs256(outer, signingKey, 'updateManifestSignature');

  const payload = payloadJson(outer, 'updateManifestSignature', JwsResult.BadStructure);
  const actual = manifestDigest(manifest);
  if (payload.sha256 !== actual) {
    throw jwsFailure(
      JwsResult.InvalidSignature,
      `the signed manifest hash ${String(payload.sha256)} is not the hash of updateManifest (${actual})`,
    );
  }
  return { rootKid: kid, signingKid: typeof jwk.kid === 'string' ? jwk.kid : undefined, manifestSha256: actual };
}
