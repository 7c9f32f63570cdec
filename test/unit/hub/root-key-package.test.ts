import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createPublicKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { TestSigner } from '../../../hw-fixtures/hub/adu-signer.js';
import { repoPath } from '../../../hw-fixtures/repo-root.js';
import { buildRootKeyPackage, tamperRootKeyPackage } from '../../../hw-fixtures/hub/root-key-package.js';
import { isHubError, type HubErrorCode } from '../../../src/hub/hub-error.js';
import { signingKeyHash, verifyManifestSignature } from '../../../src/hub/manifest-signature.js';
import { PRODUCTION_ROOT_KEYS } from '../../../src/hub/production-root-keys.js';
import {
  comparePackages,
  parseRootKeyPackage,
  trustWithPackage,
  verifyRootKeyPackage,
} from '../../../src/hub/root-key-package.js';

const anchor = new TestSigner({ rootKid: 'SP.UNIT.ROOT.1' });
const rotated = new TestSigner({ rootKid: 'SP.UNIT.ROOT.2', signingKid: 'SP.UNIT.SIGNING.2' });
const manifest = JSON.stringify({ manifestVersion: '5', updateId: { provider: 'p', name: 'n', version: '1.0' } });

function ercOf(fn: () => unknown, code: HubErrorCode = 'HUB_ROOT_KEY_PACKAGE_INVALID'): string {
  try {
    fn();
  } catch (e) {
    assert.ok(isHubError(e, code), `unexpected ${String(e)}`);
    return e.erc.toString(16).toUpperCase();
  }
  assert.fail(`expected ${code}`);
}

describe('root key package: parse (ADU rootkeypackage.schema.json)', () => {
  it('the Device Update service package verifies with the built-in production root keys', () => {
    const text = readFileSync(repoPath('hw-fixtures', 'hub', 'vectors', 'adu-prod-rootkeys.json'), 'utf8');
    const pkg = parseRootKeyPackage(text);
    assert.equal(pkg.version, 1);
    assert.equal(pkg.published, 1675972876);
    assert.equal(pkg.isTest, false);
    assert.deepEqual(
      pkg.rootKeys.map((k) => [k.kid, k.e]),
      [
        ['ADU.200702.R', 'AQAB'],
        ['ADU.200703.R', 'AQAB'],
      ],
    );
    verifyRootKeyPackage(pkg, PRODUCTION_ROOT_KEYS);
    // One changed digit in `protected` and neither production signature holds.
    const altered = parseRootKeyPackage(text.replace('"published": 1675972876', '"published": 1675972877'));
    assert.equal(
      ercOf(() => verifyRootKeyPackage(altered, PRODUCTION_ROOT_KEYS)),
      '80600004',
    );
  });

  it('names the first problem with ADU ERC: not JSON 0xA0000001, no protected 0x8050000D, version 0x80500004', () => {
    assert.equal(
      ercOf(() => parseRootKeyPackage('{"protected":')),
      'A0000001',
    );
    assert.equal(
      ercOf(() => parseRootKeyPackage('{"signatures":[]}')),
      '8050000D',
    );
    const good = JSON.parse(buildRootKeyPackage({ version: 3, roots: [anchor] })) as Record<string, any>;
    const without = (edit: (p: Record<string, any>) => void) => {
      const c = structuredClone(good);
      edit(c);
      return () => parseRootKeyPackage(JSON.stringify(c));
    };
    assert.equal(ercOf(without((c) => delete c.protected.version)), '80500004');
    assert.equal(ercOf(without((c) => (c.protected.version = 0))), '80500004');
    assert.equal(ercOf(without((c) => delete c.protected.published)), '80500005');
    assert.equal(ercOf(without((c) => delete c.protected.disabledRootKeys)), '80500006');
    assert.equal(ercOf(without((c) => delete c.protected.disabledSigningKeys)), '8050000A');
    assert.equal(ercOf(without((c) => (c.protected.disabledSigningKeys = [{ hash: 'AA' }]))), '80500007');
    assert.equal(ercOf(without((c) => (c.protected.disabledSigningKeys = [{ alg: 'MD5', hash: 'AA' }]))), '80500014');
    assert.equal(ercOf(without((c) => (c.protected.rootKeys = {}))), '80500011');
    assert.equal(ercOf(without((c) => (c.protected.rootKeys[anchor.rootKid].keyType = 'EC'))), '80500018');
    assert.equal(ercOf(without((c) => (c.protected.rootKeys[anchor.rootKid].e = 'not base64!'))), '8050001C');
    assert.equal(ercOf(without((c) => (c.signatures = []))), '80500012');
    assert.equal(ercOf(without((c) => (c.signatures[0].alg = 'HS256'))), '80500015');
    assert.equal(ercOf(without((c) => (c.signatures[0].sig = 'not base64!'))), '80500016');
  });

  it('reads e as ADU does (a JSON number) and n as base64url; the package text may be pretty-printed', () => {
    const text = buildRootKeyPackage({ version: 1, roots: [anchor, rotated] });
    assert.match(text, /\n {4}"protected"/);
    const pkg = parseRootKeyPackage(text);
    assert.deepEqual(pkg.rootKeys[0], anchor.rootKey);
    assert.deepEqual(pkg.rootKeys[1], rotated.rootKey);
  });
});

