/**
 * One IoT Hub test world per test: emulator (fresh device id and key), file server, test signer,
 * a temp folder with a camera inventory, and a gateway config for the agent that trusts the test
 * root key and the test CA. The agent runs in-process ({@link startAgent}) or as a real
 * `sensor-proxy agent` process ({@link spawnAgent}) for kill/restart tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { parseGatewayConfig } from '../../src/config/gateway-config.js';
import { buildGateway } from '../../src/cli/gateway.js';
import { createHubAgent } from '../../src/hub/create-agent.js';
import type { HubAgent } from '../../src/hub/hub-agent.js';
import type { HubLink } from '../../src/hub/hub-link.js';
import type { StepHandler } from '../../src/model/handler.js';
import type { WorkflowEvent } from '../../src/model/events.js';
import { writeCameraInventory } from '../updates/seed-updates.js';
import { TestSigner } from './adu-signer.js';
import { buildDeployment, setService, type BuildOptions, type BuiltDeployment } from './deploy.js';
import { IotHubEmulator } from './iot-hub-emulator.js';
import type { JsonObject } from './twin-store.js';
import { UpdateFileServer } from './update-file-server.js';

type Obj = Record<string, any>;

let sharedSigner: TestSigner | undefined;
/** One signer per process: RSA key generation is the slow part of a rig. */
export function testSigner(): TestSigner {
  return (sharedSigner ??= new TestSigner());
}

export interface HubRig {
  dir: string;
  hub: IotHubEmulator;
  files: UpdateFileServer;
  signer: TestSigner;
  deviceId: string;
  caFile: string;
  stateDir: string;
  /** Append-only argv log of every script run (`SENSOR_PROXY_SCRIPT_LOG`). */
  scriptLog: string;
  /** The agent's gateway config (object); `extra` is merged at the top level (`extra.scriptEnv`: more script environment). */
  config(extra?: Obj): Obj;
  writeConfig(extra?: Obj): Promise<string>;
  /** `deviceUpdate.agent` parts of every reported patch, in order. */
  agentReports(): Obj[];
  /** `deviceUpdate.service` ACKs, in order. */
  acks(): Obj[];
  /** Waits until a reported `agent` patch satisfies `pred`; returns it. */
  waitForReport(pred: (agent: Obj) => boolean, timeoutMs?: number, what?: string): Promise<Obj>;
  deploy(o: Omit<BuildOptions, 'files' | 'signer'>, tamper?: (s: JsonObject) => void): Promise<BuiltDeployment>;
  stop(): Promise<void>;
}

export async function startHubRig(): Promise<HubRig> {
  const dir = await mkdtemp(join(tmpdir(), 'sp-hub-'));
  const hub = await IotHubEmulator.start();
  const files = await UpdateFileServer.start();
  const signer = testSigner();
  const deviceId = `gw-${randomBytes(4).toString('hex')}`;
  hub.addDevice(deviceId);
  const caFile = join(dir, 'hub-ca.pem');
  await writeFile(caFile, hub.pki.caCert);
  const inventory = await writeCameraInventory(join(dir, 'devices-root'));
  const stateDir = join(dir, 'state');
  const scriptLog = join(dir, 'script.log');
  await mkdir(join(dir, 'host-state'), { recursive: true });
  const twin = () => hub.twin(deviceId);
  const agentReports = () =>
    twin()
      .reportedPatches.map((p) => (p.patch.deviceUpdate as Obj | undefined)?.agent)
      .filter((a): a is Obj => !!a && 'state' in a);
  const rig: HubRig = {
    dir,
    hub,
    files,
    signer,
    deviceId,
    caFile,
    stateDir,
    scriptLog,
    config(extra = {}) {
      const { handlers: extraHandlers, hub: extraHub, scriptEnv, ...rest } = extra;
      return {
        stateDir,
        workDir: join(dir, 'work'),
        logLevel: process.env.SP_TEST_LOG ?? 'silent',
        enumerators: [{ type: 'inventory', files: [inventory] }],
        handlers: {
          'microsoft/script:1': {
            killGraceMs: 200,
            env: { SENSOR_PROXY_HOST_STATE: join(dir, 'host-state'), SENSOR_PROXY_SCRIPT_LOG: scriptLog, ...scriptEnv },
          },
          ...extraHandlers,
        },
        hub: {
          connectionString: hub.connectionString(deviceId),
          caFile,
          manufacturer: 'sp-test',
          model: 'gateway',
          rootKeys: [signer.rootKey],
          download: { attempts: 3, retryDelayMs: 50, idleTimeoutMs: 5000 },
          twinTimeoutMs: 5000,
          reconnectMaxDelayMs: 500,
          ...extraHub,
        },
        ...rest,
      };
    },
    async writeConfig(extra) {
      const path = join(dir, 'gateway.json');
      await writeFile(path, JSON.stringify(this.config(extra), null, 2));
      return path;
    },
    agentReports,
    acks: () =>
      twin()
        .reportedPatches.map((p) => (p.patch.deviceUpdate as Obj | undefined)?.service)
        .filter((s): s is Obj => !!s),
    async waitForReport(pred, timeoutMs = 20_000, what = 'agent report') {
      await hub.waitFor(() => agentReports().some(pred), timeoutMs, what);
      return agentReports().find(pred)!;
    },
    async deploy(o, tamper) {
      const built = await buildDeployment({ ...o, files, signer });
      tamper?.(built.service);
      setService(hub, deviceId, built.service);
      return built;
    },
    async stop() {
      await files.stop();
      await hub.stop();
    },
  };
  return rig;
}

export interface InProcessAgent {
  agent: HubAgent;
  events: WorkflowEvent[];
  stop(): Promise<void>;
}

/** Starts the agent in this process on `rig.config(extra)`; extra handlers are registered over the built-ins. */
export async function startAgent(
  rig: HubRig,
  o: { extra?: Obj; handlers?: StepHandler[]; link?: HubLink } = {},
): Promise<InProcessAgent> {
  const config = parseGatewayConfig(rig.config(o.extra), join(rig.dir, 'gateway.json'));
  const log = pino({ level: config.logLevel });
  const gateway = buildGateway(config, log);
  for (const h of o.handlers ?? []) gateway.handlers.register(h.id, () => h);
  const events: WorkflowEvent[] = [];
  const { agent } = createHubAgent({
    config,
    inventory: gateway.inventory,
    handlers: gateway.handlers,
    log,
    emit: (e) => events.push(e),
    ...(o.link && { link: o.link }),
  });
  const controller = new AbortController();
  await agent.start(controller.signal);
  return {
    agent,
    events,
    async stop() {
      await agent.stop();
      controller.abort();
      await gateway.inventory.close();
    },
  };
}

/** `sensor-proxy agent --config <path>` as a child process (same loader as this process: dist JS or tsx). */
export function spawnAgent(configPath: string, env: Record<string, string> = {}): ChildProcess {
  const ts = import.meta.url.endsWith('.ts');
  const main = fileURLToPath(new URL(`../../src/cli/main.${ts ? 'ts' : 'js'}`, import.meta.url));
  return spawn(process.execPath, [...(ts ? ['--import', 'tsx'] : []), main, 'agent', '--config', configPath], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', process.env.SP_TEST_LOG ? 'inherit' : 'ignore'],
  });
}
