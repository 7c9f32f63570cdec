import { constants } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { fail, pass, skip, type CheckGroup, type CheckResult } from './check.js';

/**
 * `config`: the gateway config was read and is valid (loaded by doctor-command before the checks;
 * a failure arrives here as `ctx.config` undefined with the error in `configError`).
 * `secrets`: every file the hub section names (connection string, X.509 cert and key, CA) is readable
 * by the running user and the connection string file holds a connection string.
 */
export function configChecks(configError: string | undefined): CheckGroup {
  return async ({ config, configPath, probes }) => {
    const out: CheckResult[] = [];
    if (configError !== undefined) {
      out.push(
        fail(
          'config',
          configError,
          configPath
            ? `fix ${configPath} (README "Gateway config", docs/gateway-config.schema.json); \`sensor-proxy doctor --config ${configPath}\` again`
            : 'pass --config /etc/sensor-proxy/gateway.json',
        ),
      );
      return out;
    }
    out.push(
      pass('config', configPath ? `${configPath} is valid` : 'no --config: built-in defaults (no buses, no hub)'),
    );
    const hub = config?.hub;
    if (!hub) {
      out.push(skip('secrets', 'no "hub" section: no secrets to read'));
      return out;
    }
    const abs = (f: unknown) => (isAbsolute(String(f)) ? String(f) : resolve(config!.baseDir, String(f)));
    const files: Array<[string, string]> = [];
    if (typeof hub.connectionStringFile === 'string')
      files.push(['connection string file', abs(hub.connectionStringFile)]);
    const x509 = hub.x509 as { certFile?: string; keyFile?: string } | undefined;
    if (x509?.certFile) files.push(['X.509 certificate', abs(x509.certFile)]);
    if (x509?.keyFile) files.push(['X.509 key', abs(x509.keyFile)]);
    if (typeof hub.caFile === 'string') files.push(['CA file', abs(hub.caFile)]);
    const problems: string[] = [];
    for (const [what, path] of files) {
      if (!(await probes.canAccess(path, constants.R_OK))) {
        problems.push(`${what} ${path} is missing or not readable by ${probes.user}`);
        continue;
      }
      if (what === 'connection string file') {
        const first = (await readFile(path, 'utf8')).split('\n')[0]?.trim() ?? '';
        if (!/HostName=[^;]+/i.test(first) || !/DeviceId=[^;]+/i.test(first))
          problems.push(`${path}: the first line is not a connection string (HostName=...;DeviceId=...;...)`);
      }
    }
    if (problems.length > 0) {
      out.push(
        fail(
          'secrets',
          problems.join('; '),
          `make each file exist and readable by root and the service group only: sudo chown root:sensor-proxy <file> && sudo chmod 0640 <file>`,
        ),
      );
    } else
      out.push(
        pass(
          'secrets',
          files.length ? `readable: ${files.map(([, p]) => p).join(', ')}` : 'connection string inline in the config',
        ),
      );
    return out;
  };
}
