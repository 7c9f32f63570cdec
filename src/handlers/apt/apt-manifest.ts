/**
 * The APT manifest of `microsoft/apt:1` (ADU `src/extensions/step_handlers/apt_handler`, `apt_parser.cpp`):
 *
 * ```json
 * { "name": "contoso-gateway", "version": "1.0.1",
 *   "packages": [ { "name": "sensor-proxy", "version": "1.2.0-1" }, { "name": "tree" } ],
 *   "agentRestartRequired": true }
 * ```
 *
 * `name` and `version` are required; `packages` (when present) must be non-empty, each with a
 * non-empty `name` and an optional `version` (becomes `name=version` for apt-get). As ADU does for
 * `deviceupdate-agent*`, a package whose name starts with one of the agent's own package names
 * implies `agentRestartRequired`.
 */
import { ResultCode, result, type AducResult } from '../../model/result-codes.js';
import { AptErc } from './apt-erc.js';

export interface AptManifest {
  name: string;
  version: string;
  /** apt-get arguments: `name` or `name=version`. */
  packages: string[];
  agentRestartRequired: boolean;
}

/** Names apt accepts (Debian policy §5.6.1) and versions (§5.6.12); anything else could be an option. */
const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
const PACKAGE_VERSION = /^[A-Za-z0-9.+~:-]+$/;

/** Parses the manifest text; a failure is the ADU result (`0x30000068` bad format, `0x30200002` bad package data). */
export function parseAptManifest(text: string, selfPackages: readonly string[]): AptManifest | AducResult {
  const bad = (erc: number, why: string) => result(ResultCode.Failure, erc, `APT manifest: ${why}`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return bad(AptErc.ParseBadFormat, `not JSON (${(e as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return bad(AptErc.ParseBadFormat, 'not an object');
  const o = doc as Record<string, unknown>;
  if (typeof o.name !== 'string') return bad(AptErc.ParseBadFormat, 'missing "name"');
  if (typeof o.version !== 'string') return bad(AptErc.ParseBadFormat, 'missing "version"');
  let agentRestartRequired = o.agentRestartRequired === true;
  const packages: string[] = [];
  if (o.packages !== undefined) {
    if (!Array.isArray(o.packages) || o.packages.length === 0)
      return bad(AptErc.InvalidPackageData, '"packages" must be a non-empty array');
    for (const [i, p] of o.packages.entries()) {
      const name = (p as { name?: unknown } | null)?.name;
      const version = (p as { version?: unknown } | null)?.version;
      if (typeof name !== 'string' || !PACKAGE_NAME.test(name))
        return bad(AptErc.InvalidPackageData, `packages[${i}].name ${JSON.stringify(name)} is not a package name`);
      if (version !== undefined && (typeof version !== 'string' || !PACKAGE_VERSION.test(version)))
        return bad(AptErc.InvalidPackageData, `packages[${i}].version ${JSON.stringify(version)} is not a version`);
      if (selfPackages.some((s) => name.startsWith(s))) agentRestartRequired = true;
      packages.push(version === undefined ? name : `${name}=${version}`);
    }
  }
  if (packages.length === 0) return bad(AptErc.InvalidPackageData, 'no packages to install');
  return { name: o.name, version: o.version, packages, agentRestartRequired };
}

export function isAptManifest(v: AptManifest | AducResult): v is AptManifest {
  return 'packages' in v;
}
