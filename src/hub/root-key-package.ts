/**
 * The Device Update root key package (`reference/adu-agent.md` §5.4 step 1; schema
 * `src/utils/rootkeypackage_utils/inc/aduc/rootkeypackage.schema.json` of Azure/iot-hub-device-update):
 *
 * ```text
 * { "protected": { "isTest"?, "version", "published", "disabledRootKeys": [kid],
 *                  "disabledSigningKeys": [{"alg": "SHA256", "hash": b64url(SHA-256(DER SPKI))}],
 *                  "rootKeys": { kid: {"keyType": "RSA", "n": b64url, "e": 65537} } },
 *   "signatures": [ {"alg": "RS256", "sig": b64url} ] }
 * ```
 *
 * Signature `i` belongs to the i-th entry of `rootKeys` (object order) and covers the compact JSON
 * of `protected`. The package is trusted when EVERY trust anchor (the built-in production roots,
 * or the configured `hub.rootKeys`) has a valid signature on it, as the ADU agent demands of its
 * hardcoded keys. Errors carry the ADU agent's extended result codes (`result_codes.json`:
 * facility 8 UTILITY, component 5 ROOTKEYPKG_UTIL / 6 ROOTKEY_UTIL; facility 10 component 0 ROOTKEY_WORKFLOW).
 */
import { createVerify } from 'node:crypto';
import { makeExtendedResultCode } from '../model/result-codes.js';
import { HubError } from './hub-error.js';
import { rsaPublicKey, type RootKey } from './jws.js';
import type { DisabledSigningKey, SignatureTrust } from './manifest-signature.js';

/** ADU's ERCs for the root key package. */
export const RootKeyErc = {
  // ROOTKEYPKG_UTIL (8, 5): parsing.
  MissingVersion: makeExtendedResultCode(8, 5, 4),
  MissingPublished: makeExtendedResultCode(8, 5, 5),
  MissingDisabledRootKeys: makeExtendedResultCode(8, 5, 6),
  MissingHashAlg: makeExtendedResultCode(8, 5, 7),
  MissingSignatureAlg: makeExtendedResultCode(8, 5, 8),
  MissingHashOrSig: makeExtendedResultCode(8, 5, 9),
  MissingDisabledSigningKeys: makeExtendedResultCode(8, 5, 10),
  MissingKeyType: makeExtendedResultCode(8, 5, 11),
  MissingRootKeys: makeExtendedResultCode(8, 5, 12),
  MissingProtected: makeExtendedResultCode(8, 5, 13),
  MissingSignatures: makeExtendedResultCode(8, 5, 14),
  RootKeysEmpty: makeExtendedResultCode(8, 5, 17),
  SignaturesEmpty: makeExtendedResultCode(8, 5, 18),
  InvalidModulus: makeExtendedResultCode(8, 5, 19),
  InvalidHashAlg: makeExtendedResultCode(8, 5, 20),
  InvalidSigningAlg: makeExtendedResultCode(8, 5, 21),
  InvalidEncoding: makeExtendedResultCode(8, 5, 22),
  InvalidKeyId: makeExtendedResultCode(8, 5, 23),
  UnsupportedKeyType: makeExtendedResultCode(8, 5, 24),
  InvalidExponent: makeExtendedResultCode(8, 5, 28),
  // ROOTKEY_UTIL (8, 6): verification and the store.
  SignatureForKeyNotFound: makeExtendedResultCode(8, 6, 3),
  SignatureValidationFailed: makeExtendedResultCode(8, 6, 4),
  CannotWriteToStore: makeExtendedResultCode(8, 6, 7),
  // ROOTKEY_WORKFLOW (10, 0).
  JsonParse: makeExtendedResultCode(10, 0, 1),
  TestPackageOnProdAgent: makeExtendedResultCode(10, 0, 7),
  /** Informational: the stored package was replaced by a newer one. */
  PackageChanged: makeExtendedResultCode(10, 0, 8),
  /** Informational: the downloaded package is the stored one. */
  PackageUnchanged: makeExtendedResultCode(10, 0, 0xfff),
} as const;

export type SigningAlg = 'RS256' | 'RS384' | 'RS512';

export interface RootKeyPackage {
  isTest: boolean;
  version: number;
  /** Seconds since the epoch. */
  published: number;
  disabledRootKeys: string[];
  disabledSigningKeys: DisabledSigningKey[];
  /** In package order (signature `i` belongs to `rootKeys[i]`); `n`, `e` base64url. */
  rootKeys: RootKey[];
  signatures: { alg: SigningAlg; sig: Uint8Array }[];
  /** The bytes the signatures cover: the compact JSON of `protected`. */
  signedText: string;
}

