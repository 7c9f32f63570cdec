/**
 * What the Device Update service does between "import" and "deploy" (`reference/adu-agent.md`
 * §5.3, §6.2): turn an import manifest (v5, files by name, reference steps by updateId) into the
 * update manifest the device receives (files keyed by generated ids, reference steps pointing at
 * a generated detached `*.updatemanifest.json` child file), sign it, publish every file on the
 * file server, and write the desired `deviceUpdate.service` property.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { TestSigner } from './adu-signer.js';
import type { IotHubEmulator } from './iot-hub-emulator.js';
import type { JsonObject } from './twin-store.js';
import type { UpdateFileServer } from './update-file-server.js';

type Obj = Record<string, any>;

export interface BuiltDeployment {
  /** The desired `deviceUpdate.service` value. */
  service: JsonObject;
  updateManifest: string;
  /** File name → file id, over the parent and all children. */
  fileIds: Record<string, string>;
  updateId: { provider: string; name: string; version: string };
}

export interface BuildOptions {
  importManifest: string;
  /** Folder of payloads and child import manifests. Default: the manifest's folder. */
  filesDir?: string;
  files: UpdateFileServer;
  signer: TestSigner;
  workflowId?: string;
  /** `service.rootKeyPackageUrl` (the service always sends one; tests without a package leave it out). */
  rootKeyPackageUrl?: string;
  retryTimestamp?: string;
  /** Send a mini manifest whose one file holds the full update manifest (§5.2). */
  mini?: boolean;
}

const fileId = () => 'f' + randomBytes(8).toString('hex');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('base64');
const idKey = (u: Obj) => `${u.provider}/${u.name}/${u.version}`.toLowerCase();

async function readJson(path: string): Promise<Obj> {
  return JSON.parse(await readFile(path, 'utf8')) as Obj;
}

/** Child import manifests in `dir` (any `*.json` with an updateId), keyed by provider/name/version. */
async function childIndex(dir: string): Promise<Map<string, Obj>> {
  const out = new Map<string, Obj>();
  for (const f of await readdir(dir)) {
    if (!f.endsWith('.json')) continue;
    const doc = await readJson(join(dir, f)).catch(() => undefined);
    if (doc?.updateId && doc.instructions) out.set(idKey(doc.updateId), doc);
  }
  return out;
}

class Builder {
  readonly fileUrls: Record<string, string> = {};
  readonly fileIds: Record<string, string> = {};
  constructor(
    private readonly dir: string,
    private readonly server: UpdateFileServer,
    private readonly scratch: string,
  ) {}

  /** Publishes a payload named in an import manifest; returns its update-manifest file entry. */
  async payload(entry: Obj): Promise<[string, Obj]> {
    const name = entry.filename ?? entry.fileName;
    const id = (this.fileIds[name] ??= fileId());
    this.fileUrls[id] = this.server.add(join(this.dir, name), name);
    return [
      id,
      {
        fileName: name,
        sizeInBytes: entry.sizeInBytes,
        hashes: entry.hashes,
        ...(entry.properties && { properties: entry.properties }),
      },
    ];
  }

