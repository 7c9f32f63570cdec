import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BIT_TIMING_PRESETS } from '../../drivers/can/bit-timing.js';
import { MemoryCanNetwork } from '../../drivers/can/memory-bus.js';
import { getMemoryUsbBus } from '../../drivers/usb/memory-usb-bus.js';
import { EcuSimulator } from '../can/ecu-simulator.js';
import { makeFirmwareImage } from '../can/firmware-image.js';
import { MemoryDfuDevice } from '../usb/memory-dfu-device.js';
import { testImage as dfuTestImage } from '../usb/memory-rig.js';
import { startSmpRig, type SmpRig } from '../serial/smp-rig.js';
import { buildTestImage } from '../serial/test-image.js';
import { startYmodemRig, type YmodemRig } from '../serial/ymodem-rig.js';
import { copyScript, writeImportManifest, type ImportManifestSpec } from '../updates/import-manifest-builder.js';
import { SCRIPT, writeCameraInventory } from '../updates/seed-updates.js';

export interface DemoRig {
  description: string;
  parentManifest: string;
  configPath: string;
  close(): Promise<void>;
}

/** One simulated bus in the demo: its sensors, how the gateway finds them, and the child update for them. */
interface DemoBus {
  label: string;
  /** The gateway-config enumerator that finds it: for serial one rule of the shared entry, else a whole entry. */
  enumerator:
    { type: 'serial'; rule: Record<string, unknown> } | { type: 'can' | 'usb'; entry: Record<string, unknown> };
  /** Gateway-config handler settings this bus needs (e.g. the in-process USB backend). */
  handlers?: Record<string, Record<string, unknown>>;
  child: ImportManifestSpec;
  close(): Promise<void>;
}

const SERIAL_BAUD = 115200;

/** An MCUmgr/MCUboot sensor on a pty pair, found by the serial enumerator, flashed with sensor-proxy/smp:1. */
async function smpBus(updates: string): Promise<DemoBus> {
  const rig: SmpRig = await startSmpRig({
    baudRate: SERIAL_BAUD,
    primaryImage: buildTestImage('1.0.0', 8 * 1024, 1),
    flashUsPerByte: 2,
  });
  await writeFile(join(updates, 'env-sensor-2.0.0.img'), buildTestImage('2.0.0', 40 * 1024, 2));
  return {
    label: `SMP sensor on ${rig.port} (${SERIAL_BAUD} baud)`,
    enumerator: {
      type: 'serial',
      rule: {
        match: { path: rig.port },
        protocol: 'smp',
        baudRate: SERIAL_BAUD,
        component: { group: 'env-sensors', name: 'env-sensor', manufacturer: 'contoso', model: 'env-s1' },
      },
    },
    child: {
      updateId: { provider: 'contoso', name: 'env-sensor-fw', version: '2.0.0' },
      isDeployable: false,
      compatibility: [{ group: 'env-sensors' }],
      steps: [
        {
          description: 'MCUboot image 2.0.0 over SMP',
          handler: 'sensor-proxy/smp:1',
          files: ['env-sensor-2.0.0.img'],
          handlerProperties: { installedCriteria: '2.0.0' },
        },
      ],
    },
    close: () => rig.close(),
  };
}

/** A YMODEM bootloader sensor on a pty pair, flashed with sensor-proxy/ymodem:1. */
async function ymodemBus(updates: string): Promise<DemoBus> {
  const rig: YmodemRig = await startYmodemRig({ baudRate: SERIAL_BAUD, version: '1.0.0' });
  const body = randomBytes(32 * 1024);
  body.set(Buffer.from('VER:2.0.0\0'), 64); // NUL-terminated: a random digit after it would change the version
  await writeFile(join(updates, 'display-2.0.0.bin'), body);
  return {
    label: `YMODEM bootloader on ${rig.port} (${SERIAL_BAUD} baud)`,
    enumerator: {
      type: 'serial',
      rule: {
        match: { path: rig.port },
        protocol: 'ymodem',
        baudRate: SERIAL_BAUD,
        component: { group: 'displays', name: 'display', manufacturer: 'contoso', model: 'disp-y1' },
      },
    },
    child: {
      updateId: { provider: 'contoso', name: 'display-fw', version: '2.0.0' },
      isDeployable: false,
      compatibility: [{ group: 'displays' }],
      steps: [
        {
          description: 'Display firmware 2.0.0 over YMODEM-1K',
          handler: 'sensor-proxy/ymodem:1',
          files: ['display-2.0.0.bin'],
          handlerProperties: { installedCriteria: '2.0.0', bootloaderEntry: { type: 'bytes', hex: '7f424f4f540d' } },
        },
      ],
    },
    close: () => rig.close(),
  };
}