function invalid(erc: number, message: string, cause?: unknown): HubError {
  return new HubError('HUB_ROOT_KEY_PACKAGE_INVALID', `root key package: ${message}`, {
    erc,
    ...(cause !== undefined && { cause }),
  });
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const B64URL = /^[A-Za-z0-9_-]+={0,2}$/;

function b64urlBytes(v: unknown, erc: number, what: string): Uint8Array {
  if (typeof v !== 'string' || v === '' || !B64URL.test(v)) throw invalid(erc, `${what} is not a base64url string`);
  return new Uint8Array(Buffer.from(v, 'base64url'));
}

/** A positive integer exponent as big-endian base64url (the JWK form). */
function exponentB64url(e: number): string {
  let hex = e.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, 'hex').toString('base64url');
}

function parseRootKeys(v: unknown): RootKey[] {
  if (!isObj(v)) throw invalid(RootKeyErc.MissingRootKeys, '"protected.rootKeys" is missing or not an object');
  const entries = Object.entries(v);
  if (entries.length === 0) throw invalid(RootKeyErc.RootKeysEmpty, '"protected.rootKeys" is empty');
  return entries.map(([kid, def]) => {
    if (kid === '') throw invalid(RootKeyErc.InvalidKeyId, 'a root key has an empty key id');
    const where = `rootKeys["${kid}"]`;
    if (!isObj(def) || typeof def.keyType !== 'string' || def.keyType === '')
      throw invalid(RootKeyErc.MissingKeyType, `${where} has no "keyType"`);
    if (def.keyType !== 'RSA')
      throw invalid(RootKeyErc.UnsupportedKeyType, `${where}: keyType ${def.keyType} is not supported (RSA only)`);
    const n = Buffer.from(b64urlBytes(def.n, RootKeyErc.InvalidModulus, `${where}.n`)).toString('base64url');
    // ADU reads `e` as a JSON number (65537); a base64url string is accepted too.
    let e: string;
    if (typeof def.e === 'number' && Number.isSafeInteger(def.e) && def.e > 1) e = exponentB64url(def.e);
    else if (typeof def.e === 'string' && B64URL.test(def.e)) e = def.e.replace(/=+$/, '');
    else throw invalid(RootKeyErc.InvalidExponent, `${where}.e is not a valid RSA exponent`);
    rsaPublicKey(n, e, where); // throws if n/e do not make an RSA key
    return { kid, n, e };
  });
}

function parseDisabledSigningKeys(v: unknown): DisabledSigningKey[] {
  if (!Array.isArray(v))
    throw invalid(RootKeyErc.MissingDisabledSigningKeys, '"protected.disabledSigningKeys" is missing or not an array');
  return v.map((entry, i) => {
    const where = `disabledSigningKeys[${i}]`;
    if (!isObj(entry) || entry.alg === undefined) throw invalid(RootKeyErc.MissingHashAlg, `${where} has no "alg"`);
    if (entry.alg !== 'SHA256' && entry.alg !== 'SHA384' && entry.alg !== 'SHA512')
      throw invalid(
        RootKeyErc.InvalidHashAlg,
        `${where}.alg ${JSON.stringify(entry.alg)} is not SHA256, SHA384 or SHA512`,
      );
    if (entry.hash === undefined) throw invalid(RootKeyErc.MissingHashOrSig, `${where} has no "hash"`);
    const hash = Buffer.from(b64urlBytes(entry.hash, RootKeyErc.InvalidEncoding, `${where}.hash`)).toString(
      'base64url',
    );
    return { alg: entry.alg, hash };
  });
}

function parseSignatures(v: unknown): RootKeyPackage['signatures'] {
  if (!Array.isArray(v)) throw invalid(RootKeyErc.MissingSignatures, '"signatures" is missing or not an array');
  if (v.length === 0) throw invalid(RootKeyErc.SignaturesEmpty, '"signatures" is empty');
  return v.map((s, i) => {
    const where = `signatures[${i}]`;
    if (!isObj(s) || s.alg === undefined) throw invalid(RootKeyErc.MissingSignatureAlg, `${where} has no "alg"`);
    if (s.alg !== 'RS256' && s.alg !== 'RS384' && s.alg !== 'RS512')
      throw invalid(RootKeyErc.InvalidSigningAlg, `${where}.alg ${JSON.stringify(s.alg)} is not RS256, RS384 or RS512`);
    if (s.sig === undefined) throw invalid(RootKeyErc.MissingHashOrSig, `${where} has no "sig"`);
    return { alg: s.alg, sig: b64urlBytes(s.sig, RootKeyErc.InvalidEncoding, `${where}.sig`) };
  });
}

/**
 * Parses a root key package (the downloaded file's text). Checks its shape only; see
 * {@link verifyRootKeyPackage} for the signatures.
 * @throws HubError `HUB_ROOT_KEY_PACKAGE_INVALID` with ADU's ERC for the first problem.
 */
