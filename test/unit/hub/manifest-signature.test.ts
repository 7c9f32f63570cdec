import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { compactJws, TestSigner } from '../../../hw-fixtures/hub/adu-signer.js';
import { isHubError } from '../../../src/hub/hub-error.js';
import { rsaPublicKey } from '../../../src/hub/jws.js';
import { verifyManifestSignature } from '../../../src/hub/manifest-signature.js';
import { PRODUCTION_ROOT_KEYS } from '../../../src/hub/production-root-keys.js';

const signer = new TestSigner();
const manifest = JSON.stringify({ manifestVersion: '5', updateId: { provider: 'p', name: 'n', version: '1.0' } });
const trust = { rootKeys: [signer.rootKey] };

function ercOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(isHubError(e, 'HUB_SIGNATURE_INVALID'), `unexpected ${String(e)}`);
    return e.erc.toString(16).toUpperCase();
  }
  assert.fail('expected a HUB_SIGNATURE_INVALID error');
}

const b64url = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('update manifest signature (reference/adu-agent.md §5.4)', () => {
  it('accepts the chain root → sjwk → RS256 over {sha256: b64(SHA-256(manifest))}', () => {
    const v = verifyManifestSignature(manifest, signer.sign(manifest), trust);
    assert.equal(v.rootKid, signer.rootKid);
    assert.equal(v.signingKid, signer.signingKid);
    assert.equal(v.manifestSha256, createHash('sha256').update(manifest).digest('base64'));
  });

  it('a manifest changed by one byte fails: InvalidSignature (A0200004)', () => {
    const sig = signer.sign(manifest);
    assert.equal(
      ercOf(() => verifyManifestSignature(manifest.replace('1.0', '1.1'), sig, trust)),
      'A0200004',
    );
  });

  it('a root not in the trusted list fails: InvalidRootKid (A0200007)', () => {
    const other = new TestSigner({ rootKid: 'OTHER.R' });
    assert.equal(
      ercOf(() => verifyManifestSignature(manifest, other.sign(manifest), trust)),
      'A0200007',
    );
  });

  it('a trusted kid with another key (forged sjwk) fails: InvalidSignature (A0200004)', () => {
    const forger = new TestSigner({ rootKid: signer.rootKid });
    assert.equal(
      ercOf(() => verifyManifestSignature(manifest, forger.sign(manifest), trust)),
      'A0200004',
    );
  });

  it('a disabled root kid fails: DisallowedRootKid (A0200005)', () => {
    assert.equal(
      ercOf(() =>
        verifyManifestSignature(manifest, signer.sign(manifest), { ...trust, disabledRootKids: [signer.rootKid] }),
      ),
      'A0200005',
    );
  });

  it('a disabled signing key fails with ROOTKEY_SIGNING_KEY_IS_DISABLED (A0000005)', () => {
    assert.equal(
      ercOf(() =>
        verifyManifestSignature(manifest, signer.sign(manifest), {
          ...trust,
          disabledSigningKeys: [{ alg: 'SHA256', hash: signer.signingKeyHash }],
        }),
      ),
      'A0000005',
    );
  });

  it('structure errors: not three parts (A0200002), header not JSON (A0200008), no sjwk (A0200008), sjwk without kid (A0200006)', () => {
    assert.equal(
      ercOf(() => verifyManifestSignature(manifest, 'abc.def', trust)),
      'A0200002',
    );
    assert.equal(
      ercOf(() => verifyManifestSignature(manifest, 'bm90anNvbg.e30.c2ln', trust)),
      'A0200008',
    );
    assert.equal(
      ercOf(() => verifyManifestSignature(manifest, `${b64url({ alg: 'RS256' })}.e30.c2ln`, trust)),
      'A0200008',
    );
    const sjwk = `${b64url({ alg: 'RS256' })}.${b64url({ kty: 'RSA' })}.c2ln`;
    assert.equal(
      ercOf(() => verifyManifestSignature(manifest, `${b64url({ alg: 'RS256', sjwk })}.e30.c2ln`, trust)),
      'A0200006',
    );
  });

  it('alg other than RS256 is refused (A0200008)', () => {
    const k = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const sjwk = compactJws({ alg: 'RS512', kid: signer.rootKid }, { kty: 'RSA', n: 'AA', e: 'AQAB' }, k.privateKey);
    assert.equal(
      ercOf(() => verifyManifestSignature(manifest, `${b64url({ alg: 'RS256', sjwk })}.e30.c2ln`, trust)),
      'A0200008',
    );
  });

  it('the two production ADU roots are well-formed RSA keys (3072-bit, e = 65537)', () => {
    assert.deepEqual(
      PRODUCTION_ROOT_KEYS.map((k) => k.kid),
      ['ADU.200702.R', 'ADU.200703.R'],
    );
    for (const k of PRODUCTION_ROOT_KEYS) {
      const key = rsaPublicKey(k.n, k.e, k.kid);
      assert.equal(key.asymmetricKeyDetails?.modulusLength, 3072);
      assert.equal(key.asymmetricKeyDetails?.publicExponent, 65537n);
    }
  });
});
