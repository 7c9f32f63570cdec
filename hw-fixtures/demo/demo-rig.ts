import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { copyScript, writeImportManifest } from '../updates/import-manifest-builder.js';
import { SCRIPT, writeCameraInventory } from '../updates/seed-updates.js';

export interface DemoRig {
  description: string;
  parentManifest: string;
  configPath: string;
  close(): Promise<void>;
}

/**
 * Everything `sensor-proxy demo` needs: simulated sensors, a gateway config that enumerates them,
 * and a parent update with a host step and one child update per sensor group.
 */
export async function startDemoRig(root: string): Promise<DemoRig> {
  const updates = join(root, 'updates');
  await mkdir(updates, { recursive: true });
  const inventory = await writeCameraInventory(join(root, 'sensors'));
  await copyScript(SCRIPT(), updates, 'host-installscript.sh');
  await copyScript(SCRIPT(), updates, 'camera-installscript.sh');
  await writeFile(join(updates, 'gateway-config-1.1.json'), JSON.stringify({ gateway: 'demo', version: '1.1' }) + '\n');
  await writeFile(join(updates, 'camera-firmware-2.0.json'), JSON.stringify({ version: '2.0', description: 'camera firmware' }) + '\n');
  const cameraArgs = '--firmware-file camera-firmware-2.0.json --component-name --component-name-val --component-group --component-group-val --component-prop path --component-prop-val path';
  const cameras = { provider: 'contoso', name: 'demo-cameras', version: '2.0' };
  await writeImportManifest(updates, 'contoso.demo-cameras.2.0.importmanifest.json', {
    updateId: cameras,
    isDeployable: false,
    compatibility: [{ group: 'cameras' }],
    steps: [
      {
        description: 'Camera firmware 2.0',
        handler: 'microsoft/script:1',
        files: ['camera-installscript.sh', 'camera-firmware-2.0.json'],
        handlerProperties: { scriptFileName: 'camera-installscript.sh', arguments: cameraArgs, installedCriteria: 'camera-2.0' },
      },
    ],
  });
  const parentManifest = await writeImportManifest(updates, 'contoso.demo-gateway.1.1.importmanifest.json', {
    updateId: { provider: 'contoso', name: 'demo-gateway', version: '1.1' },
    compatibility: [{ manufacturer: 'contoso', model: 'demo-gateway' }],
    steps: [
      {
        description: 'Gateway configuration (host step)',
        handler: 'microsoft/script:1',
        files: ['host-installscript.sh', 'gateway-config-1.1.json'],
        handlerProperties: { scriptFileName: 'host-installscript.sh', arguments: '--firmware-file gateway-config-1.1.json', installedCriteria: 'gateway-config-1.1' },
      },
      { type: 'reference', description: 'Cameras', updateId: cameras },
    ],
  });
  const configPath = join(root, 'gateway.json');
  await writeFile(
    configPath,
    JSON.stringify({ stateDir: join(root, 'state'), logLevel: 'warn', enumerators: [{ type: 'inventory', files: [inventory] }] }, null, 2) + '\n',
  );
  return { description: 'script-handled cameras (inventory enumerator)', parentManifest, configPath, close: async () => {} };
}