/**
 * A UDS ECU with a bootloader on an in-process CAN bus timed like classic CAN at 500 kbit/s (a
 * machine without vcan: the demo must run anywhere), found by the CAN enumerator, flashed with
 * sensor-proxy/uds:1 over ISO-TP.
 */
async function canBus(updates: string): Promise<DemoBus> {
  const network = MemoryCanNetwork.named('demo-can', { fd: false, timing: BIT_TIMING_PRESETS.classic500k });
  const ecuBus = network.join();
  const sim = new EcuSimulator({
    bus: ecuBus,
    rxId: 0x7e0,
    txId: 0x7e8,
    identity: { version: '1.0.0', serial: 'ECU-0001', systemName: 'brake-ecu' },
  });
  await writeFile(join(updates, 'brake-ecu-2.0.0.bin'), makeFirmwareImage(24 * 1024, '2.0.0', 3));
  return {
    label: 'UDS ECU on an in-process CAN bus (classic, 500 kbit/s timing)',
    enumerator: {
      type: 'can',
      entry: {
        type: 'can',
        interfaces: [{ interface: 'mem:demo-can', physical: [{ txId: '0x7E0', rxId: '0x7E8' }] }],
        rules: [
          {
            match: { systemName: 'brake*' },
            component: { group: 'ecus', name: 'brake-{serial}', manufacturer: 'contoso', model: 'brake-ecu' },
            properties: { memoryAddress: '0x08000000' },
          },
        ],
      },
    },
    child: {
      updateId: { provider: 'contoso', name: 'brake-ecu-fw', version: '2.0.0' },
      isDeployable: false,
      compatibility: [{ group: 'ecus' }],
      steps: [
        {
          description: 'ECU firmware 2.0.0 over UDS/ISO-TP',
          handler: 'sensor-proxy/uds:1',
          files: ['brake-ecu-2.0.0.bin'],
          handlerProperties: { installedCriteria: '2.0.0' },
        },
      ],
    },
    close: async () => {
      sim.close();
      await ecuBus.close();
      MemoryCanNetwork.forget('demo-can');
    },
  };
}

/** A USB DFU 1.1 device on the in-process USB bus (no gadget needed), found by the USB enumerator, flashed with sensor-proxy/dfu:1. */
async function usbBus(updates: string): Promise<DemoBus> {
  const bus = getMemoryUsbBus('demo-usb');
  const device = new MemoryDfuDevice(bus, {
    serialNumber: 'DFU-0001',
    version: 0x0100,
    pollTimeoutMs: 1,
    writeTimeMs: 1,
  });
  await writeFile(join(updates, 'usb-sensor-2.00.bin'), dfuTestImage(48 * 1024, 0x0200, 4));
  return {
    label: 'USB DFU device on the in-process USB bus',
    enumerator: {
      type: 'usb',
      entry: {
        type: 'usb',
        backend: 'memory',
        memoryBus: 'demo-usb',
        rules: [
          { match: { vid: '1209' }, component: { group: 'usb-sensors', manufacturer: 'contoso', model: 'dfu-s1' } },
        ],
      },
    },
    handlers: { 'sensor-proxy/dfu:1': { backend: 'memory', memoryBus: 'demo-usb' } },
    child: {
      updateId: { provider: 'contoso', name: 'usb-sensor-fw', version: '2.0' },
      isDeployable: false,
      compatibility: [{ group: 'usb-sensors' }],
      steps: [
        {
          description: 'USB sensor firmware 2.00 over DFU 1.1',
          handler: 'sensor-proxy/dfu:1',
          files: ['usb-sensor-2.00.bin'],
          handlerProperties: { installedCriteria: '0x0200' },
        },
      ],
    },
    close: async () => {
      device.unplug();
    },
  };
}

