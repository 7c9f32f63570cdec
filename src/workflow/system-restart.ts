/**
 * Carrying out a handler's reboot request (results 605/606/705/706, `reference/adu-agent.md` §8.3).
 * The ADU agent runs `adu-shell --update-action reboot` (`/sbin/reboot`) as root; sensor-proxy runs
 * as a non-root service, so the command is configurable (config `rebootCommand`) and the default,
 * `systemctl reboot`, goes through logind and polkit (the README shows the polkit rule a device
 * builder installs). Where the host has no systemd the default is a no-op with a warning: the
 * deployment finishes when the gateway is next started by other means.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { SensorProxyError } from '../model/errors.js';
import type { Logger } from '../model/logger.js';

export const DEFAULT_REBOOT_COMMAND: readonly string[] = Object.freeze(['systemctl', 'reboot']);

/**
 * Exit code of `sensor-proxy agent` when a handler asked for an agent restart (607/608, 707/708):
 * EX_TEMPFAIL. Non-zero, so a unit with `Restart=on-failure` (or `RestartForceExitStatus=75`)
 * starts the agent again; the deployment then resumes from its journal.
 */
export const AGENT_RESTART_EXIT_CODE = 75;

/** True when systemd is the running init (the test `sd_booted()` makes). */
export function systemdRunning(runDir = '/run/systemd/system'): boolean {
  return existsSync(runDir);
}

export type RebootOutcome = 'started' | 'skipped-no-systemd';

/**
 * Runs the reboot command and waits for it to exit. `systemctl reboot` returns once the reboot job
 * is queued; the service manager then stops the agent.
 * @throws SensorProxyError `REBOOT_FAILED` when the command cannot start or exits non-zero.
 */
export async function requestReboot(
  command: readonly string[] | undefined,
  log: Logger,
  opts: { timeoutMs?: number; systemdRunDir?: string } = {},
): Promise<RebootOutcome> {
  const argv = command ?? DEFAULT_REBOOT_COMMAND;
  if (!command && !systemdRunning(opts.systemdRunDir)) {
    log.warn(
      { command: argv },
      'a reboot is needed but this host does not run systemd; not rebooting (set "rebootCommand" in the config)',
    );
    return 'skipped-no-systemd';
  }
  log.warn({ command: argv }, 'rebooting the gateway as the update requested');
  const [file, ...args] = argv;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(file!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 2000) stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(
        new SensorProxyError('REBOOT_FAILED', `cannot run the reboot command ${argv.join(' ')}: ${e.message}`, {
          hint: 'set "rebootCommand" in the gateway config to a command the service user may run',
          cause: e,
        }),
      );
    });
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else
        reject(
          new SensorProxyError(
            'REBOOT_FAILED',
            `the reboot command ${argv.join(' ')} failed (${sig ? `signal ${sig}` : `exit ${code}`})${stderr ? `: ${stderr.trim()}` : ''}`,
            { hint: 'allow the service user to reboot (README: "Reboot and restart requests")' },
          ),
        );
    });
  });
  return 'started';
}
