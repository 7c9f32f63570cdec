import { createHubAgent } from '../hub/create-agent.js';
import type { Logger } from '../model/logger.js';
import { buildGateway, loadConfig } from './gateway.js';
import { ExitCode, formatHumanError } from './output.js';

export interface AgentOptions {
  config?: string;
  inventories: string[];
  log: (level: string) => Logger;
}

/**
 * `sensor-proxy agent --config F`: connects to IoT Hub (config `hub`), serves the `deviceUpdate`
 * PnP component until SIGINT/SIGTERM. A deployment still running at shutdown is cancelled and
 * reported; one cut short by a crash is resumed at the next start. Logs JSON to stderr.
 * Returns 0 after a clean stop, 2 for a config error.
 */
export async function agentCommand(o: AgentOptions, signal: AbortSignal): Promise<number> {
  let built;
  try {
    const config = await loadConfig(o.config);
    const log = o.log(config.logLevel);
    const gateway = buildGateway(config, log, o.inventories);
    built = {
      ...createHubAgent({ config, inventory: gateway.inventory, handlers: gateway.handlers, log }),
      log,
      gateway,
    };
  } catch (e) {
    process.stderr.write(formatHumanError(e) + '\n');
    return ExitCode.Usage;
  }
  const { agent, log, gateway } = built;
  try {
    await agent.start(signal);
    if (!signal.aborted) {
      log.info('agent running; waiting for deployments');
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    }
    log.info({ reason: String(signal.reason) }, 'agent stopping');
    return ExitCode.Success;
  } catch (e) {
    // e.g. an unreadable agent state file: say what it is and what to do, not a stack trace.
    log.error({ err: e }, 'agent failed');
    process.stderr.write(formatHumanError(e) + '\n');
    return ExitCode.Failed;
  } finally {
    await agent.stop();
    await gateway.inventory.close();
  }
}
