import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname, platform, arch } from 'node:os';
import { resolve } from 'node:path';
import type { Component } from '../model/component.js';
import { errorMessage } from '../model/errors.js';
import type { Logger } from '../model/logger.js';
import { readDeployments } from '../report/deployments.js';
import { renderReportHtml } from '../report/html.js';
import { readJournal, readLogFiles, type LogPart } from '../report/logs.js';
import { redactText, redactValue } from '../report/redact.js';
import { tarGz, type TarEntry } from '../report/tar-writer.js';
import { defaultConfig } from '../config/gateway-config.js';
import { buildGateway, loadConfig } from './gateway.js';
import { componentsTable } from './list-command.js';
import { ExitCode, formatHumanError } from './output.js';
import { packageVersion } from './version.js';

export interface ReportOptions {
  config?: string;
  inventories: string[];
  out?: string;
  /** Leave out the service journal (journalctl). */
  journal: boolean;
  log: (level: string) => Logger;
}

/** How long `list` may take inside a report before it is given up (a bus may hang). */
const LIST_TIMEOUT_MS = 60_000;

/**
 * `sensor-proxy report`: one .tar.gz a field engineer attaches to a ticket (README "Evidence
 * bundle"): version, the config with secrets redacted, `list` output, every recorded deployment
 * with its step × component results and timeline, the recent logs, and an offline `report.html`.
 * A broken config or a failing bus does not stop it: the bundle then says what failed.
 */
export async function reportCommand(o: ReportOptions, signal: AbortSignal): Promise<number> {
  const now = new Date();
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const host = hostname().replace(/[^A-Za-z0-9._-]/g, '_');
  const top = `sensor-proxy-report-${host}-${stamp}`;
  const out = resolve(o.out ?? `${top}.tar.gz`);
  const entries: TarEntry[] = [];
  const add = (name: string, data: string | Buffer) => entries.push({ name: `${top}/${name}`, data });

  const version = packageVersion();
  const runtime = `node ${process.version} ${platform()}/${arch()}`;
  add('version.txt', `sensor-proxy ${version}\n${runtime}\nhost ${hostname()}\ngenerated ${now.toISOString()}\n`);

  // The config: the file as written (redacted) and the effective settings with defaults.
  let configError: string | undefined;
  const config = await loadConfig(o.config).catch((e: unknown) => {
    configError = errorMessage(e);
    return defaultConfig();
  });
  if (o.config) {
    const raw = await readFile(o.config, 'utf8').catch((e: unknown) => `cannot read: ${errorMessage(e)}`);
    let redacted: string;
    try {
      redacted = JSON.stringify(redactValue(JSON.parse(raw)), null, 2) + '\n';
    } catch {
      redacted = redactText(raw);
    }
    add('config/gateway.json', redacted);
  }
  add('config/effective.json', JSON.stringify(redactValue(config), null, 2) + '\n');
  if (configError) add('config/error.txt', configError + '\n');

  // `list`
  let components: Component[] | undefined;
  let listError: string | undefined;
  try {
    const gw = buildGateway(config, o.log(config.logLevel), o.inventories);
    try {
      components = await gw.inventory.getAllComponents(AbortSignal.any([signal, AbortSignal.timeout(LIST_TIMEOUT_MS)]));
    } finally {
      await gw.inventory.close();
    }
  } catch (e) {
    listError = formatHumanError(e);
  }
  if (components) {
    add('list.txt', (components.length ? componentsTable(components) : 'no components found') + '\n');
    add('list.json', JSON.stringify(redactValue({ components }), null, 2) + '\n');
  } else add('list.txt', `list failed: ${listError}\n`);

  // Deployments: workflow state (per step × component results) and timelines.
  const { records, omitted } = await readDeployments(config.stateDir);
  for (const r of records) add(`deployments/${r.name}.json`, JSON.stringify(r, null, 2) + '\n');
  const agentState = await readFile(`${config.stateDir}/hub/agent.json`, 'utf8').catch(() => undefined);
  if (agentState !== undefined) {
    let text: string;
    try {
      text = JSON.stringify(redactValue(JSON.parse(agentState)), null, 2) + '\n';
    } catch {
      text = redactText(agentState);
    }
    add('hub/agent.json', text);
  }

  // Logs: the bounded log file and, for the service, its journal.
  const logs: LogPart[] = await readLogFiles(config.logFile);
  if (o.journal) logs.push(await readJournal());
  for (const l of logs) add(`logs/${l.name}`, l.text);

  const html = renderReportHtml({
    generatedAt: now.toISOString(),
    version,
    hostname: hostname(),
    runtime,
    configSource: o.config ? resolve(o.config) : 'built-in defaults (no --config)',
    ...(configError && { configError }),
    ...(components && { components: redactValue(components) as Component[] }),
    ...(listError && { listError }),
    deployments: records,
    omittedDeployments: omitted,
    logs: logs.map((l) => ({
      name: l.name,
      bytes: Buffer.byteLength(l.text),
      ...(l.truncatedFrom && { note: `last part of ${l.truncatedFrom} bytes` }),
      ...(l.missing && { note: l.text.trim() }),
    })),
  });
  add('report.html', html);
  add('README.txt', readme(top));

  // Written whole or not at all: a temp file beside the target, renamed.
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, tarGz(entries, now), { mode: 0o600 });
    await rename(tmp, out);
  } catch (e) {
    await rm(tmp, { force: true });
    process.stderr.write(`error [REPORT_WRITE]: cannot write ${out}: ${errorMessage(e)}\n`);
    return ExitCode.Failed;
  }
  process.stdout.write(`${out}\n`);
  const notes = [configError && 'the config did not load', listError && '`list` failed'].filter(Boolean);
  process.stderr.write(
    `report: ${records.length} deployment(s), ${logs.filter((l) => !l.missing).length} log file(s)${notes.length ? `; ${notes.join(', ')} (see the bundle)` : ''}\n`,
  );
  return ExitCode.Success;
}

function readme(top: string): string {
  return `sensor-proxy evidence bundle (sensor-proxy report). Secrets are redacted.

${top}/
  report.html            open in a browser (offline): components, each deployment's timeline and results
  version.txt            program version, runtime, host, time
  config/gateway.json    the config file as written, secrets redacted
  config/effective.json  the settings in force (defaults filled in), secrets redacted
  config/error.txt       why the config did not load (only then)
  list.txt, list.json    \`sensor-proxy list\` output (or why it failed)
  deployments/*.json     every recorded deployment: workflow state (step x component results) and timeline
  hub/agent.json         the IoT Hub agent's delivery records (when the agent ran)
  logs/                  the log file (logFile, and its rotated .1) and the service journal
`;
}
