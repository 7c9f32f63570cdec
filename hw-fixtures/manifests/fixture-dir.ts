/**
 * Locating the manifest fixtures from source (`tsx`) and from the compiled tree (`dist/`): `tsc`
 * does not copy the JSON files, so this walks up until it finds `hw-fixtures/manifests/msoe`.
 *
 * Layout:
 * - `msoe/`: the seeds/002 examples as import manifests, with their payload files (a publisher's
 *   folder; the child `contoso.virtual-camera.1.2` sits next to its parent)
 * - `service/`: the same updates as the service delivers them: update manifests (v4 and v5),
 *   detached child files (`*.updatemanifest.json`) and a mini manifest
 * - `bad/`: files broken on purpose (JSON syntax, missing handlerProperties)
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

function findAbove(start: string): string | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, 'hw-fixtures', 'manifests');
    if (existsSync(join(candidate, 'msoe'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Absolute path of `hw-fixtures/manifests` in the checkout: searched above this module, then above
 * the working directory (for a build whose `outDir` is outside the checkout).
 */
export function manifestFixturesDir(): string {
  cached ??= findAbove(dirname(fileURLToPath(import.meta.url))) ?? findAbove(process.cwd());
  if (!cached) throw new Error(`hw-fixtures/manifests not found above ${fileURLToPath(import.meta.url)} or ${process.cwd()}`);
  return cached;
}

/** Absolute path of a fixture, e.g. `fixturePath('msoe', 'apt-manifest-1.0.json')`. */
export function fixturePath(...parts: string[]): string {
  return join(manifestFixturesDir(), ...parts);
}

/** A fresh parsed copy of a JSON fixture (tests may mutate it). */
export function readJsonFixture(...parts: string[]): unknown {
  return JSON.parse(readFileSync(fixturePath(...parts), 'utf8'));
}

/** Named fixtures the rule tests start from. */
export const FIXTURES = {
  /** Import manifest, 3 inline steps, 2 files, isDeployable false (seeds/002 camera child). */
  importChild: ['msoe', 'contoso.virtual-camera.1.2.importmanifest.json'],
  /** Import manifest with one reference step and no files (seeds/002 parent). */
  importParent: ['msoe', 'du-client-eng.msoe-update-demo.3.1.importmanifest.json'],
  /** Import manifest, one inline step (seeds/002 example 1). */
  importOne: ['msoe', 'du-client-eng.apt-update-test.1.0.importmanifest.json'],
  /** Import manifest, two inline steps, manifestVersion "4.0" (seeds/002 example 2). */
  importTwo: ['msoe', 'du-client-eng.apt-update-test.2.2.importmanifest.json'],
  /** Update manifest v5, two inline steps; one file entry spelled `filename`. */
  update: ['service', 'apt-update-test.2.2.update-manifest.json'],
  /** Update manifest v4, one inline step. */
  updateOne: ['service', 'apt-update-test.1.0.update-manifest.json'],
  /** Update manifest v4 with one reference step (detachedManifestFileId). */
  updateParent: ['service', 'msoe-update-demo.3.1.update-manifest.json'],
  /** Detached child file, `updateManifest` as a string. */
  detachedChild: ['service', 'contoso.virtual-camera.1.2.updatemanifest.json'],
  /** Detached file holding the parent, `updateManifest` as an object. */
  detachedParent: ['service', 'du-client-eng.msoe-update-demo.3.1.updatemanifest.json'],
  /** Mini manifest naming `detachedParent`. */
  mini: ['service', 'msoe-update-demo.3.1.mini-manifest.json'],
} as const satisfies Record<string, readonly string[]>;

export type FixtureName = keyof typeof FIXTURES;

export function readNamedFixture(name: FixtureName): unknown {
  return readJsonFixture(...FIXTURES[name]);
}
