/**
 * `microsoft/apt:1` with the ADU agent's contract (`src/extensions/step_handlers/apt_handler/src/apt_handler.cpp`,
 * `src/adu-shell/src/aptget_tasks.cpp`), on the host (never per component):
 *
 * ```text
 * IsInstalled  installedCriteria recorded as installed in the installed-criteria file → 900, else 901
 * Download     one file (the APT manifest) → apt-get update (failure only logged)
 *              → apt-get -y --allow-downgrades --download-only install <pkg[=ver]>...   → 500
 * Install      apt-get -y --allow-downgrades -o Dpkg::Options::=--force-confdef
 *                      -o Dpkg::Options::=--force-confold install <pkg[=ver]>...        → 600
 * Apply        record installedCriteria → 707 (immediate agent restart) when the manifest says
 *              agentRestartRequired or installs the agent's own package, else 700
 * Cancel       stops a running apt-get update / download (never dpkg mid-install)      → 800
 * ```
 *
 * The apt-get command is configurable (`aptGet`, an argv prefix) so a non-root service can run it
 * through sudo with a narrow rule, or a test through `chroot <root> apt-get`.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultStateDir } from '../../config/gateway-config.js';
import { SensorProxyError } from '../../model/errors.js';
import type { HandlerEnvironment, StepContext, StepHandler } from '../../model/handler.js';
import { ResultCode, result, type AducResult } from '../../model/result-codes.js';
import { AptErc } from './apt-erc.js';
import { isAptManifest, parseAptManifest, type AptManifest } from './apt-manifest.js';
import { isCriteriaInstalled, persistInstalledCriteria } from './installed-criteria-file.js';

export const APT_HANDLER_ID = 'microsoft/apt:1';

export interface AptHandlerConfig {
  /** argv prefix of apt-get. Default `["apt-get"]`; e.g. `["sudo", "-n", "/usr/bin/apt-get"]`. */
  aptGet: string[];
  /** Default `<stateDir>/installedcriteria`. */
  installedCriteriaFile: string;
  /** Run `apt-get update` before downloading (ADU does). Default true. */
  update: boolean;
  /** Limit of one apt-get run, s. Default 3600. */
  timeoutSeconds: number;
  /** Package name prefixes that mean "this update replaces the agent": agent restart after Apply. Default `["sensor-proxy"]`. */
  selfPackages: string[];
}

const KEYS = ['aptGet', 'installedCriteriaFile', 'update', 'timeoutSeconds', 'selfPackages'];

/** @throws SensorProxyError `CONFIG_INVALID` naming every bad key. */
export function resolveAptHandlerConfig(raw: Record<string, unknown>, stateDir?: string): AptHandlerConfig {
  const p: string[] = [];
  const path = `$.handlers["${APT_HANDLER_ID}"]`;
  for (const k of Object.keys(raw))
    if (!KEYS.includes(k)) p.push(`${path}.${k}: unknown key (known: ${KEYS.join(', ')})`);
  const strings = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string' && s !== '');
  if (raw.aptGet !== undefined && !strings(raw.aptGet)) p.push(`${path}.aptGet: must be a non-empty argv array`);
  if (
    raw.selfPackages !== undefined &&
    !(Array.isArray(raw.selfPackages) && raw.selfPackages.every((s) => typeof s === 'string' && s !== ''))
  )
    p.push(`${path}.selfPackages: must be an array of package names`);
  if (
    raw.installedCriteriaFile !== undefined &&
    (typeof raw.installedCriteriaFile !== 'string' || raw.installedCriteriaFile === '')
  )
    p.push(`${path}.installedCriteriaFile: must be a path`);
  if (raw.update !== undefined && typeof raw.update !== 'boolean') p.push(`${path}.update: must be true or false`);
  if (raw.timeoutSeconds !== undefined && !(typeof raw.timeoutSeconds === 'number' && raw.timeoutSeconds > 0))
    p.push(`${path}.timeoutSeconds: must be a number > 0`);
  if (p.length)
    throw new SensorProxyError('CONFIG_INVALID', `invalid ${APT_HANDLER_ID} config:\n  ${p.join('\n  ')}`, {
      details: { problems: p },
    });
  return {
    aptGet: (raw.aptGet as string[] | undefined) ?? ['apt-get'],
    installedCriteriaFile:
      (raw.installedCriteriaFile as string | undefined) ?? join(stateDir ?? defaultStateDir(), 'installedcriteria'),
    update: (raw.update as boolean | undefined) ?? true,
    timeoutSeconds: (raw.timeoutSeconds as number | undefined) ?? 3600,
    selfPackages: (raw.selfPackages as string[] | undefined) ?? ['sensor-proxy'],
  };
}

interface AptRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Last lines of stdout+stderr, for result details. */
  tail: string;
  error?: Error;
  timedOut: boolean;
}

export class AptHandler implements StepHandler {
  readonly id = APT_HANDLER_ID;
  readonly componentAware = false;

  constructor(
    readonly config: AptHandlerConfig,
    private readonly env: HandlerEnvironment,
  ) {}

  async isInstalled(ctx: StepContext): Promise<AducResult> {
    if (!ctx.installedCriteria) return result(ResultCode.IsInstalledNotInstalled, 0, 'no installedCriteria');
    return (await isCriteriaInstalled(this.config.installedCriteriaFile, ctx.installedCriteria))
      ? result(ResultCode.IsInstalledInstalled)
      : result(ResultCode.IsInstalledNotInstalled);
  }

