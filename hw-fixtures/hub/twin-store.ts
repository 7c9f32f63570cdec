/**
 * One device twin as IoT Hub keeps it: desired and reported documents, each with its own
 * `$version`, changed by JSON merge patches (RFC 7386: `null` deletes a key). Reported patches are
 * also kept in order with a timestamp, so tests can assert the exact sequence the agent sent.
 */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export interface RecordedPatch {
  at: number;
  version: number;
  patch: JsonObject;
}

export function mergePatch(target: JsonObject, patch: JsonObject): JsonObject {
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$version') continue;
    if (v === null) delete target[k];
    else if (typeof v === 'object' && !Array.isArray(v)) {
      const cur = target[k];
      target[k] = mergePatch(typeof cur === 'object' && cur !== null && !Array.isArray(cur) ? cur : {}, v);
    } else target[k] = v;
  }
  return target;
}

export class DeviceTwin {
  desired: JsonObject = {};
  reported: JsonObject = {};
  desiredVersion = 1;
  reportedVersion = 1;
  readonly reportedPatches: RecordedPatch[] = [];

  /** Applies a desired patch; returns the patch as pushed to the device (with the new `$version`). */
  patchDesired(patch: JsonObject): JsonObject {
    mergePatch(this.desired, patch);
    this.desiredVersion++;
    return { ...patch, $version: this.desiredVersion };
  }

  patchReported(patch: JsonObject): number {
    mergePatch(this.reported, patch);
    this.reportedVersion++;
    this.reportedPatches.push({ at: Date.now(), version: this.reportedVersion, patch: structuredClone(patch) });
    return this.reportedVersion;
  }

  /** The GET answer body: `{"desired":{…,"$version":n},"reported":{…,"$version":m}}`. */
  document(): JsonObject {
    return {
      desired: { ...structuredClone(this.desired), $version: this.desiredVersion },
      reported: { ...structuredClone(this.reported), $version: this.reportedVersion },
    };
  }
}
