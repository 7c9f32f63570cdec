import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { parseGatewayConfig } from '../../src/config/gateway-config.js';
import { buildGateway } from '../../src/cli/gateway.js';
import { createHubAgent } from '../../src/hub/create-agent.js';
import type { WorkflowEvent } from '../../src/model/events.js';
import { resultCodeName } from '../../src/model/result-codes.js';
import { testSigner } from '../hub/hub-rig.js';
import { buildDeployment, setService } from '../hub/deploy.js';
import { buildRootKeyPackage } from '../hub/root-key-package.js';
import { IotHubEmulator } from '../hub/iot-hub-emulator.js';
import { UpdateFileServer } from '../hub/update-file-server.js';
import type { DemoRig } from './demo-rig.js';

type Obj = Record<string, any>;

export interface HubDemoOptions {
  rig: DemoRig;
  root: string;
  log: Logger;
  emit: (e: WorkflowEvent) => void;
  say: (s: string) => void;
  signal: AbortSignal;
}

/**
 * The cloud path of `make demo`: a local IoT Hub (TLS MQTT, SAS, twin) and file server,
 * the agent on the real `azure-iot-device` SDK, and two deployments of the demo's parent update,
 * signed as the ADU service signs them. Returns the two final `deviceUpdate.agent` reports.
 */
export async function runHubDemo(o: HubDemoOptions): Promise<Obj[]> {
  const hub = await IotHubEmulator.start();
  const files = await UpdateFileServer.start();
  const signer = testSigner();
  const deviceId = 'demo-gateway';
  hub.addDevice(deviceId);
  const caFile = join(o.root, 'hub-ca.pem');
  await writeFile(caFile, hub.pki.caCert);
  const base = JSON.parse(await readFile(o.rig.configPath, 'utf8')) as Obj;
  const config = parseGatewayConfig(
    {
      ...base,
      hub: {
        connectionString: hub.connectionString(deviceId),
        caFile,
        manufacturer: 'contoso',
        model: 'demo-gateway',
        rootKeys: [signer.rootKey],
      },
    },
    o.rig.configPath,
  );
  const gateway = buildGateway(config, o.log);
  const { agent } = createHubAgent({
    config,
    inventory: gateway.inventory,
    handlers: gateway.handlers,
    log: o.log,
    emit: o.emit,
  });
  const twin = hub.twin(deviceId);
  const agentReports = () =>
    twin.reportedPatches
      .map((p) => (p.patch.deviceUpdate as Obj | undefined)?.agent)
      .filter((a): a is Obj => !!a && 'state' in a);
  const finals: Obj[] = [];
  try {
    o.say(
      `local IoT Hub on ${hub.connectionString(deviceId).split(';')[0]} (MQTT over TLS), update files on ${files.url('')}; starting the agent (azure-iot-device SDK)`,
    );
    await agent.start(o.signal);
    // Like the Device Update service, every deployment names the root key package.
    const packagePath = join(o.root, 'rootkeypackage-1.json');
    await writeFile(packagePath, buildRootKeyPackage({ version: 1, roots: [signer] }) + '\n');
    const rootKeyPackageUrl = files.add(packagePath);
    for (const run of [
      'first deployment: installs',
      'second deployment of the same update: every step already installed',
    ]) {
      const built = await buildDeployment({ importManifest: o.rig.parentManifest, files, signer, rootKeyPackageUrl });
      const workflowId = (built.service.workflow as Obj).id as string;
      o.say(`${run} (workflow ${workflowId})`);
      const seen = agentReports().length;
      setService(hub, deviceId, built.service);
      await hub.waitFor(
        () =>
          agentReports()
            .slice(seen)
            .some((a) => a.workflow?.id === workflowId && a.state === 0),
        120_000,
        'the terminal report',
      );
      const final = agentReports()
        .slice(seen)
        .find((a) => a.workflow?.id === workflowId && a.state === 0)!;
      printReport(final, o.say);
      finals.push(final);
    }
    return finals;
  } finally {
    await agent.stop();
    await gateway.inventory.close();
    await files.stop();
    await hub.stop();
  }
}

function printReport(a: Obj, say: (s: string) => void): void {
  const last = a.lastInstallResult as Obj;
  const lines = [
    `reported deviceUpdate.agent: state ${a.state} (${a.state === 0 ? 'Idle' : a.state === 255 ? 'Failed' : a.state}), installedUpdateId ${a.installedUpdateId ?? '(none)'}`,
    `  lastInstallResult: resultCode ${last.resultCode} (${resultCodeName(last.resultCode)}), extendedResultCodes ${last.extendedResultCodes}`,
    ...Object.entries(last.stepResults as Obj).map(
      ([k, v]: [string, Obj]) =>
        `    ${k}: ${v.resultCode} ${resultCodeName(v.resultCode)} ${v.extendedResultCodes}${v.resultDetails ? ` ${v.resultDetails}` : ''}`,
    ),
  ];
  say(lines.join('\n'));
}
