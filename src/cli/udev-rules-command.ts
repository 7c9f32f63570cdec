import { loadConfig } from './gateway.js';
import { ExitCode, formatHumanError } from './output.js';
import { udevRulesFor } from './udev-rules.js';

/** `sensor-proxy udev-rules [--config F]`: the udev rules for the config's sensors, on stdout. */
export async function udevRulesCommand(o: { config?: string }): Promise<number> {
  try {
    process.stdout.write(udevRulesFor(await loadConfig(o.config)));
    return ExitCode.Success;
  } catch (e) {
    process.stderr.write(formatHumanError(e) + '\n');
    return ExitCode.Usage;
  }
}
