import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { openUsbBackend } from '../../drivers/usb/open-backend.js';
import { childLog } from '../../drivers/shared/child-log.js';
import { CancelledError, isCancelled } from '../../drivers/shared/errors.js';
import type { GatewayConfig } from '../config/gateway-config.js';
import { resolveDfuHandlerConfig } from '../handlers/dfu/dfu-config.js';
import { SensorProxyError } from '../model/errors.js';
import type { StepContext } from '../model/handler.js';
import type { Logger } from '../model/logger.js';
import { dryRun } from '../workflow/dry-run.js';
import { planQuickFlash } from '../workflow/quick/quick-plan.js';
import { VersionRecordingHandler, type VersionRecord } from '../workflow/quick/version-recorder.js';
import { WorkflowStateStore } from '../workflow/workflow-state.js';
import { executePlan, pickRenderer, reportCancelledBeforeRun, reportInputError } from './flash-command.js';
import { buildGateway, loadConfig, type Gateway } from './gateway.js';
import { assertCanTargetsAnswer, canReachOf } from './quick-flash/can-reachability.js';
import { checkImage } from './quick-flash/image-check.js';
import { resolveTargets, type ResolvedTarget, type TargetEnvironment } from './quick-flash/resolve-targets.js';
import { parseQuickFlashFlags, type QuickProtocol } from './quick-flash/target-flags.js';
import { ExitCode, table, writeJsonLine } from './output.js';

export interface QuickFlashOptions {
  image: string;
  /** The parsed command-line values (target and protocol flags). */
  values: Record<string, string | boolean | string[] | undefined>;
  config?: string;
  dryRun: boolean;
  json: boolean;
  log: (level: string) => Logger;
}

const HANDLER_OF: Record<QuickProtocol, string> = {
  smp: 'sensor-proxy/smp:1',
  ymodem: 'sensor-proxy/ymodem:1',
  uds: 'sensor-proxy/uds:1',
  dfu: 'sensor-proxy/dfu:1',
};

/**
 * `sensor-proxy flash <image> --protocol P <target>...`: flashes one image into one or more
 * sensors without a manifest. Everything that can be wrong is checked before any bus is touched
 * (flags, image, targets, duplicates: exit 2); then the flash is an in-memory update run by the
 * workflow engine like any manifest (planQuickFlash), targets on different paths in parallel.
 */
export async function quickFlashCommand(o: QuickFlashOptions, signal: AbortSignal): Promise<number> {
  let gateway: Gateway | undefined;
  let state: WorkflowStateStore | undefined;
  try {
    const req = parseQuickFlashFlags(resolve(o.image), o.values);
    const config = await loadConfig(o.config);
    const log = o.log(config.logLevel);
    gateway = buildGateway(config, log);
    await assertFile(req.image);
    const dfuCfg = () => resolveDfuHandlerConfig(config.handlers[HANDLER_OF.dfu] ?? {});
    const env = targetEnvironment(gateway, () => dfuCfg(), signal);
    // The image first when the protocol is known: a bad image then costs no look at any device.
    const early = req.protocol
      ? await checkImage(req.image, req.protocol, { dfuRequireSuffix: dfuCfg().requireSuffix })
      : undefined;
    const { protocol, targets } = await resolveTargets(req.targets, req.protocol, env);
    const facts = early ?? (await checkImage(req.image, protocol, { dfuRequireSuffix: dfuCfg().requireSuffix }));
    const hp = { ...req.handlerProperties };
    if (hp.installedCriteria === undefined && facts.version !== undefined) hp.installedCriteria = facts.version;
    checkProtocolSettings(protocol, hp, config);
    const criteria = typeof hp.installedCriteria === 'string' ? hp.installedCriteria : undefined;

    const handler = new VersionRecordingHandler(gateway.handlers.get(HANDLER_OF[protocol]), {
      alwaysInstall: req.force || criteria === undefined,
    });
    if (protocol === 'uds') await readCanTargets(targets, handler, hp, criteria, log, signal);
    const sha256 = await sha256File(req.image, signal);
    const plan = await planQuickFlash(
      {
        image: req.image,
        sha256,
        sizeInBytes: facts.sizeInBytes,
        handler,
        handlerProperties: hp,
        components: targets.map((t) => t.component),
        workDir: config.workDir,
      },
      signal,
    );
    const store = new WorkflowStateStore(config.stateDir, plan.workflowId);
    await store.lock();
    state = store;
    const intro = {
      type: 'quick-flash',
      image: req.image,
      sha256,
      sizeInBytes: facts.sizeInBytes,
      protocol,
      handler: HANDLER_OF[protocol],
      ...(criteria !== undefined && { version: criteria }),
      targets: targets.map((t) => ({ componentId: t.component.id, target: t.label })),
    };
    if (o.json) writeJsonLine(intro);
    else
      process.stderr.write(
        `flashing ${basename(req.image)} (${facts.sizeInBytes} bytes, sha256 ${sha256.slice(0, 16)}…` +
          `${criteria !== undefined ? `, version ${criteria}` : ''}) over ${protocol} ` +
          `to ${targets.map((t) => t.label).join(', ')}\n`,
      );

    if (o.dryRun) {
      const report = await dryRun(plan, { signal, log });
      const rows = targets.map((t) => {
        const e = report.entries.find((x) => x.componentId === t.component.id);
        const v = handler.versions.get(t.component.id);
        return {
          componentId: t.component.id,
          target: t.label,
          versionBefore: v?.before ?? null,
          would: e?.action === 'skip-installed' ? 'skip (already installed)' : 'flash',
          isInstalled: e?.isInstalled,
        };
      });
      if (o.json)
        writeJsonLine({ type: 'result', dryRun: true, succeeded: true, workflowId: plan.workflowId, targets: rows });
      else
        process.stdout.write(
          `dry run: image and targets checked, nothing written\n` +
            table(
              ['target', 'component', 'running', 'would'],
              rows.map((r) => [
                r.target,
                r.componentId,
                r.versionBefore ?? noteOf(handler.versions.get(r.componentId)),
                r.would,
              ]),
            ) +
            '\n',
        );
      return ExitCode.Success;
    }
    const emit = pickRenderer(o.json);
    emit.components(targets.map((t) => t.component));
    return await executePlan({
      plan,
      state,
      config,
      log,
      emit,
      signal,
      json: o.json,
      label: `quick flash of ${basename(req.image)}`,
      reboot: false,
      summary: () => versionSummary(targets, handler.versions),
    });
  } catch (e) {
    if (isCancelled(e) || signal.aborted) return reportCancelledBeforeRun(e, o.json);
    return reportInputError(e, o.json);
  } finally {
    await state?.suspend();
    await gateway?.inventory.close();
  }
}