describe('root key package: verification', () => {
  it('must be signed by every trust anchor, each at the index of its kid in rootKeys', () => {
    const both = parseRootKeyPackage(buildRootKeyPackage({ version: 1, roots: [anchor, rotated] }));
    verifyRootKeyPackage(both, [anchor.rootKey]);
    verifyRootKeyPackage(both, [anchor.rootKey, rotated.rootKey]);
    const onlyRotated = parseRootKeyPackage(buildRootKeyPackage({ version: 1, roots: [rotated] }));
    assert.equal(
      ercOf(() => verifyRootKeyPackage(onlyRotated, [anchor.rootKey])),
      '80600003',
    );
    // Signatures in the wrong order: the anchor's index holds the other root's signature.
    const swapped = tamperRootKeyPackage(buildRootKeyPackage({ version: 1, roots: [anchor, rotated] }), (p) =>
      p.signatures.reverse(),
    );
    assert.equal(
      ercOf(() => verifyRootKeyPackage(parseRootKeyPackage(swapped), [anchor.rootKey])),
      '80600004',
    );
  });

  it('a package changed after signing (one more disabled key) fails with 0x80600004', () => {
    const text = tamperRootKeyPackage(buildRootKeyPackage({ version: 2, roots: [anchor] }), (p) =>
      p.protected.disabledRootKeys.push('SOMEONE'),
    );
    assert.equal(
      ercOf(() => verifyRootKeyPackage(parseRootKeyPackage(text), [anchor.rootKey])),
      '80600004',
    );
  });

  it('the anchor key signs, not the copy in the package: a package that swaps in another modulus fails', () => {
    const impostor = new TestSigner({ rootKid: anchor.rootKid });
    const text = buildRootKeyPackage({ version: 1, roots: [impostor] });
    assert.equal(
      ercOf(() => verifyRootKeyPackage(parseRootKeyPackage(text), [anchor.rootKey])),
      '80600004',
    );
  });
});

