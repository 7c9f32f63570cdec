import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoPath } from '../repo-root.js';
import { copyScript, writeImportManifest } from './import-manifest-builder.js';

/**
 * The three examples of the multi-step seed (`shared/seeds/002_*`), as import manifests that run
 * on any Linux: the APT steps become `microsoft/script:1` steps (the seeds' apt handler needs a
 * Debian package source), the camera child update is the seed's verbatim, including the second
 * step that names a missing script. Scripts are `hw-fixtures/scripts/component-installscript.sh`
 * under the seeds' names.
 */
export interface SeedUpdates {
  dir: string;
  oneInline: string;
  twoInline: string;
  parentWithReference: string;
  childCamera: string;
}

export const SCRIPT = () => repoPath('hw-fixtures', 'scripts', 'component-installscript.sh');

export async function writeSeedUpdates(dir: string): Promise<SeedUpdates> {
  await mkdir(dir, { recursive: true });
  await copyScript(SCRIPT(), dir, 'apt-installscript.sh');
  await copyScript(SCRIPT(), dir, 'contoso-camera-installscript.sh');
  await writeFile(join(dir, 'apt-manifest-1.0.json'), JSON.stringify({ name: 'libcurl4-doc', version: 'latest' }) + '\n');
  await writeFile(join(dir, 'apt-manifest-tree-1.0.json'), JSON.stringify({ name: 'tree', version: 'latest' }) + '\n');
  await writeFile(join(dir, 'camera-firmware-1.1.json'), JSON.stringify({ version: '1.1', description: 'camera firmware' }) + '\n');
  const compatibility = [{ manufacturer: 'du-device', model: 'e2e-test' }];
  const hostStep = (desc: string, manifest: string, ic: string) => ({
    description: desc,
    handler: 'microsoft/script:1',
    files: ['apt-installscript.sh', manifest],
    handlerProperties: { scriptFileName: 'apt-installscript.sh', arguments: `--firmware-file ${manifest}`, installedCriteria: ic },
  });
  const oneInline = await writeImportManifest(dir, 'seed-1-one-inline.importmanifest.json', {
    updateId: { provider: 'du-device', name: 'msoe-one-inline', version: '1.0' },
    compatibility,
    steps: [hostStep('Installs libcurl4-doc on a host device', 'apt-manifest-1.0.json', 'apt-update-test-1.0')],
  });
  const twoInline = await writeImportManifest(dir, 'seed-2-two-inline.importmanifest.json', {
    updateId: { provider: 'du-device', name: 'msoe-two-inline', version: '2.2' },
    compatibility,
    steps: [
      hostStep('Install libcurl4-doc on host device', 'apt-manifest-1.0.json', 'apt-update-test-2.2'),
      hostStep('Install tree on host device', 'apt-manifest-tree-1.0.json', 'apt-update-test-tree-2.2'),
    ],
  });
  const camArgs = '--component-name --component-name-val --component-group --component-group-val --component-prop path --component-prop-val path';
  const childCamera = await writeImportManifest(dir, 'contoso.virtual-camera.1.2.importmanifest.json', {
    updateId: { provider: 'contoso', name: 'virtual-camera', version: '1.2' },
    isDeployable: false,
    compatibility: [{ group: 'cameras' }],
    steps: [
      {
        description: 'Cameras Update - preinstall step',
        handler: 'microsoft/script:1',
        files: ['contoso-camera-installscript.sh'],
        handlerProperties: { scriptFileName: 'contoso-camera-installscript.sh', arguments: `--pre-install-sim-success ${camArgs}`, installedCriteria: 'contoso-virtual-camera-1.2-step-0' },
      },
      {
        description: 'Cameras Update - firmware installation (failure - missing file)',
        handler: 'microsoft/script:1',
        files: ['contoso-camera-installscript.sh', 'camera-firmware-1.1.json'],
        handlerProperties: {
          scriptFileName: 'missing-contoso-camera-installscript.sh',
          arguments: `--firmware-file camera-firmware-1.1.json ${camArgs}`,
          installedCriteria: 'contoso-virtual-camera-1.2-step-1',
        },
      },
      {
        description: 'Cameras Update - postinstall step',
        handler: 'microsoft/script:1',
        files: ['contoso-camera-installscript.sh'],
        handlerProperties: { scriptFileName: 'contoso-camera-installscript.sh', arguments: `--post-install-sim-success ${camArgs}`, installedCriteria: 'contoso-virtual-camera-1.2-step-2' },
      },
    ],
  });
  const parentWithReference = await writeImportManifest(dir, 'seed-3-parent-reference.importmanifest.json', {
    updateId: { provider: 'DU-Client-Eng', name: 'MSOE-Update-Demo', version: '3.1' },
    compatibility,
    steps: [{ type: 'reference', description: 'Cameras Firmware Update', updateId: { provider: 'contoso', name: 'virtual-camera', version: '1.2' } }],
  });
  return { dir, oneInline, twoInline, parentWithReference, childCamera };
}

/** A Contoso-style inventory with two cameras and a motor; each component's `path` is a folder under `root`. */
export async function writeCameraInventory(root: string): Promise<string> {
  const comp = (id: string, name: string, group: string, model: string) => ({
    id,
    name,
    group,
    manufacturer: 'contoso',
    model,
    properties: { path: join(root, 'devices', id), firmwareDataFile: 'firmware.json' },
  });
  const components = [
    comp('contoso-camera-serial-00000', 'front-camera', 'cameras', 'virtual-camera'),
    comp('contoso-camera-serial-00001', 'rear-camera', 'cameras', 'virtual-camera'),
    comp('contoso-motor-serial-00000', 'left-motor', 'motors', 'virtual-motor'),
  ];
  for (const c of components) {
    await mkdir(c.properties.path, { recursive: true });
    await writeFile(join(c.properties.path, 'firmware.json'), JSON.stringify({ version: '1.0', description: c.name }) + '\n');
  }
  const path = join(root, 'components-inventory.json');
  await writeFile(path, JSON.stringify({ components }, null, 2) + '\n');
  return path;
}