export function parseRootKeyPackage(text: string): RootKeyPackage {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw invalid(RootKeyErc.JsonParse, `not JSON: ${(e as Error).message}`, e);
  }
  if (!isObj(doc) || !isObj(doc.protected))
    throw invalid(RootKeyErc.MissingProtected, '"protected" is missing or not an object');
  const p = doc.protected;
  if (p.isTest !== undefined && typeof p.isTest !== 'boolean')
    throw invalid(RootKeyErc.MissingProtected, '"protected.isTest" is not a boolean');
  // ADU treats a missing or zero version / published as missing.
  if (typeof p.version !== 'number' || !Number.isSafeInteger(p.version) || p.version <= 0)
    throw invalid(RootKeyErc.MissingVersion, '"protected.version" must be a positive integer');
  if (typeof p.published !== 'number' || !Number.isFinite(p.published) || p.published <= 0)
    throw invalid(RootKeyErc.MissingPublished, '"protected.published" must be a positive number (epoch seconds)');
  if (!Array.isArray(p.disabledRootKeys) || !p.disabledRootKeys.every((k) => typeof k === 'string'))
    throw invalid(RootKeyErc.MissingDisabledRootKeys, '"protected.disabledRootKeys" must be an array of key ids');
  return {
    isTest: p.isTest === true,
    version: p.version,
    published: p.published,
    disabledRootKeys: [...(p.disabledRootKeys as string[])],
    disabledSigningKeys: parseDisabledSigningKeys(p.disabledSigningKeys),
    rootKeys: parseRootKeys(p.rootKeys),
    signatures: parseSignatures(doc.signatures),
    // The ADU agent signs and verifies parson's compact serialization of `protected`, which for
    // a package's content (integers, ASCII strings without '/') is JSON.stringify's output; the
    // production package published with the agent's tests verifies this way.
    signedText: JSON.stringify(p),
  };
}

const DIGEST: Record<SigningAlg, string> = { RS256: 'RSA-SHA256', RS384: 'RSA-SHA384', RS512: 'RSA-SHA512' };

/**
 * Checks that every anchor signed the package: for anchor `kid`, the signature at the index of
 * `kid` in the package's `rootKeys` must verify with the anchor's own key (not the package's copy).
 * Anchors listed in the package's `disabledRootKeys` still sign it, as in ADU.
 * @throws HubError `HUB_ROOT_KEY_PACKAGE_INVALID` (0x80600003 no signature for an anchor, 0x80600004 a bad signature).
 */
export function verifyRootKeyPackage(pkg: RootKeyPackage, anchors: readonly RootKey[]): void {
  if (anchors.length === 0) throw invalid(RootKeyErc.SignatureForKeyNotFound, 'no trusted root keys to verify with');
  for (const anchor of anchors) {
    const i = pkg.rootKeys.findIndex((k) => k.kid === anchor.kid);
    const sig = i >= 0 ? pkg.signatures[i] : undefined;
    if (!sig) {
      throw invalid(
        RootKeyErc.SignatureForKeyNotFound,
        `not signed by trusted root key ${anchor.kid} (the package must list it in rootKeys and carry its signature)`,
      );
    }
    const key = rsaPublicKey(anchor.n, anchor.e, `root key ${anchor.kid}`);
    const ok = createVerify(DIGEST[sig.alg]).update(pkg.signedText, 'utf8').verify(key, sig.sig);
    if (!ok)
      throw invalid(
        RootKeyErc.SignatureValidationFailed,
        `the ${sig.alg} signature of trusted root key ${anchor.kid} does not verify (the package was altered or not signed by it)`,
      );
  }
}

/** How `incoming` relates to the stored package. */
export type PackageOrder = 'same' | 'newer' | 'older';

/**
 * Rollback policy (not in ADU, which replaces the store with any different valid package): a
 * higher `version` is newer; at the same version, identical signed content is the same package,
 * a later `published` is newer, anything else is treated as older (refused).
 */
export function comparePackages(stored: RootKeyPackage, incoming: RootKeyPackage): PackageOrder {
  if (incoming.version !== stored.version) return incoming.version > stored.version ? 'newer' : 'older';
  if (incoming.signedText === stored.signedText) return 'same';
  return incoming.published > stored.published ? 'newer' : 'older';
}

/**
 * The manifest signature trust under `pkg`: the anchors first (a package cannot replace an
 * anchor's key), then the package's other root keys; its disabled root keys and signing keys.
 */
export function trustWithPackage(anchors: readonly RootKey[], pkg: RootKeyPackage | undefined): SignatureTrust {
  if (!pkg) return { rootKeys: anchors };
  const kids = new Set(anchors.map((k) => k.kid));
  return {
    rootKeys: [...anchors, ...pkg.rootKeys.filter((k) => !kids.has(k.kid))],
    disabledRootKids: pkg.disabledRootKeys,
    disabledSigningKeys: pkg.disabledSigningKeys,
  };
}
