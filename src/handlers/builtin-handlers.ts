import type { HandlerFactory } from '../model/handler.js';
import { createDfuHandler } from './dfu/dfu-handler.js';
import { createScriptHandler } from './script/script-handler.js';
import { createSmpHandler } from './smp/smp-handler.js';
import { createUdsHandler } from './uds/uds-handler.js';
import { createYmodemHandler } from './ymodem/ymodem-handler.js';

/**
 * The handlers sensor-proxy ships, by ADU handler id. Each bus issue adds its line here.
 */
export const builtinHandlers: Record<string, HandlerFactory> = {
  'microsoft/script:1': createScriptHandler,
  'sensor-proxy/dfu:1': createDfuHandler,
  'sensor-proxy/smp:1': createSmpHandler,
  'sensor-proxy/uds:1': (env) => createUdsHandler(env),
  'sensor-proxy/ymodem:1': createYmodemHandler,
};
