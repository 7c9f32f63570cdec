import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { prettyPrinterInstalled } from '../../../src/cli/logger.js';

describe('CLI logger: pino-pretty is optional', () => {
  it('finds pino-pretty in the checkout (a dev dependency)', () => {
    assert.equal(prettyPrinterInstalled(), true);
  });

  it('reports it missing where it is not installed (the logger then writes JSON lines)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sp-logger-'));
    try {
      assert.equal(prettyPrinterInstalled(pathToFileURL(join(dir, 'x.js')).href), false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
