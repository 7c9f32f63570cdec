import { buildGateway, loadConfig } from './gateway.js';
import { ExitCode, errorObject, formatHumanError, table, writeJsonLine } from './output.js';
import { componentRemedy, componentStatus, type Component } from '../model/component.js';
import type { Logger } from '../model/logger.js';

/** Two lines for a sensor that is not present: what was seen, and what to check. */
function remedyLines(c: Component): string {
  const detail = c.properties.statusDetail;
  const remedy = componentRemedy(c);
  return (
    `${c.name} (${c.id}) is ${componentStatus(c)}${typeof detail === 'string' && detail ? `: ${detail}` : ''}` +
    (remedy ? `\n  check: ${remedy}` : '')
  );
}

/**
 * `sensor-proxy list`: the merged component inventory as a table with each sensor's status
 * (`present` / `absent` / `unreachable`) and, below it, what to check for each one not present;
 * or `{"components":[...]}` JSON (top-level `status`, `properties.statusDetail`, `properties.remedy`).
 */
export async function listCommand(
  o: { config?: string; inventories: string[]; json: boolean; log: (level: string) => Logger },
  signal: AbortSignal,
): Promise<number> {
  try {
    const config = await loadConfig(o.config);
    const gw = buildGateway(config, o.log(config.logLevel), o.inventories);
    try {
      const components = await gw.inventory.getAllComponents(signal);
      if (o.json) {
        process.stdout.write(JSON.stringify({ components }, null, 2) + '\n');
      } else if (components.length === 0) {
        process.stdout.write('no components found (add enumerators to the config, or pass --inventory FILE)\n');
      } else {
        process.stdout.write(componentsTable(components) + '\n');
      }
      return ExitCode.Success;
    } finally {
      await gw.inventory.close();
    }
  } catch (e) {
    if (signal.aborted) {
      // SIGINT/SIGTERM: not a usage error (src/cli/shutdown.ts ends the process).
      process.stderr.write('list cancelled\n');
      return ExitCode.Failed;
    }
    if (o.json) writeJsonLine({ type: 'error', ...errorObject(e) });
    else process.stderr.write(formatHumanError(e) + '\n');
    return ExitCode.Usage;
  }
}

/**
 * The `list` table: one row per component (id, name, group, manufacturer, model, version, status),
 * then, for each sensor not present, what was seen and what to check.
 */
export function componentsTable(components: Component[]): string {
  const version = (c: Component) => {
    const v = c.version ?? c.properties.version;
    return typeof v === 'string' || typeof v === 'number' ? String(v) : '';
  };
  const rows = table(
    ['id', 'name', 'group', 'manufacturer', 'model', 'version', 'status'],
    components.map((c) => [c.id, c.name, c.group, c.manufacturer, c.model, version(c), componentStatus(c)]),
  );
  const notPresent = components.filter((c) => componentStatus(c) !== 'present');
  return notPresent.length > 0 ? `${rows}\n\n${notPresent.map(remedyLines).join('\n')}` : rows;
}
