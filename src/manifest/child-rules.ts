/**
 * Rules for a referenced (child) update, on top of its own manifest's rules
 * (`reference/adu-agent.md` §5.1, seeds/002 "Parent updates and child updates"):
 * - a child update can't contain reference steps (one nesting level only; the service enforces
 *   it at import time);
 * - an imported child must have `isDeployable: false` (`tools/AduCmdlets/AduUpdate.psm1`).
 * An update manifest's children carry no `isDeployable` (the service drops it), so that rule only
 * applies to import manifests.
 */
import type { Update } from '../model/update.js';
import { Violations } from './violations.js';

/**
 * Checks that `update` may be used as a child of a reference step.
 * @param source Names the child in messages (its path).
 * @throws SensorProxyError `MANIFEST_INVALID` listing every violation, as the parsers do.
 */
export function assertChildUpdate(update: Update, source: string): void {
  const out = new Violations();
  update.steps.forEach((step, i) => {
    if (step.type === 'reference') {
      out.add(
        `$.instructions.steps[${i}]`,
        'child: no reference steps',
        "a child update can't contain reference steps",
      );
    }
  });
  if (update.kind === 'import' && update.isDeployable !== false) {
    out.add('$.isDeployable', 'child: const false', 'must be false for a referenced (child) update');
  }
  out.throwIfAny(source, 'child update');
}