/**
 * Asks every CAN target for its running version at once, before the plan exists and anything is
 * written: the versions are recorded for the "before" column, and an id nobody answers is refused
 * with exit 2 (assertCanTargetsAnswer) instead of failing the flash minutes later.
 */
async function readCanTargets(
  targets: ResolvedTarget[],
  handler: VersionRecordingHandler,
  handlerProperties: Record<string, unknown>,
  installedCriteria: string | undefined,
  log: Logger,
  signal: AbortSignal,
): Promise<void> {
  const reach = await Promise.all(
    targets.map(async (target) => {
      const ctx: StepContext = {
        workflowId: 'quick-flash-probe',
        updateId: { provider: 'sensor-proxy', name: 'quick-flash', version: installedCriteria ?? '' },
        step: '0.0',
        handlerId: handler.id,
        handlerProperties,
        installedCriteria,
        files: [],
        workFolder: '',
        component: target.component,
        signal,
        log: childLog(log, { componentId: target.component.id }),
        onProgress: () => {},
        onPhase: () => {},
      };
      const { error } = await handler.readBefore(ctx);
      if (signal.aborted) throw new CancelledError('cancelled while reading the targets');
      return { target, reach: canReachOf(error) };
    }),
  );
  assertCanTargetsAnswer(reach);
}

function versionSummary(
  targets: ResolvedTarget[],
  versions: Map<string, VersionRecord>,
): { json: Record<string, unknown>; lines: string[] } {
  const rows = targets.map((t) => {
    const v = versions.get(t.component.id);
    return {
      componentId: t.component.id,
      target: t.label,
      versionBefore: v?.before ?? null,
      versionAfter: v?.after ?? null,
      ...(v?.beforeNote && { versionBeforeNote: v.beforeNote }),
      ...(v?.afterNote && { versionAfterNote: v.afterNote }),
    };
  });
  return {
    json: { targets: rows },
    lines: [
      table(
        ['target', 'component', 'version before', 'version after'],
        rows.map((r) => [
          r.target,
          r.componentId,
          r.versionBefore ?? `? (${r.versionBeforeNote ?? 'not read'})`,
          r.versionAfter ?? (r.versionAfterNote ? `? (${r.versionAfterNote})` : '-'),
        ]),
      ),
    ],
  };
}

const noteOf = (v: VersionRecord | undefined) => `? (${v?.beforeNote ?? 'not read'})`;

/** What the handler needs beyond the target and cannot default: UDS's download address. */
function checkProtocolSettings(protocol: QuickProtocol, hp: Record<string, unknown>, config: GatewayConfig): void {
  if (
    protocol === 'uds' &&
    hp.memoryAddress === undefined &&
    config.handlers[HANDLER_OF.uds]?.memoryAddress === undefined
  )
    throw new SensorProxyError('CLI_USAGE', 'uds needs the download start address: --address 0x…', {
      hint: 'e.g. --address 0x08000000, or set handlers["sensor-proxy/uds:1"].memoryAddress in the gateway config',
    });
}

async function assertFile(path: string): Promise<void> {
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile())
    throw new SensorProxyError('FILE_MISSING', `image ${path} ${st ? 'is not a file' : 'does not exist'}`, {
      details: { image: path },
      hint: 'the first argument is the firmware file to flash',
    });
}

async function sha256File(path: string, signal: AbortSignal): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { signal })) h.update(chunk as Buffer);
  return h.digest('hex');
}

function targetEnvironment(
  gateway: Gateway,
  dfu: () => ReturnType<typeof resolveDfuHandlerConfig>,
  signal: AbortSignal,
): TargetEnvironment {
  return {
    async statPort(path) {
      const st = await stat(path).catch(() => undefined);
      if (!st) return undefined;
      return { charDevice: st.isCharacterDevice(), realPath: await realpath(path) };
    },
    async canInterfaceExists(iface) {
      return !!(await stat(`/sys/class/net/${iface}`).catch(() => undefined));
    },
    async listUsb() {
      const cfg = dfu();
      const devices = await openUsbBackend(cfg.backend, cfg.memoryBus).list();
      return devices.map((d) => ({
        vendorId: d.info.vendorId,
        productId: d.info.productId,
        serialNumber: d.info.serialNumber,
        portPath: d.info.portPath,
      }));
    },
    components: () => gateway.inventory.getAllComponents(signal),
  };
}