  async download(ctx: StepContext): Promise<AducResult> {
    if (ctx.files.length !== 1)
      return result(
        ResultCode.Failure,
        AptErc.WrongFileCount,
        `microsoft/apt:1 expects one file (the APT manifest), got ${ctx.files.length}`,
      );
    if (!ctx.installedCriteria)
      return result(
        ResultCode.Failure,
        AptErc.MissingInstalledCriteria,
        "Property 'installedCriteria' in handlerProperties is missing or empty.",
      );
    const m = await this.manifest(ctx);
    if (!isAptManifest(m)) return m;
    if (this.config.update) {
      const u = await this.apt(ctx, ['update'], true);
      if (u.exitCode !== 0)
        ctx.log.warn({ exitCode: u.exitCode, output: u.tail }, 'apt-get update failed; downloading anyway');
    }
    const r = await this.apt(ctx, ['-y', '--allow-downgrades', '--download-only', 'install', ...m.packages], true);
    return this.outcome(ctx, r, 'download', AptErc.PackageDownloadFailure, ResultCode.DownloadSuccess);
  }

  async install(ctx: StepContext): Promise<AducResult> {
    const m = await this.manifest(ctx);
    if (!isAptManifest(m)) return m;
    // dpkg is never interrupted: a cancel waits for it (a half-configured package is worse).
    const r = await this.apt(
      ctx,
      [
        '-y',
        '--allow-downgrades',
        '-o',
        'Dpkg::Options::=--force-confdef',
        '-o',
        'Dpkg::Options::=--force-confold',
        'install',
        ...m.packages,
      ],
      false,
    );
    return this.outcome(ctx, r, 'install', AptErc.PackageInstallFailure, ResultCode.InstallSuccess);
  }

  async apply(ctx: StepContext): Promise<AducResult> {
    const m = await this.manifest(ctx);
    if (!isAptManifest(m)) return m;
    try {
      await persistInstalledCriteria(
        this.config.installedCriteriaFile,
        ctx.installedCriteria ?? `${m.name}-${m.version}`,
      );
    } catch (e) {
      return result(
        ResultCode.Failure,
        AptErc.InstalledCriteriaPersistFailure,
        `cannot record installedCriteria in ${this.config.installedCriteriaFile}: ${(e as Error).message}`,
      );
    }
    if (m.agentRestartRequired) {
      ctx.log.info({ packages: m.packages }, 'installed; the agent must restart for this update');
      return result(ResultCode.ApplyRequiredImmediateAgentRestart, 0, 'agent restart required');
    }
    return result(ResultCode.ApplySuccess);
  }

  async cancel(): Promise<AducResult> {
    return result(ResultCode.CancelSuccess); // the running apt-get update/download stops through ctx.signal
  }

  async backup(): Promise<AducResult> {
    return result(ResultCode.BackupSuccessUnsupported);
  }

  async restore(): Promise<AducResult> {
    return result(ResultCode.RestoreSuccessUnsupported);
  }

  private async manifest(ctx: StepContext): Promise<AptManifest | AducResult> {
    const file = ctx.files[0];
    if (!file)
      return result(ResultCode.Failure, AptErc.WrongFileCount, 'microsoft/apt:1 expects one file (the APT manifest)');
    let text: string;
    try {
      text = await readFile(file.path, 'utf8');
    } catch (e) {
      return result(
        ResultCode.Failure,
        AptErc.ParseBadFormat,
        `cannot read the APT manifest ${file.fileName}: ${(e as Error).message}`,
      );
    }
    return parseAptManifest(text, this.config.selfPackages);
  }

  private outcome(ctx: StepContext, r: AptRun, what: string, erc: number, success: number): AducResult {
    if (r.exitCode === 0) return result(success);
    if (ctx.signal.aborted) return result(ResultCode.FailureCancelled, 0, `apt-get ${what} cancelled`);
    if (r.error)
      return result(
        ResultCode.Failure,
        AptErc.AptGetNotStarted,
        `cannot run ${this.config.aptGet.join(' ')}: ${r.error.message}`,
      );
    if (r.timedOut)
      return result(
        ResultCode.Failure,
        AptErc.AptGetTimeout,
        `apt-get ${what} ran longer than ${this.config.timeoutSeconds} s`,
      );
    ctx.log.error({ exitCode: r.exitCode, signal: r.signal, output: r.tail }, `apt-get ${what} failed`);
    return result(
      ResultCode.Failure,
      erc,
      `apt-get ${what} failed (${r.signal ? `signal ${r.signal}` : `exit ${r.exitCode}`}): ${r.tail}`,
    );
  }

  /** Runs `<aptGet...> <args>`; `interruptible` runs stop on cancel (SIGTERM). */
  private apt(ctx: StepContext, args: string[], interruptible: boolean): Promise<AptRun> {
    const [file, ...prefix] = this.config.aptGet;
    ctx.log.info({ argv: [...this.config.aptGet, ...args] }, 'running apt-get');
    return new Promise((resolve) => {
      let out = '';
      let timedOut = false;
      const child = spawn(file!, [...prefix, ...args], {
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const keep = (d: Buffer) => {
        out = (out + d.toString()).slice(-4000);
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      const stop = () => child.kill('SIGTERM');
      if (interruptible) ctx.signal.addEventListener('abort', stop, { once: true });
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, this.config.timeoutSeconds * 1000);
      const done = (r: Omit<AptRun, 'tail' | 'timedOut'>) => {
        clearTimeout(timer);
        ctx.signal.removeEventListener('abort', stop);
        const tail = out.trim().split('\n').slice(-6).join(' | ').slice(-900);
        resolve({ ...r, tail, timedOut });
      };
      child.on('error', (error) => done({ exitCode: null, signal: null, error }));
      child.on('close', (exitCode, signal) => done({ exitCode, signal }));
    });
  }
}

export function createAptHandler(env: HandlerEnvironment): AptHandler {
  return new AptHandler(resolveAptHandlerConfig(env.config, env.stateDir), env);
}
