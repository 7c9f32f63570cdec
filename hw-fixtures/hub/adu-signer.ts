/**
 * Signs update manifests the way the Device Update service does (`reference/adu-agent.md` §5.4),
 * with a test root key and a test signing key instead of Microsoft's:
 *
 * ```text
 * sjwk = JWS_RS256{ header {alg, kid: <root kid>}, payload JWK {kty, n, e (standard base64), alg, kid: <signing kid>} }  signed by the root key
 * updateManifestSignature = JWS_RS256{ header {alg, sjwk}, payload {"sha256": b64(SHA-256(updateManifest))} }  signed by the signing key
 * ```
 *
 * The agent trusts the root through `hub.rootKeys` = [{@link TestSigner.rootKey}].
 */
import { createHash, createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';

export interface RootKeyEntry {
  kid: string;
  n: string;
  e: string;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export function compactJws(header: object, payload: object, key: KeyObject): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const sig = createSign('RSA-SHA256').update(input).sign(key);
  return `${input}.${b64url(sig)}`;
}

export class TestSigner {
  readonly rootKid: string;
  readonly signingKid: string;
  private readonly root: { publicKey: KeyObject; privateKey: KeyObject };
  private readonly signing: { publicKey: KeyObject; privateKey: KeyObject };

  /** @param bits RSA key size; the service's signing keys are 3072-bit, 2048 keeps tests quick. */
  constructor(o: { bits?: number; rootKid?: string; signingKid?: string } = {}) {
    const bits = o.bits ?? 2048;
    this.rootKid = o.rootKid ?? 'SP.TEST.ROOT.R';
    this.signingKid = o.signingKid ?? 'SP.TEST.SIGNING.S';
    this.root = generateKeyPairSync('rsa', { modulusLength: bits });
    this.signing = generateKeyPairSync('rsa', { modulusLength: bits });
  }

  /** The root as the agent config lists it: `{kid, n, e}` in base64url. */
  get rootKey(): RootKeyEntry {
    const jwk = this.root.publicKey.export({ format: 'jwk' });
    return { kid: this.rootKid, n: jwk.n!, e: jwk.e! };
  }

  /** base64url SHA-256 of the signing key's DER SPKI (what a disabledSigningKeys entry would name). */
  get signingKeyHash(): string {
    return createHash('sha256')
      .update(this.signing.publicKey.export({ type: 'spki', format: 'der' }))
      .digest('base64url');
  }

  /** The sjwk: the signing key's JWK (n/e standard base64, as the service emits them) signed by the root. */
  sjwk(): string {
    const jwk = this.signing.publicKey.export({ format: 'jwk' });
    const std = (s: string) => Buffer.from(s, 'base64url').toString('base64');
    return compactJws(
      { alg: 'RS256', kid: this.rootKid },
      { kty: 'RSA', n: std(jwk.n!), e: std(jwk.e!), alg: 'RS256', kid: this.signingKid },
      this.root.privateKey,
    );
  }

  /** RS256 signature of `text` by the root key (base64url): a root key package signature. */
  signWithRoot(text: string): string {
    return b64url(createSign('RSA-SHA256').update(text, 'utf8').sign(this.root.privateKey));
  }

  /** `updateManifestSignature` for the exact manifest string. */
  sign(updateManifest: string): string {
    const sha256 = createHash('sha256').update(updateManifest, 'utf8').digest('base64');
    return compactJws({ alg: 'RS256', sjwk: this.sjwk() }, { sha256 }, this.signing.privateKey);
  }
}
