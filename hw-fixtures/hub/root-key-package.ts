/**
 * Builds root key packages the way the Device Update service publishes them
 * (`reference/adu-agent.md` §5.4 step 1): a `protected` block listing root keys (kid → RSA n, e as
 * a number), disabled root key ids and disabled signing key hashes, and one RS256 signature per
 * listed root key, in the same order, over the compact JSON of `protected`. The file itself is
 * pretty-printed, as the service's is, so the agent must re-serialize `protected` to verify it.
 *
 * Rotation: list a new root next to the trusted one. Revocation: `disabledSigningKeys` /
 * `disabledRootKeys`. Tampering: {@link tamperRootKeyPackage} edits the package after signing.
 */
import type { TestSigner } from './adu-signer.js';

export interface RootKeyPackageSpec {
  version: number;
  /** Epoch seconds; default now. */
  published?: number;
  isTest?: boolean;
  /** Roots listed in `rootKeys`, in order; each signs the package (signature i ↔ root i). */
  roots: TestSigner[];
  disabledRootKeys?: string[];
  /** Signers whose signing key is withdrawn (by its SHA-256 SPKI hash). */
  disabledSigningKeys?: TestSigner[];
}

export function buildRootKeyPackage(spec: RootKeyPackageSpec): string {
  const rootKeys: Record<string, { keyType: string; n: string; e: number }> = {};
  for (const r of spec.roots) {
    const k = r.rootKey;
    rootKeys[k.kid] = { keyType: 'RSA', n: k.n, e: Number.parseInt(Buffer.from(k.e, 'base64url').toString('hex'), 16) };
  }
  const prot = {
    ...(spec.isTest !== undefined && { isTest: spec.isTest }),
    version: spec.version,
    published: spec.published ?? Math.floor(Date.now() / 1000),
    disabledRootKeys: spec.disabledRootKeys ?? [],
    disabledSigningKeys: (spec.disabledSigningKeys ?? []).map((s) => ({ alg: 'SHA256', hash: s.signingKeyHash })),
    rootKeys,
  };
  const signed = JSON.stringify(prot);
  const signatures = spec.roots.map((r) => ({ alg: 'RS256', sig: r.signWithRoot(signed) }));
  return JSON.stringify({ protected: prot, signatures }, null, 4);
}

/** The package with `edit` applied to its parsed form after signing (signatures left as they were). */
export function tamperRootKeyPackage(text: string, edit: (pkg: Record<string, any>) => void): string {
  const pkg = JSON.parse(text) as Record<string, any>;
  edit(pkg);
  return JSON.stringify(pkg, null, 4);
}