describe('root key package: trust and version policy', () => {
  it('rotation: a manifest signed through a root the package adds verifies; without the package it does not', () => {
    const pkg = parseRootKeyPackage(buildRootKeyPackage({ version: 1, roots: [anchor, rotated] }));
    const sig = rotated.sign(manifest);
    assert.equal(
      ercOf(
        () => verifyManifestSignature(manifest, sig, trustWithPackage([anchor.rootKey], undefined)),
        'HUB_SIGNATURE_INVALID',
      ),
      'A0200007',
    );
    const v = verifyManifestSignature(manifest, sig, trustWithPackage([anchor.rootKey], pkg));
    assert.equal(v.rootKid, rotated.rootKid);
  });

  it('revocation: disabledSigningKeys (A0000005) and disabledRootKeys (A0200005) stop a manifest', () => {
    const pkg = parseRootKeyPackage(
      buildRootKeyPackage({
        version: 2,
        roots: [anchor, rotated],
        disabledSigningKeys: [anchor],
        disabledRootKeys: [rotated.rootKid],
      }),
    );
    const trust = trustWithPackage([anchor.rootKey], pkg);
    assert.equal(
      ercOf(() => verifyManifestSignature(manifest, anchor.sign(manifest), trust), 'HUB_SIGNATURE_INVALID'),
      'A0000005',
    );
    assert.equal(
      ercOf(() => verifyManifestSignature(manifest, rotated.sign(manifest), trust), 'HUB_SIGNATURE_INVALID'),
      'A0200005',
    );
  });

  it('a package cannot replace an anchor key: the anchor comes first', () => {
    const impostor = new TestSigner({ rootKid: anchor.rootKid });
    const pkg = parseRootKeyPackage(buildRootKeyPackage({ version: 1, roots: [anchor] }));
    pkg.rootKeys.push(impostor.rootKey);
    const trust = trustWithPackage([anchor.rootKey], pkg);
    assert.equal(trust.rootKeys.filter((k) => k.kid === anchor.rootKid).length, 1);
    assert.equal(
      ercOf(() => verifyManifestSignature(manifest, impostor.sign(manifest), trust), 'HUB_SIGNATURE_INVALID'),
      'A0200004',
    );
  });

  it('version policy: higher version newer, same content same, same version later published newer, else older', () => {
    const at = (version: number, published: number, disabled: string[] = []) =>
      parseRootKeyPackage(buildRootKeyPackage({ version, published, roots: [anchor], disabledRootKeys: disabled }));
    const v2 = at(2, 1000);
    assert.equal(comparePackages(v2, at(3, 500)), 'newer');
    assert.equal(comparePackages(v2, at(1, 5000)), 'older');
    assert.equal(comparePackages(v2, at(2, 1000)), 'same');
    assert.equal(comparePackages(v2, at(2, 1001, ['X'])), 'newer');
    assert.equal(comparePackages(v2, at(2, 1000, ['X'])), 'older');
  });

  it('the signing key hash is SHA-256 of the DER SPKI, as ADU computes it (its unit-test vector)', () => {
    // root_key_utils_signing_key_ut.cpp: modulus (standard base64) and e=AQAB → hash below.
    const n =
      'lLfsKo8Ytbcc2Q3N50UtLIfWQLVSAEbch+F/ce7S1YrJhXOSrzSfCnLpUiqPTw4zX/tiArAEuy7DAeUnEHEcx7Nkwwy5/8zKejvcEXpAJ/e3BKG4E4onfHQEpOsxwOKEeG0Gv9wWL3zTcNvdKXODXF3UPeJ1oGbPQms2zmCJxBbtSIYItmvicx2ekdVzWFw/vKTNuKk8hqK7HRfjOUKuKXyc+yHQI0aFBr2zkk3xh1tEOK98WJfxbcjPsDO6gzYzkXzCMza0O0GibBgLATT9Mf8YPpYG2jvOaDUoCQn2UcURNdl8hJbyjnZo2Jr+U84yuqOk7F4ZySoBv4bXJH2ZRRZFh/uSlsV9wRmYhYrv91DZiqk8HR6DSlnfneu28FThEmmosUM3k2YLsBc4Boupt3yaH8YnJT74u33uz19/MzTujKg7Tai12+XbtnZD9jTGayJtlhFeW+HC57AtAFZhqYwyGkX+83AaPXZ4a1O8u23NUGu2Ap7oM1N0yBJ+IlOz';
    const key = createPublicKey({
      key: { kty: 'RSA', n: Buffer.from(n, 'base64').toString('base64url'), e: 'AQAB' },
      format: 'jwk',
    });
    assert.equal(signingKeyHash(key, 'SHA256'), 'Y0jA4rDItwp5NIZYPUP8jAQoXIRPSKCDo4xtiWjyvig');
  });
});
