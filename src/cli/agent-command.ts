import { createHubAgent } from '../hub/create-agent.js';
import type { Logger } from '../model/logger.js';
import type { RestartRequest } from '../workflow/restart-requests.js';
import { AGENT_RESTART_EXIT_CODE, requestReboot } from '../workflow/system-restart.js';
import { buildGateway, loadConfig, logFileOf } from './gateway.js';
import type { LogFileSettings } from './log-file.js';
import { ExitCode, formatHumanError } from './output.js';

export interface AgentOptions {
  config?: string;
  inventories: string[];
  log: (level: string, file?: LogFileSettings) => Logger;
}

/**
 * `sensor-proxy agent --config F`: connects to IoT Hub (config `hub`), serves the `deviceUpdate`
 * PnP component until SIGINT/SIGTERM. A deployment still running at shutdown is left to resume at
 * the next start, as is one cut short by a crash. A handler's reboot request runs `rebootCommand`;
 * an agent-restart request stops the agent with exit code 75 so the service manager starts it
 * again (`Restart=on-failure`); either way the deployment finishes after the restart.
 * Returns 0 after a clean stop, 2 for a config error, 75 for a requested restart.
 */
export async function agentCommand(o: AgentOptions, signal: AbortSignal): Promise<number> {
  let built;
  const restart = new AbortController();
  let restartRequested = false;
  try {
    const config = await loadConfig(o.config);
    const log = o.log(config.logLevel, logFileOf(config));
    const gateway = buildGateway(config, log, o.inventories);
    const onRestartRequested = async (request: RestartRequest): Promise<void> => {
      if (request.kind === 'reboot') {
        await requestReboot(config.rebootCommand, log);
        return;
      }
      log.warn({ exitCode: AGENT_RESTART_EXIT_CODE }, 'the update asked for an agent restart; exiting to be restarted');
      restartRequested = true;
      restart.abort(new Error('agent restart requested by an update'));
    };
    built = {
      ...createHubAgent({
        config,
        inventory: gateway.inventory,
        handlers: gateway.handlers,
        log,
        onRestartRequested,
      }),
      log,
      gateway,
    };
  } catch (e) {
    process.stderr.write(formatHumanError(e) + '\n');
    return ExitCode.Usage;
  }
  const { agent, log, gateway } = built;
  const stopped = AbortSignal.any([signal, restart.signal]);
  try {
    await agent.start(stopped);
    if (!stopped.aborted) {
      log.info('agent running; waiting for deployments');
      await new Promise<void>((resolve) => stopped.addEventListener('abort', () => resolve(), { once: true }));
    }
    log.info({ reason: String(stopped.reason) }, 'agent stopping');
    return restartRequested ? AGENT_RESTART_EXIT_CODE : ExitCode.Success;
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
