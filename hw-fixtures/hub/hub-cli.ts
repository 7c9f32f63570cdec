#!/usr/bin/env node
/**
 * The IoT Hub emulator by hand (`node dist/hw-fixtures/hub/hub-cli.js …`):
 *
 *   start  [--dir DIR] [--port N] [--http-port N] [--device ID]...
 *          Runs the emulator (MQTT/TLS), the file server and an admin API until Ctrl-C. Writes
 *          DIR/hub.json (admin URL, connection strings) and DIR/gateway.hub.json (a ready "hub"
 *          config section trusting this run's CA and test root key). Default DIR ./hub-emulator, device gw-1.
 *          Also publishes DIR/rootkeypackage-1.json, a root key package signed by the test root.
 *   deploy <import-manifest> [--files DIR] [--device ID] [--workflow-id ID] [--mini] [--root-key-package FILE] [--dir DIR]
 *          Builds, signs and deploys the update to the running emulator (child import manifests are
 *          found beside the parent, or in --files). `rootKeyPackageUrl` names the published package,
 *          or FILE (served as is: e.g. an edited, no longer verifying copy).
 *   cancel [--device ID] [--dir DIR]     sets the service's cancel (action 255)
 *   twin   [--device ID] [--dir DIR]     prints the device twin (desired + reported)
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { testSigner } from './hub-rig.js';
import { cancelDeployment, deployUpdate } from './deploy.js';
import { buildRootKeyPackage } from './root-key-package.js';
import { IotHubEmulator } from './iot-hub-emulator.js';
import { UpdateFileServer } from './update-file-server.js';

const OPTIONS = {
  dir: { type: 'string' },
  port: { type: 'string' },
  'http-port': { type: 'string' },
  device: { type: 'string', multiple: true },
  files: { type: 'string' },
  'workflow-id': { type: 'string' },
  mini: { type: 'boolean' },
  'root-key-package': { type: 'string' },
} as const;

async function start(dir: string, port: number, httpPort: number, devices: string[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  const hub = await IotHubEmulator.start({ port });
  const files = await UpdateFileServer.start('127.0.0.1', httpPort);
  const signer = testSigner();
  for (const d of devices) hub.addDevice(d);
  const packagePath = join(dir, 'rootkeypackage-1.json');
  await writeFile(packagePath, buildRootKeyPackage({ version: 1, roots: [signer] }) + '\n');
  const defaultPackageUrl = files.add(packagePath);
  files.admin = async (req, body) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const b = body ? (JSON.parse(body) as Record<string, any>) : {};
    const device = (b.deviceId as string | undefined) ?? url.searchParams.get('device') ?? devices[0]!;
    if (url.pathname === '/admin/deploy') {
      const built = await deployUpdate(hub, device, {
        importManifest: b.importManifest,
        files,
        signer,
        ...(b.filesDir && { filesDir: b.filesDir }),
        ...(b.workflowId && { workflowId: b.workflowId }),
        ...(b.mini && { mini: true }),
        rootKeyPackageUrl: b.rootKeyPackage ? files.add(b.rootKeyPackage as string) : defaultPackageUrl,
      });
      return { status: 200, json: { workflow: built.service.workflow, updateId: built.updateId } };
    }
    if (url.pathname === '/admin/cancel')
      return { status: 200, json: { desiredVersion: cancelDeployment(hub, device) } };
    if (url.pathname === '/admin/twin') return { status: 200, json: hub.twin(device).document() };
    return { status: 404, json: { error: 'unknown admin endpoint' } };
  };
  const caFile = join(dir, 'hub-ca.pem');
  await writeFile(caFile, hub.pki.caCert);
  const admin = `http://127.0.0.1:${files.port}/admin`;
  await writeFile(
    join(dir, 'hub.json'),
    JSON.stringify(
      { admin, caFile, devices: Object.fromEntries(devices.map((d) => [d, hub.connectionString(d)])) },
      null,
      2,
    ) + '\n',
  );
  await writeFile(
    join(dir, 'gateway.hub.json'),
    JSON.stringify(
      { connectionString: hub.connectionString(devices[0]!), caFile, rootKeys: [signer.rootKey] },
      null,
      2,
    ) + '\n',
  );
  process.stdout.write(`IoT Hub emulator on 127.0.0.1:${hub.port} (MQTT/TLS), files and admin on ${admin}\n`);
  for (const d of devices) process.stdout.write(`  ${hub.connectionString(d)}\n`);
  process.stdout.write(`agent config "hub" section: ${join(dir, 'gateway.hub.json')}\n`);
  await new Promise<void>((r) => {
    process.once('SIGINT', r);
    process.once('SIGTERM', r);
  });
  await files.stop();
  await hub.stop();
}

async function admin(dir: string, path: string, body?: unknown): Promise<unknown> {
  const info = JSON.parse(await readFile(join(dir, 'hub.json'), 'utf8')) as { admin: string };
  const res = await fetch(`${info.admin}/${path}`, {
    method: body ? 'POST' : 'GET',
    body: body ? JSON.stringify(body) : null,
    signal: AbortSignal.timeout(30_000),
  });
  const json = (await res.json()) as unknown;
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

async function main(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  const [cmd, ...rest] = positionals;
  const dir = resolve(v.dir ?? 'hub-emulator');
  const device = v.device?.[0];
  switch (cmd) {
    case 'start':
      await start(dir, Number(v.port ?? 0), Number(v['http-port'] ?? 0), v.device ?? ['gw-1']);
      return 0;
    case 'deploy':
      if (rest.length !== 1) break;
      process.stdout.write(
        JSON.stringify(
          await admin(dir, 'deploy', {
            importManifest: resolve(rest[0]!),
            ...(v.files && { filesDir: resolve(v.files) }),
            ...(device && { deviceId: device }),
            ...(v['workflow-id'] && { workflowId: v['workflow-id'] }),
            ...(v.mini && { mini: true }),
            ...(v['root-key-package'] && { rootKeyPackage: resolve(v['root-key-package']) }),
          }),
        ) + '\n',
      );
      return 0;
    case 'cancel':
      process.stdout.write(JSON.stringify(await admin(dir, 'cancel', { ...(device && { deviceId: device }) })) + '\n');
      return 0;
    case 'twin':
      process.stdout.write(
        JSON.stringify(await admin(dir, `twin${device ? `?device=${encodeURIComponent(device)}` : ''}`), null, 2) +
          '\n',
      );
      return 0;
  }
  process.stderr.write(
    'usage: hub-cli start [--dir D] [--port N] [--http-port N] [--device ID]... | deploy <import-manifest> [--files DIR] [--device ID] [--workflow-id ID] [--mini] [--root-key-package FILE] | cancel | twin\n',
  );
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    process.stderr.write(`hub-cli: ${(e as Error).message}\n`);
    process.exitCode = 1;
  },
);
