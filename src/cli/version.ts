import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package version, read at run time from the `package.json` of the installed program: the
 * nearest one named `sensor-proxy` above this module (`dist/src/cli/` in a checkout,
 * `/usr/lib/sensor-proxy/dist/src/cli/` in the .deb, `node_modules/sensor-proxy/...` from npm), so
 * it is right however the program was laid out and from whatever working folder it runs.
 */
export function packageVersion(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'sensor-proxy' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no (readable, valid) package.json here: look further up
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}