/**
 * Everything `make demo` needs: simulated sensors on the buses this machine can offer,
 * a gateway config that enumerates them, and a parent update with a host step and one child
 * update per sensor group.
 */
export async function startDemoRig(root: string): Promise<DemoRig> {
  const updates = join(root, 'updates');
  await mkdir(updates, { recursive: true });
  const buses: DemoBus[] = [];
  try {
    buses.push(await smpBus(updates));
    buses.push(await ymodemBus(updates));
    buses.push(await canBus(updates));
    buses.push(await usbBus(updates));
  } catch (e) {
    await Promise.all(buses.map((b) => b.close()));
    throw e;
  }
  const inventory = await writeCameraInventory(join(root, 'sensors'));
  await copyScript(SCRIPT(), updates, 'host-installscript.sh');
  await copyScript(SCRIPT(), updates, 'camera-installscript.sh');
  await writeFile(join(updates, 'gateway-config-1.1.json'), JSON.stringify({ gateway: 'demo', version: '1.1' }) + '\n');
  await writeFile(
    join(updates, 'camera-firmware-2.0.json'),
    JSON.stringify({ version: '2.0', description: 'camera firmware' }) + '\n',
  );
  const cameraArgs =
    '--firmware-file camera-firmware-2.0.json --component-name --component-name-val --component-group --component-group-val --component-prop path --component-prop-val path';
  const cameras: ImportManifestSpec = {
    updateId: { provider: 'contoso', name: 'demo-cameras', version: '2.0' },
    isDeployable: false,
    compatibility: [{ group: 'cameras' }],
    steps: [
      {
        description: 'Camera firmware 2.0 (script)',
        handler: 'microsoft/script:1',
        files: ['camera-installscript.sh', 'camera-firmware-2.0.json'],
        handlerProperties: {
          scriptFileName: 'camera-installscript.sh',
          arguments: cameraArgs,
          installedCriteria: 'camera-2.0',
        },
      },
    ],
  };
  const children = [...buses.map((b) => b.child), cameras];
  for (const child of children) {
    await writeImportManifest(
      updates,
      `${child.updateId.provider}.${child.updateId.name}.${child.updateId.version}.importmanifest.json`,
      child,
    );
  }
  const parentManifest = await writeImportManifest(updates, 'contoso.demo-gateway.1.1.importmanifest.json', {
    updateId: { provider: 'contoso', name: 'demo-gateway', version: '1.1' },
    compatibility: [{ manufacturer: 'contoso', model: 'demo-gateway' }],
    steps: [
      {
        description: 'Gateway configuration (host step)',
        handler: 'microsoft/script:1',
        files: ['host-installscript.sh', 'gateway-config-1.1.json'],
        handlerProperties: {
          scriptFileName: 'host-installscript.sh',
          arguments: '--firmware-file gateway-config-1.1.json',
          installedCriteria: 'gateway-config-1.1',
        },
      },
      ...children.map((c) => ({
        type: 'reference' as const,
        description: c.steps[0] && 'description' in c.steps[0] ? c.steps[0].description!.slice(0, 64) : c.updateId.name,
        updateId: c.updateId,
      })),
    ],
  });
  const configPath = join(root, 'gateway.json');
  const serialRules = buses.flatMap((b) => (b.enumerator.type === 'serial' ? [b.enumerator.rule] : []));
  const otherEntries = buses.flatMap((b) => (b.enumerator.type !== 'serial' ? [b.enumerator.entry] : []));
  const config = {
    stateDir: join(root, 'state'),
    logLevel: 'info',
    enumerators: [{ type: 'inventory', files: [inventory] }, { type: 'serial', rules: serialRules }, ...otherEntries],
    handlers: Object.assign({}, ...buses.map((b) => b.handlers ?? {})),
  };
  await writeFile(configPath, JSON.stringify(config, null, 2) + '\n');
  return {
    description: [...buses.map((b) => b.label), 'two script-handled cameras (inventory enumerator)'].join('; '),
    parentManifest,
    configPath,
    close: async () => {
      await Promise.all(buses.map((b) => b.close()));
    },
  };
}
