/**
 * One deployment from the twin, start to result: signature → manifest (full, or mini + detached
 * file) → plan (downloads and hash checks, component selection) → workflow engine. Everything that
 * can be wrong with the input fails before a handler runs. Transport-free: the agent reports.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ComponentInventory } from '../../enumerators/component-inventory.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import {
  isMiniManifest,
  MANIFEST_SIZE_LIMIT,
  parseDetachedManifestFile,
  parseJsonText,
  parseMiniManifest,
  parseUpdateManifest,
  readManifestText,
} from '../manifest/index.js';
import { INPUT_LIMITS, tooLarge } from '../model/input-limits.js';
import type { EventSink } from '../model/events.js';
import type { Logger } from '../model/logger.js';
import { ResultCode, result, type AducResult } from '../model/result-codes.js';
import type { Update } from '../model/update.js';
import { runWorkflow, type WorkflowOutcome } from '../workflow/engine.js';
import { resultFromError } from '../workflow/error-map.js';
import { planUpdate } from '../workflow/update-plan.js';
import { WorkflowStateStore } from '../workflow/workflow-state.js';
import type { HubConfig } from './hub-config.js';
import type { ParallelPolicy } from '../workflow/lanes.js';
import { HubErc, HubError, isHubError } from './hub-error.js';
import { HubFileSource } from './hub-file-source.js';
import { manifestDigest, verifyManifestSignature, type SignatureTrust } from './manifest-signature.js';
import { refreshRootKeys } from './root-key-refresh.js';
import { UpdateAction, type ServiceRequest } from './service-request.js';
import { childLog } from '../../drivers/shared/child-log.js';

export interface DeploymentDeps {
  inventory: ComponentInventory;
  /** Gateway config `referenceStepsOnHost` (see PlanInputs). */
  referenceStepsOnHost?: boolean;
  handlers: HandlerRegistry;
  stateDir: string;
  workDir: string;
  /** Parallel flashing policy (gateway config `parallel`, `onComponentFailure`). */
  parallel?: ParallelPolicy;
  hub: Pick<HubConfig, 'download'>;
  /** The trust anchors (`rootKeys`); a root key package adds to them and withdraws keys. */
  trust: SignatureTrust;
  /** The anchors are the built-in production roots (a test root key package is then refused). */
  productionAnchors?: boolean;
  log: Logger;
  emit: EventSink;
}

/** The end of a deployment: the engine's outcome, or a failure before any step ran. */
export type DeploymentEnd =
  | { kind: 'ran'; outcome: WorkflowOutcome; update: Update }
  | { kind: 'rejected'; result: AducResult; cancelled: boolean; update?: Update };

/** Error → result for failures before the engine: hub errors carry their ERC, the rest go through the engine's map. */
export function resultOfError(e: unknown, phase: string): AducResult {
  if (isHubError(e)) return result(ResultCode.Failure, e.erc, `${phase}: ${e.code}: ${e.message}`);
  return resultFromError(e, phase);
}

/**
 * Runs `req` (action 3). The workflow id names the persisted state and the work folder, so a run
 * interrupted by a crash or restart resumes its downloads and skips its finished steps.
 */