  /** An update manifest (object) from an import manifest; children become detached files. */
  async manifest(doc: Obj, children: Map<string, Obj>): Promise<Obj> {
    const files: Obj = {};
    const byName = new Map<string, Obj>((doc.files ?? []).map((f: Obj) => [f.filename ?? f.fileName, f]));
    const steps: Obj[] = [];
    for (const s of doc.instructions.steps as Obj[]) {
      if (s.type === 'reference') {
        const child = children.get(idKey(s.updateId));
        if (!child) throw new Error(`deploy: no child import manifest for ${idKey(s.updateId)} in ${this.dir}`);
        const childManifest = JSON.stringify(await this.manifest(child, children));
        const u = child.updateId;
        const name = `${u.provider}.${u.name}.${u.version}.updatemanifest.json`.toLowerCase();
        const path = join(this.scratch, name);
        const bytes = Buffer.from(JSON.stringify({ updateManifest: childManifest }));
        await writeFile(path, bytes);
        const id = fileId();
        this.fileUrls[id] = this.server.add(path, name);
        files[id] = { fileName: name, sizeInBytes: bytes.length, hashes: { sha256: sha256(bytes) } };
        steps.push({ type: 'reference', detachedManifestFileId: id });
        continue;
      }
      const ids: string[] = [];
      for (const n of s.files as string[]) {
        const entry = byName.get(n);
        if (!entry) throw new Error(`deploy: step names ${n}, which the import manifest does not list`);
        const [id, f] = await this.payload(entry);
        files[id] = f;
        ids.push(id);
      }
      steps.push({ type: 'inline', handler: s.handler, files: ids, handlerProperties: s.handlerProperties ?? {} });
    }
    return {
      manifestVersion: '5',
      updateId: doc.updateId,
      compatibility: doc.compatibility,
      instructions: { steps },
      files,
      createdDateTime: new Date().toISOString(),
    };
  }
}

/** Builds and signs the deployment of `importManifest` (files published on `files`). */
export async function buildDeployment(o: BuildOptions): Promise<BuiltDeployment> {
  const dir = o.filesDir ?? dirname(o.importManifest);
  const doc = await readJson(o.importManifest);
  const scratch = await mkdtemp(join(tmpdir(), 'sp-hub-deploy-'));
  const b = new Builder(dir, o.files, scratch);
  const full = await b.manifest(doc, await childIndex(dir));
  let updateManifest = JSON.stringify(full);
  if (o.mini) {
    const name =
      `${doc.updateId.provider}.${doc.updateId.name}.${doc.updateId.version}.importmanifest.updatemanifest.json`.toLowerCase();
    const bytes = Buffer.from(JSON.stringify({ updateManifest }));
    const path = join(scratch, name);
    await writeFile(path, bytes);
    const id = fileId();
    b.fileUrls[id] = o.files.add(path, name);
    updateManifest = JSON.stringify({
      manifestVersion: '5',
      updateId: doc.updateId,
      detachedManifestFileId: id,
      files: { [id]: { fileName: name, sizeInBytes: bytes.length, hashes: { sha256: sha256(bytes) } } },
    });
  }
  const service: JsonObject = {
    workflow: {
      action: 3,
      id: o.workflowId ?? randomUUID(),
      ...(o.retryTimestamp && { retryTimestamp: o.retryTimestamp }),
    },
    ...(o.rootKeyPackageUrl !== undefined && { rootKeyPackageUrl: o.rootKeyPackageUrl }),
    updateManifest,
    updateManifestSignature: o.signer.sign(updateManifest),
    fileUrls: b.fileUrls,
  };
  return { service, updateManifest, fileIds: b.fileIds, updateId: doc.updateId };
}

/** Writes `service` as the device's desired `deviceUpdate.service` (replacing the previous one). */
export function setService(hub: IotHubEmulator, deviceId: string, service: JsonObject): number {
  return hub.setDesired(deviceId, { deviceUpdate: { __t: 'c', service } }, ['deviceUpdate.service']);
}

/** Builds, signs and deploys; returns what was deployed. */
export async function deployUpdate(hub: IotHubEmulator, deviceId: string, o: BuildOptions): Promise<BuiltDeployment> {
  const built = await buildDeployment(o);
  setService(hub, deviceId, built.service);
  return built;
}

/** The service's cancel: action 255, id `nodeployment`, large fields null (§6.2). */
export function cancelDeployment(hub: IotHubEmulator, deviceId: string): number {
  return setService(hub, deviceId, {
    workflow: { action: 255, id: 'nodeployment' },
    updateManifest: null,
    updateManifestSignature: null,
    fileUrls: null,
  });
}
