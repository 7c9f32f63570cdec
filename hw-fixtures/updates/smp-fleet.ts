import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSmpRig, type SmpRig } from '../serial/smp-rig.js';
import { buildTestImage } from '../serial/test-image.js';
import { writeImportManifest } from './import-manifest-builder.js';

/** Several MCUboot sensors on their own pty pairs, a gateway config that finds them, and an update for them all. */
export interface SmpFleet {
  dir: string;
  stateDir: string;
  configPath: string;
  /** The parent import manifest: one reference step selecting every sensor. */
  manifest: string;
  rigs: SmpRig[];
  /** Component names, in rig order (`sensor-0`, ...). */
  names: string[];
  close(): Promise<void>;
}

export interface SmpFleetOptions {
  sensors: number;
  baudRate?: number;
  imageBytes?: number;
  /** Flash write time in the simulator, µs per byte. */
  flashUsPerByte?: number;
  version?: string;
  /** Extra top-level gateway config keys. */
  config?: Record<string, unknown>;
}

/**
 * Starts `sensors` SMP simulators on socat pty pairs and writes, in a temp folder: a gateway config
 * (serial enumerator, one rule per port, state in `<dir>/state`), the new image and a parent + child
 * import manifest that updates every sensor with `sensor-proxy/smp:1`. The CLI flashes them in
 * parallel (one lane per port).
 */
export async function startSmpFleet(o: SmpFleetOptions): Promise<SmpFleet> {
  const baudRate = o.baudRate ?? 115200;
  const version = o.version ?? '2.0.0';
  const dir = await mkdtemp(join(tmpdir(), 'smp-fleet-'));
  const rigs: SmpRig[] = [];
  const close = async () => {
    await Promise.all(rigs.map((r) => r.close()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < o.sensors; i++)
      rigs.push(
        await startSmpRig({
          baudRate,
          primaryImage: buildTestImage('1.0.0', 4096, 10 + i),
          flashUsPerByte: o.flashUsPerByte ?? 2,
          bootTimeMs: 150,
        }),
      );
    const names = rigs.map((_, i) => `sensor-${i}`);
    const stateDir = join(dir, 'state');
    const configPath = join(dir, 'gateway.json');
    await writeFile(
      configPath,
      JSON.stringify(
        {
          stateDir,
          enumerators: [
            {
              type: 'serial',
              rules: rigs.map((r, i) => ({
                match: { path: r.port },
                protocol: 'smp',
                baudRate,
                component: { group: 'fleet', name: names[i], manufacturer: 'contoso', model: 'env-s1' },
              })),
            },
          ],
          handlers: { 'sensor-proxy/smp:1': { responseTimeoutMs: 2000, pollIntervalMs: 50 } },
          ...o.config,
        },
        null,
        2,
      ),
    );
    const image = `fleet-${version}.img`;
    await writeFile(join(dir, image), buildTestImage(version, o.imageBytes ?? 24 * 1024, 3));
    const child = { provider: 'contoso', name: 'fleet-fw', version };
    await writeImportManifest(dir, 'child.importmanifest.json', {
      updateId: child,
      isDeployable: false,
      compatibility: [{ group: 'fleet' }],
      steps: [
        {
          description: `MCUboot image ${version}`,
          handler: 'sensor-proxy/smp:1',
          files: [image],
          handlerProperties: { installedCriteria: version },
        },
      ],
    });
    const manifest = await writeImportManifest(dir, 'parent.importmanifest.json', {
      updateId: { provider: 'contoso', name: 'fleet', version },
      compatibility: [{ manufacturer: 'contoso', model: 'gateway' }],
      steps: [{ type: 'reference', updateId: child }],
    });
    return { dir, stateDir, configPath, manifest, rigs, names, close };
  } catch (e) {
    await close();
    throw e;
  }
}
