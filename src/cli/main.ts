#!/usr/bin/env node
import { enableCompileCache } from './compile-cache.js';

// The compile cache must be on before the modules it should cover load: the CLI proper is
// imported only after it (static imports would load first).
enableCompileCache();
await import('./run-cli.js');
