import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoPath } from '../repo-root.js';
import { copyScript, writeImportManifest } from '../updates/import-manifest-builder.js';

/**
 * A two-level update for hub tests, runnable on any Linux through `microsoft/script:1`:
 * parent `sp-test/hub-parent/<version>` = a host step, then a reference step to the child
 * `sp-test/hub-cameras/<version>` (group `cameras`, one firmware step per camera). The firmware
 * step's installedCriteria is `cam-<version>`, so a second deployment finds everything installed.
 * With `sleepy`, the firmware install runs `sleepy-installscript.sh` (hangs while `$SLEEPY_MARKER`
 * is set: a long transfer to cancel or to kill the agent in; with `$SLEEPY_GATE` also set, it waits
 * only until that file exists, then installs as usual: a transfer that ends when the test says so).
 */
export interface SampleUpdateOptions {
  version?: string;
  sleepy?: boolean;
  /**
   * Adds a binary image of this many bytes to the camera step (downloaded and verified, not
   * copied by the script: the inventory reads `firmware.json` back, so that stays small JSON).
   */
  imageBytes?: number;
  /** `arguments` of the host step, e.g. `--restart-to-apply` (apply → 705) or `--restart-agent-to-apply` (707). */
  hostArguments?: string;
}

export interface SampleUpdate {
  dir: string;
  parent: string;
  child: string;
  firmwareName: string;
  /** The binary image's file name, when `imageBytes` was given. */
  imageName?: string;
}

export async function writeSampleUpdate(dir: string, o: SampleUpdateOptions = {}): Promise<SampleUpdate> {
  const version = o.version ?? '1.0';
  await copyScript(repoPath('hw-fixtures', 'scripts', 'component-installscript.sh'), dir, 'component-installscript.sh');
  // Like hw-fixtures/scripts/sleepy-installscript.sh, but runs its companion through `sh`: files
  // downloaded from the hub are not executable (only the step's scriptFileName is made so).
  await writeFile(
    join(dir, 'sleepy-installscript.sh'),
    [
      '#!/bin/sh',
      '# Hangs in --action-install while $SLEEPY_MARKER is set (writes its pid there first); otherwise component-installscript.sh.',
      'dir=$(dirname "$0")',
      'if [ -n "${SLEEPY_MARKER:-}" ]; then',
      '  case " $* " in *" --action-install "*)',
      '    echo $$ > "$SLEEPY_MARKER"',
      '    if [ -z "${SLEEPY_GATE:-}" ]; then exec sleep 600; fi',
      '    while [ ! -e "$SLEEPY_GATE" ]; do sleep 0.05; done ;;',
      '  esac',
      'fi',
      'exec sh "$dir/component-installscript.sh" "$@"',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  const firmwareName = `camera-firmware-${version}.json`;
  await writeFile(join(dir, firmwareName), JSON.stringify({ version, description: 'camera firmware' }) + '\n');
  const imageName = o.imageBytes === undefined ? undefined : `camera-image-${version}.bin`;
  if (imageName) {
    const block = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < block.length; i++) block[i] = (i * 31 + 7) & 0xff;
    const fh = await open(join(dir, imageName), 'w');
    for (let left = o.imageBytes!; left > 0; left -= block.length)
      await fh.write(block.subarray(0, Math.min(left, block.length)));
    await fh.close();
  }
  const script = o.sleepy ? 'sleepy-installscript.sh' : 'component-installscript.sh';
  const childId = { provider: 'sp-test', name: 'hub-cameras', version };
  const child = await writeImportManifest(dir, `hub-cameras-${version}.importmanifest.json`, {
    updateId: childId,
    isDeployable: false,
    compatibility: [{ group: 'cameras' }],
    steps: [
      {
        description: 'camera firmware',
        handler: 'microsoft/script:1',
        files: [...new Set([script, 'component-installscript.sh']), firmwareName, ...(imageName ? [imageName] : [])],
        handlerProperties: {
          scriptFileName: script,
          arguments: `--firmware-file ${firmwareName} --component-name --component-name-val --component-prop path --component-prop-val path`,
          installedCriteria: `cam-${version}`,
        },
      },
    ],
  });
  const parent = await writeImportManifest(dir, `hub-parent-${version}.importmanifest.json`, {
    updateId: { provider: 'sp-test', name: 'hub-parent', version },
    compatibility: [{ manufacturer: 'sp-test', model: 'gateway' }],
    steps: [
      {
        description: 'host configuration',
        handler: 'microsoft/script:1',
        files: ['component-installscript.sh'],
        handlerProperties: {
          scriptFileName: 'component-installscript.sh',
          arguments: o.hostArguments ?? '',
          installedCriteria: `host-${version}`,
        },
      },
      { type: 'reference', description: 'cameras', updateId: childId },
    ],
  });
  return { dir, parent, child, firmwareName, ...(imageName && { imageName }) };
}