export async function runDeployment(
  req: ServiceRequest,
  deps: DeploymentDeps,
  signal: AbortSignal,
): Promise<DeploymentEnd> {
  const log = childLog(deps.log, { workflowId: req.workflow.id });
  let update: Update | undefined;
  try {
    if (req.workflow.action !== UpdateAction.ProcessDeployment) {
      throw new HubError(
        'HUB_SERVICE_INVALID',
        `workflow.action ${req.workflow.action} is not supported (3 process deployment, 255 cancel)`,
        { erc: HubErc.UnsupportedAction },
      );
    }
    assertTwinSizes(req);
    if (req.updateManifest === undefined || req.updateManifestSignature === undefined) {
      throw new HubError(
        'HUB_SERVICE_INVALID',
        'deviceUpdate.service has no updateManifest or no updateManifestSignature',
        { erc: HubErc.MissingDetachedManifest },
      );
    }
    // §5.4 step 1: the root key package decides which root and signing keys are in force.
    const keys = await refreshRootKeys(
      req.rootKeyPackageUrl,
      {
        anchors: deps.trust.rootKeys,
        productionAnchors: deps.productionAnchors ?? false,
        stateDir: deps.stateDir,
        workDir: deps.workDir,
        download: deps.hub.download,
      },
      req.workflow.id,
      log,
      signal,
    );
    const sig = verifyManifestSignature(req.updateManifest, req.updateManifestSignature, keys.trust);
    log.info(
      {
        rootKid: sig.rootKid,
        signingKid: sig.signingKid,
        rootKeyPackage: keys.source,
        rootKeyPackageVersion: keys.version,
      },
      'update manifest signature verified',
    );
    const fileSource = new HubFileSource({
      fileUrls: req.fileUrls,
      log: childLog(log, { component: 'hub.download' }),
      ...deps.hub.download,
    });
    const workFolder = join(deps.workDir, req.workflow.id.replace(/[^A-Za-z0-9._-]/g, '_'));
    update = await resolveManifest(req.updateManifest, fileSource, workFolder, signal);
    const plan = await planUpdate({
      workflowId: req.workflow.id,
      update,
      manifestSha256: sig.manifestSha256,
      workDir: deps.workDir,
      fileSource,
      inventory: deps.inventory,
      handlers: deps.handlers,
      ...(deps.referenceStepsOnHost !== undefined && { referenceStepsOnHost: deps.referenceStepsOnHost }),
      signal,
    });
    const state = new WorkflowStateStore(deps.stateDir, req.workflow.id);
    const outcome = await runWorkflow({
      plan,
      state,
      signal,
      log,
      emit: deps.emit,
      ...(deps.parallel && { parallel: deps.parallel }),
    });
    // Downloads of a finished deployment are not needed again (ADU deletes its sandbox); an
    // interrupted one keeps them so the resumed run does not download again.
    if (!outcome.suspended) {
      await rm(plan.rootWorkFolder, { recursive: true, force: true }).catch((e: unknown) =>
        log.warn({ err: e, folder: plan.rootWorkFolder }, 'could not remove the work folder'),
      );
    }
    return { kind: 'ran', outcome, update };
  } catch (e) {
    const r = resultOfError(e, 'deployment rejected before any step ran');
    log.error({ err: e, result: r }, 'deployment failed before the workflow ran');
    return {
      kind: 'rejected',
      result: r,
      cancelled: r.resultCode === ResultCode.FailureCancelled || signal.aborted,
      ...(update && { update }),
    };
  }
}

/** A compact JWS of a 3072-bit RS256 signature with its sjwk is about 3 KB; 64 KiB is plenty. */
const MAX_SIGNATURE_BYTES = 64 * 1024;

/**
 * The manifest and its signature are refused by their size before they are hashed, verified or
 * parsed; so is a desired document the link had to cut down (`boundedDesired`).
 * @throws SensorProxyError `MANIFEST_TOO_LARGE`.
 */
function assertTwinSizes(req: ServiceRequest): void {
  if (req.oversize)
    throw tooLarge('twin desired deviceUpdate', req.oversizeBytes, {
      ...MANIFEST_SIZE_LIMIT,
      limit: INPUT_LIMITS.twinDesiredBytes,
      what: 'desired property',
      hint: 'IoT Hub caps desired properties at 32 KB: check what wrote this twin',
    });
  const manifestBytes = Buffer.byteLength(req.updateManifest ?? '');
  if (manifestBytes > MANIFEST_SIZE_LIMIT.limit)
    throw tooLarge('twin deviceUpdate.service.updateManifest', manifestBytes, MANIFEST_SIZE_LIMIT);
  const signatureBytes = Buffer.byteLength(req.updateManifestSignature ?? '');
  if (signatureBytes > MAX_SIGNATURE_BYTES)
    throw tooLarge('twin deviceUpdate.service.updateManifestSignature', signatureBytes, {
      ...MANIFEST_SIZE_LIMIT,
      limit: MAX_SIGNATURE_BYTES,
      what: 'manifest signature',
      hint: 'a valid signature is about 3 KB: check what wrote this twin',
    });
}

/**
 * The twin's manifest string as an update: a full update manifest, or a mini manifest whose one
 * file (downloaded, hash-checked against the signed mini manifest) holds the full one (§5.2).
 */
async function resolveManifest(
  text: string,
  files: HubFileSource,
  workFolder: string,
  signal: AbortSignal,
): Promise<Update> {
  // Size and nesting are checked before parsing (MANIFEST_TOO_LARGE); syntax errors carry the position.
  const doc = parseJsonText(text, 'updateManifest');
  if (!isMiniManifest(doc)) return parseUpdateManifest(doc, 'updateManifest');
  const mini = parseMiniManifest(doc, 'updateManifest');
  // The detached manifest's size is signed: one over the limit is refused before it is downloaded.
  if (mini.file.sizeInBytes > MANIFEST_SIZE_LIMIT.limit)
    throw tooLarge(`detached manifest ${mini.file.fileName}`, mini.file.sizeInBytes, MANIFEST_SIZE_LIMIT);
  const path = await files.materialize(mini.file, workFolder, signal);
  return parseDetachedManifestFile(parseJsonText((await readManifestText(path)).text, path), path);
}

export { manifestDigest };
