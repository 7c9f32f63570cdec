import type { HandlerEnvironment, HandlerFactory, StepContext, StepHandler } from '../model/handler.js';
import type { AducResult } from '../model/result-codes.js';
import { createAptHandler } from './apt/apt-handler.js';
import { resolveDfuHandlerConfig } from './dfu/dfu-config.js';
import { createScriptHandler } from './script/script-handler.js';
import { resolveSmpHandlerConfig } from './smp/smp-config.js';
import { validateUdsHandlerConfig } from './uds/uds-config.js';
import { resolveYmodemHandlerConfig } from './ymodem/ymodem-config.js';

/**
 * A component-aware handler whose module (and the bus driver behind it: `serialport` for smp and
 * ymodem, the USB and CAN stacks for dfu and uds) is imported on the first call, so a gateway that
 * never runs such a step never loads it (about 4-13 MB of resident memory each). The handler's
 * config section is still checked at once by `validate` (CONFIG_INVALID as before).
 */
function lazyHandler(
  id: string,
  validate: (config: Record<string, unknown>) => unknown,
  load: () => Promise<HandlerFactory>,
): HandlerFactory {
  return (env: HandlerEnvironment): StepHandler => {
    validate(env.config);
    let real: Promise<StepHandler> | undefined;
    const handler = (): Promise<StepHandler> => (real ??= load().then((factory) => factory(env)));
    const call =
      (method: 'isInstalled' | 'download' | 'install' | 'apply' | 'cancel') =>
      async (ctx: StepContext): Promise<AducResult> =>
        (await handler())[method](ctx);
    return {
      id,
      componentAware: true,
      isInstalled: call('isInstalled'),
      download: call('download'),
      install: call('install'),
      apply: call('apply'),
      cancel: call('cancel'),
      readVersion: async (ctx: StepContext): Promise<string | undefined> => {
        const h = await handler();
        return h.readVersion ? h.readVersion(ctx) : undefined;
      },
    };
  };
}

/**
 * The handlers sensor-proxy ships, by ADU handler id. Each bus issue adds its line here.
 */
export const builtinHandlers: Record<string, HandlerFactory> = {
  'microsoft/script:1': createScriptHandler,
  'microsoft/apt:1': createAptHandler,
  'sensor-proxy/dfu:1': lazyHandler(
    'sensor-proxy/dfu:1',
    resolveDfuHandlerConfig,
    async () => (await import('./dfu/dfu-handler.js')).createDfuHandler,
  ),
  'sensor-proxy/smp:1': lazyHandler(
    'sensor-proxy/smp:1',
    resolveSmpHandlerConfig,
    async () => (await import('./smp/smp-handler.js')).createSmpHandler,
  ),
  'sensor-proxy/uds:1': lazyHandler('sensor-proxy/uds:1', validateUdsHandlerConfig, async () => {
    const { createUdsHandler } = await import('./uds/uds-handler.js');
    return (env) => createUdsHandler(env);
  }),
  'sensor-proxy/ymodem:1': lazyHandler(
    'sensor-proxy/ymodem:1',
    resolveYmodemHandlerConfig,
    async () => (await import('./ymodem/ymodem-handler.js')).createYmodemHandler,
  ),
};
