/**
 * Issue 13 item 4: oversize input is refused by its size before it is parsed, with a coded error
 * naming the input, the limit and what to do; files are never read past the limit; counts over
 * the schema's maxima cost one violation, not one per item.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, open, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readNamedFixture } from '../../../hw-fixtures/manifests/fixture-dir.js';
import { loadGatewayConfig } from '../../../src/config/gateway-config.js';
import { boundedDesired, parseServiceRequest, serviceAckPatch } from '../../../src/hub/service-request.js';
import {
  loadManifestFile,
  parseImportManifest,
  parseJsonText,
  parseUpdateManifest,
} from '../../../src/manifest/index.js';
import { MAX_VIOLATIONS_KEPT } from '../../../src/manifest/violations.js';
import {
  INPUT_LIMITS,
  jsonShapeProblem,
  jsonSizeExceeds,
  readBoundedFile,
  type SizeLimit,
} from '../../../src/model/input-limits.js';
import { WorkflowStateStore } from '../../../src/workflow/workflow-state.js';
import { AgentStateStore } from '../../../src/hub/agent-state.js';
import { InventoryEnumerator } from '../../../enumerators/inventory/inventory-enumerator.js';
import { expectCode, violationsOf } from './assert-manifest-error.js';

const MiB = 1024 * 1024;
const LIMIT: SizeLimit = { limit: 1000, code: 'INPUT_TOO_LARGE', what: 'test input' };
const clone = <T>(v: T): T => structuredClone(v);

describe('input limits (issue 13 item 4)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sp-limits-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** A sparse file: `size` bytes long, nothing on disk, nothing read unless the reader reads it. */
  async function sparse(name: string, size: number): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, '{"description":"');
    await truncate(path, size);
    return path;
  }

  describe('readBoundedFile', () => {
    it('reads a file at the limit; refuses one a byte over it by its size, naming file and limit', async () => {
      const at = join(dir, 'at.txt');
      await writeFile(at, 'x'.repeat(1000));
      assert.equal((await readBoundedFile(at, LIMIT)).length, 1000);
      await writeFile(at, 'x'.repeat(1001));
      const e = await expectCode(() => readBoundedFile(at, LIMIT), 'INPUT_TOO_LARGE');
      assert.match(e.message, /at\.txt: test input is 1001 bytes; the limit is 1000 bytes/);
      assert.deepEqual(e.details, { source: at, limit: 1000, size: 1001 });
      assert.ok(e.hint);
    });

    it('stops a stream without end (/dev/zero) one byte past the limit', async () => {
      const e = await expectCode(() => readBoundedFile('/dev/zero', { ...LIMIT, limit: 4 * MiB }), 'INPUT_TOO_LARGE');
      assert.match(e.message, /is more than 4 MiB/);
      assert.equal(e.details.size, undefined);
    });

    it('reads from a FIFO at most limit + 1 bytes: a writer of 64 KiB more finds the reader gone', async () => {
      const fifo = join(dir, 'fifo');
      execFileSync('mkfifo', [fifo]);
      // The writer pushes 1 MiB; the reader must give up after 1001 bytes and close.
      const writer = (async () => {
        const fh = await open(fifo, 'w');
        let written = 0;
        try {
          for (let i = 0; i < 16; i++) written += (await fh.write(Buffer.alloc(64 * 1024, 0x61))).bytesWritten;
        } catch (e) {
          return { written, error: (e as NodeJS.ErrnoException).code };
        } finally {
          await fh.close().catch(() => undefined);
        }
        return { written, error: undefined };
      })();
      await expectCode(() => readBoundedFile(fifo, LIMIT), 'INPUT_TOO_LARGE');
      const w = await writer;
      assert.equal(w.error, 'EPIPE', `the writer got through ${w.written} bytes`);
    });

    it('passes open errors through (ENOENT, EISDIR) for the caller to explain', async () => {
      await assert.rejects(readBoundedFile(join(dir, 'nope'), LIMIT), { code: 'ENOENT' });
      await assert.rejects(readBoundedFile(dir, LIMIT), { code: 'EISDIR' });
    });
  });

  describe('manifests', () => {
    it('a 100 MB manifest file is MANIFEST_TOO_LARGE from its size, with the path, limit and a hint', async () => {
      const path = await sparse('huge.importmanifest.json', 100 * MiB);
      const e = await expectCode(() => loadManifestFile(path), 'MANIFEST_TOO_LARGE');
      assert.match(e.message, /huge\.importmanifest\.json: manifest is 100 MiB; the limit is 1 MiB \(1048576 bytes\)/);
      assert.equal(e.details.size, 100 * MiB);
      assert.equal(e.details.limit, INPUT_LIMITS.manifestBytes);
      assert.match(e.hint ?? '', /10 steps/);
    });

    it('a manifest string over the limit (the twin) is refused before parsing', async () => {
      const text = `{"description":"${'x'.repeat(INPUT_LIMITS.manifestBytes)}"}`;
      const e = await expectCode(() => parseUpdateManifest(text, 'updateManifest'), 'MANIFEST_TOO_LARGE');
      assert.match(e.message, /^updateManifest: manifest is 1 MiB/);
    });

    it('nesting: 2048 levels parse, 2049 are refused with line and column', async () => {
      const nest = (n: number) => '['.repeat(n) + ']'.repeat(n);
      assert.ok(Array.isArray(parseJsonText(nest(INPUT_LIMITS.jsonDepth), 'ok')));
      const e = await expectCode(
        () => parseJsonText('\n ' + nest(INPUT_LIMITS.jsonDepth + 1), 'deep'),
        'MANIFEST_TOO_LARGE',
      );
      assert.match(e.message, /^deep:2:2050: JSON nested deeper than 2048 levels/);
    });

    it('values: 65536 parse, one more is refused (a megabyte of {} would be 45 MB of objects)', async () => {
      const values = (n: number) => `[${Array.from({ length: n - 1 }, () => '{}').join(',')}]`;
      assert.equal((parseJsonText(values(INPUT_LIMITS.jsonValues), 'ok') as unknown[]).length, 65535);
      const e = await expectCode(
        () => parseJsonText(values(INPUT_LIMITS.jsonValues + 1), 'many'),
        'MANIFEST_TOO_LARGE',
      );
      assert.match(e.message, /more than 65536 values/);
    });

    it('brackets and commas inside strings do not count', () => {
      assert.equal(jsonShapeProblem(JSON.stringify({ s: '[[[[,,,,{{{{"\\'.repeat(10000) })), undefined);
    });

    it('counts over the schema maxima are one violation each: the items are not walked', async () => {
      const doc = clone(readNamedFixture('importOne')) as Record<string, any>;
      doc.instructions.steps = Array.from({ length: 5000 }, () => ({ bogus: 1 }));
      doc.files = Array.from({ length: 5000 }, () => ({}));
      doc.compatibility = Array.from({ length: 5000 }, () => ({ a: 1 }));
      const v = await violationsOf(() => parseImportManifest(doc, 'm'));
      assert.deepEqual(v.map((x) => `${x.path} ${x.rule}`).sort(), [
        '$.compatibility maxItems 10',
        '$.files maxItems 10',
        '$.instructions.steps maxItems 10',
      ]);
    });

    it('an update manifest files map over 20 entries is one violation', async () => {
      const doc = clone(readNamedFixture('updateOne')) as Record<string, any>;
      doc.files = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`f${i}`, {}]));
      const v = await violationsOf(() => parseUpdateManifest(doc, 'm'));
      assert.deepEqual(
        v.filter((x) => x.path.startsWith('$.files')).map((x) => x.rule),
        ['maxProperties 20'],
      );
    });

    it(`keeps the first ${MAX_VIOLATIONS_KEPT} violations and counts the rest`, async () => {
      const doc = clone(readNamedFixture('importOne')) as Record<string, any>;
      doc.instructions.steps[0] = {
        ...doc.instructions.steps[0],
        ...Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, 1])),
      };
      const e = await expectCode(() => parseImportManifest(doc, 'm'), 'MANIFEST_INVALID');
      assert.equal((e.details.violations as unknown[]).length, MAX_VIOLATIONS_KEPT);
      assert.equal(e.details.more, 1000 - MAX_VIOLATIONS_KEPT);
      assert.match(e.message, /^invalid import manifest \(1000 problems\)/);
      assert.match(e.message, /… and 900 more problems not listed$/);
    });
  });

  describe('other files', () => {
    it('gateway config over 1 MiB: INPUT_TOO_LARGE naming the file, not read', async () => {
      const path = await sparse('config.json', 50 * MiB);
      const e = await expectCode(() => loadGatewayConfig(path), 'INPUT_TOO_LARGE');
      assert.match(e.message, /config\.json: gateway config is 50 MiB; the limit is 1 MiB/);
    });

    it('gateway config nested too deep: CONFIG_INVALID', async () => {
      const path = join(dir, 'deep-config.json');
      await writeFile(path, `{"handlers":${'['.repeat(3000)}${']'.repeat(3000)}}`);
      const e = await expectCode(() => loadGatewayConfig(path), 'CONFIG_INVALID');
      assert.match(e.message, /nested deeper than 2048 levels/);
    });

    it('inventory file over 1 MiB: INPUT_TOO_LARGE', async () => {
      const path = await sparse('inventory.json', 20 * MiB);
      const inv = new InventoryEnumerator([path]);
      const e = await expectCode(() => inv.getAllComponents(), 'INPUT_TOO_LARGE');
      assert.match(e.message, /inventory file is 20 MiB/);
    });

    it('workflow state over 4 MiB: WORKFLOW_STATE_CORRUPT naming the file and the limit', async () => {
      const stateDir = join(dir, 'state');
      await mkdir(join(stateDir, 'workflows'), { recursive: true });
      const path = join(stateDir, 'workflows', 'wf.json');
      await writeFile(path, '{');
      await truncate(path, 64 * MiB);
      const store = new WorkflowStateStore(stateDir, 'wf');
      const e = await expectCode(
        () => store.begin({ provider: 'p', name: 'n', version: '1.0' }, 'abc'),
        'WORKFLOW_STATE_CORRUPT',
      );
      assert.match(e.message, /wf\.json.*state file is 64 MiB; the limit is 4 MiB/);
    });

    it('hub/agent.json over 4 MiB is ignored: the agent starts with no records', async () => {
      const stateDir = join(dir, 'agent-state');
      await mkdir(join(stateDir, 'hub'), { recursive: true });
      const path = join(stateDir, 'hub', 'agent.json');
      await writeFile(path, '{');
      await truncate(path, 64 * MiB);
      const store = new AgentStateStore(stateDir);
      await store.load();
      assert.deepEqual(store.unfinished(), []);
    });
  });

  describe('twin', () => {
    const service = { workflow: { action: 3, id: 'wf-1' }, updateManifest: '{}', updateManifestSignature: 'x' };

    it('a desired document within the limit is copied whole', () => {
      const live = { deviceUpdate: { __t: 'c', service }, $version: 4 };
      const { desired, oversize } = boundedDesired(live);
      assert.equal(oversize, false);
      assert.deepEqual(desired, live);
      assert.notEqual(desired.deviceUpdate, live.deviceUpdate);
    });

    it('an oversize one keeps only $version and the workflow, marked; the request says oversize', () => {
      const big = { ...service, updateManifest: 'x'.repeat(2 * MiB) };
      const { desired, oversize } = boundedDesired({ deviceUpdate: { __t: 'c', service: big }, $version: 7 });
      assert.equal(oversize, true);
      assert.equal(desired.$version, 7);
      const s = (desired.deviceUpdate as { service: Record<string, unknown> }).service;
      assert.deepEqual(s.workflow, { action: 3, id: 'wf-1' });
      assert.equal(s.updateManifest, undefined);
      const req = parseServiceRequest(s);
      assert.equal(req.oversize, true);
      assert.equal(req.workflow.id, 'wf-1');
      // The ACK echoes no `$` key (IoT Hub refuses them in reported properties) and no manifest.
      const ack = serviceAckPatch(s, 7) as { deviceUpdate: { service: { value: Record<string, unknown> } } };
      assert.deepEqual(
        Object.keys(ack.deviceUpdate.service.value).filter((k) => k.startsWith('$')),
        [],
      );
      assert.equal(ack.deviceUpdate.service.value.updateManifest, null);
    });

    it('many small values count too (350 000 empty objects are far over, though few bytes)', () => {
      assert.equal(jsonSizeExceeds({ a: Array.from({ length: 350_000 }, () => ({})) }, 10 * MiB), true);
      assert.equal(jsonSizeExceeds({ a: Array.from({ length: 1000 }, () => ({})) }, 10 * MiB), false);
    });
  });
});
