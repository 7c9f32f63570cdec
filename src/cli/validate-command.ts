import { dirname, resolve } from 'node:path';
import { assertChildUpdate, findChildImportManifest, loadManifestFile } from '../manifest/index.js';
import { updateIdLabel } from '../model/update.js';
import { ExitCode, errorObject, formatHumanError, writeJsonLine } from './output.js';

/**
 * `sensor-proxy validate <manifest>`: every import-time rule; for an import manifest with reference
 * steps, the child import manifests found beside it are validated as children too.
 * Exit 0 when valid, 1 with the errors otherwise.
 */
export async function validateCommand(o: { manifest: string; files?: string; json: boolean }): Promise<number> {
  const checked: string[] = [];
  try {
    const path = resolve(o.manifest);
    const { update } = await loadManifestFile(path);
    checked.push(`${path}: ${update.kind} manifest ${updateIdLabel(update.updateId)} (${update.steps.length} step(s))`);
    for (const step of update.steps) {
      if (step.type === 'reference' && step.updateId) {
        const child = await findChildImportManifest(resolve(o.files ?? dirname(path)), step.updateId);
        assertChildUpdate(child.update, child.path);
        checked.push(
          `${child.path}: child ${updateIdLabel(child.update.updateId)} (${child.update.steps.length} step(s))`,
        );
      }
    }
    if (o.json) writeJsonLine({ type: 'result', valid: true, checked });
    else process.stdout.write(`valid\n  ${checked.join('\n  ')}\n`);
    return ExitCode.Success;
  } catch (e) {
    if (o.json) writeJsonLine({ type: 'result', valid: false, checked, error: errorObject(e) });
    else process.stderr.write(formatHumanError(e) + '\n');
    return ExitCode.Failed;
  }
}
