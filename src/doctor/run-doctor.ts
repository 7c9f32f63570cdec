import { loadGatewayConfig, defaultConfig, type GatewayConfig } from '../config/gateway-config.js';
import { isSensorProxyError } from '../model/errors.js';
import { canChecks } from './can-checks.js';
import type { CheckGroup, CheckResult, SystemProbes } from './check.js';
import { clockChecks } from './clock-checks.js';
import { configChecks } from './config-checks.js';
import { hubChecks } from './hub-checks.js';
import { runtimeChecks } from './runtime-checks.js';
import { serialChecks } from './serial-checks.js';
import { stateChecks } from './state-checks.js';
import { usbChecks } from './usb-checks.js';

export interface DoctorOptions {
  configPath?: string;
  probes: SystemProbes;
  minFreeBytes: number;
  signal: AbortSignal;
}

/** Runs every check group in order (clock first: a wrong clock explains a later TLS failure). */
export async function runDoctor(o: DoctorOptions): Promise<CheckResult[]> {
  let config: GatewayConfig | undefined;
  let configError: string | undefined;
  try {
    config = o.configPath ? await loadGatewayConfig(o.configPath) : defaultConfig();
  } catch (e) {
    configError = isSensorProxyError(e) ? e.message : String(e);
  }
  const ctx = { config, configPath: o.configPath, probes: o.probes, minFreeBytes: o.minFreeBytes, signal: o.signal };
  const groups: CheckGroup[] = [
    clockChecks,
    configChecks(configError),
    stateChecks,
    runtimeChecks,
    canChecks,
    serialChecks,
    usbChecks,
    hubChecks,
  ];
  const results: CheckResult[] = [];
  for (const g of groups) {
    if (o.signal.aborted) break;
    results.push(...(await g(ctx)));
  }
  return results;
}
