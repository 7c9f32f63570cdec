/**
 * The writable `deviceUpdate.service` property (cloud → device) and its IoT Plug and Play ACK
 * (`reference/adu-agent.md` §6.2-6.3, model `dtmi:azure:iot:deviceUpdate;2`).
 *
 * ```json
 * "service": { "workflow": {"action": 3, "id": "<uuid>", "retryTimestamp": "..."},
 *              "updateManifest": "<JSON string>", "updateManifestSignature": "<compact JWS>",
 *              "fileUrls": {"<fileId>": "<url>"}, "rootKeyPackageUrl": "<url>" }
 * ```
 */
import { INPUT_LIMITS, jsonSizeExceeds } from '../model/input-limits.js';
import { HubError } from './hub-error.js';

/** `ADUCITF_UpdateAction` values the agent acts on (§4.3); 0/1/2 are legacy and rejected. */
export const UpdateAction = {
  ProcessDeployment: 3,
  Cancel: 255,
} as const;

/** PnP component name and marker (`"__t": "c"`, IoT Plug and Play convention). */
export const COMPONENT = 'deviceUpdate';

export interface WorkflowRef {
  action: number;
  id: string;
  retryTimestamp?: string;
}

export interface ServiceRequest {
  workflow: WorkflowRef;
  /** The manifest exactly as the twin carries it (its bytes are what the signature covers). */
  updateManifest?: string;
  updateManifestSignature?: string;
  fileUrls: Record<string, string>;
  rootKeyPackageUrl?: string;
  /** Set when the desired document was over `INPUT_LIMITS.twinDesiredBytes` and was not kept (see {@link boundedDesired}). */
  oversize?: true;
  /** Its size in bytes, when known (the MQTT twin guard counts the message it dropped). */
  oversizeBytes?: number;
}

/**
 * Marks a `service` value that {@link boundedDesired} cut down (`true`) or that the MQTT twin guard
 * replaced (`twin-size-guard.ts`; the number of bytes it dropped); a `$` key cannot come from the
 * hub (IoT Hub reserves them), so it never collides with a real property.
 */
export const OVERSIZE_KEY = '$oversize';

/**
 * A private copy of the desired document the SDK hands over, bounded: when it would serialise to
 * more than `INPUT_LIMITS.twinDesiredBytes`, only `$version` and the small `workflow` of
 * `deviceUpdate.service` are kept, marked with {@link OVERSIZE_KEY}, so the deployment is refused
 * with a terminal report (MANIFEST_TOO_LARGE) instead of being copied, acknowledged and hashed at
 * full size. IoT Hub itself caps desired properties at 32 KB; this guards against anything else.
 */
export function boundedDesired(live: Record<string, unknown>): { desired: Record<string, unknown>; oversize: boolean } {
  if (!jsonSizeExceeds(live, INPUT_LIMITS.twinDesiredBytes)) return { desired: structuredClone(live), oversize: false };
  const desired: Record<string, unknown> = { $version: live.$version };
  const du = live[COMPONENT] as Record<string, unknown> | undefined;
  const service =
    typeof du === 'object' && du !== null ? (du.service as Record<string, unknown> | undefined) : undefined;
  if (typeof service === 'object' && service !== null) {
    const wf = service.workflow;
    const small = typeof wf === 'object' && wf !== null && !jsonSizeExceeds(wf, 4096);
    desired[COMPONENT] = { service: { workflow: small ? structuredClone(wf) : null, [OVERSIZE_KEY]: true } };
  }
  return { desired, oversize: true };
}

/**
 * Reads a desired `service` value. Null / missing large fields are fine (a cancel carries none).
 * @throws HubError `HUB_SERVICE_INVALID` when `workflow.action` / `workflow.id` are unusable.
 */
export function parseServiceRequest(v: unknown): ServiceRequest {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new HubError('HUB_SERVICE_INVALID', 'deviceUpdate.service is not an object');
  const s = v as Record<string, unknown>;
  const wf = s.workflow as Record<string, unknown> | null | undefined;
  if (typeof wf !== 'object' || wf === null)
    throw new HubError('HUB_SERVICE_INVALID', 'deviceUpdate.service.workflow is missing');
  if (typeof wf.action !== 'number' || !Number.isInteger(wf.action))
    throw new HubError('HUB_SERVICE_INVALID', 'deviceUpdate.service.workflow.action is not an integer');
  if (typeof wf.id !== 'string' || wf.id === '')
    throw new HubError('HUB_SERVICE_INVALID', 'deviceUpdate.service.workflow.id is not a non-empty string');
  const workflow: WorkflowRef = { action: wf.action, id: wf.id };
  if (typeof wf.retryTimestamp === 'string' && wf.retryTimestamp !== '') workflow.retryTimestamp = wf.retryTimestamp;
  const req: ServiceRequest = { workflow, fileUrls: {} };
  const oversize = s[OVERSIZE_KEY];
  if (oversize === true || (typeof oversize === 'number' && Number.isSafeInteger(oversize) && oversize > 0)) {
    req.oversize = true;
    if (typeof oversize === 'number') req.oversizeBytes = oversize;
  }
  // The service sends the manifest as a string; an object is accepted as the ADU agent does (§5.1).
  if (typeof s.updateManifest === 'string') req.updateManifest = s.updateManifest;
  else if (typeof s.updateManifest === 'object' && s.updateManifest !== null)
    req.updateManifest = JSON.stringify(s.updateManifest);
  if (typeof s.updateManifestSignature === 'string') req.updateManifestSignature = s.updateManifestSignature;
  if (typeof s.rootKeyPackageUrl === 'string' && s.rootKeyPackageUrl !== '')
    req.rootKeyPackageUrl = s.rootKeyPackageUrl;
  if (typeof s.fileUrls === 'object' && s.fileUrls !== null) {
    for (const [id, url] of Object.entries(s.fileUrls)) if (typeof url === 'string') req.fileUrls[id] = url;
  }
  return req;
}

/** `true` when two requests are the same deployment delivery: same id and same retry token. */
export function sameDelivery(a: WorkflowRef, b: WorkflowRef): boolean {
  return a.id === b.id && (a.retryTimestamp ?? '') === (b.retryTimestamp ?? '');
}

/** PnP ACK status codes (`PnP_CreateReportedPropertyWithStatus`, §6.3). */
export const AckCode = { Success: 200, BadRequest: 400 } as const;

/**
 * The reported ACK of a desired `service` value: `{value, ac, ad, av}` with `updateManifestSignature`
 * and `fileUrls` nulled to keep the twin small, exactly as the ADU agent writes it (§6.3).
 */
export function serviceAckPatch(
  service: unknown,
  desiredVersion: number,
  ac: number = AckCode.Success,
  ad = '',
): Record<string, unknown> {
  let value = service;
  if (typeof service === 'object' && service !== null && !Array.isArray(service)) {
    const { [OVERSIZE_KEY]: oversize, ...rest } = service as Record<string, unknown>;
    value = {
      ...rest,
      updateManifestSignature: null,
      fileUrls: null,
      ...(oversize !== undefined && { updateManifest: null }),
    };
  }
  return { [COMPONENT]: { __t: 'c', service: { value, ac, ad, av: desiredVersion } } };
}
