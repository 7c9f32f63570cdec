/**
 * Step outcomes (issue 12, after items 2 and 4): when one component fails and
 * `onComponentFailure: "stop"` keeps the others from starting, their steps are `not-run`. The CLI's
 * result table and the report show them as "not run" with the reason, never as a failure of a
 * component that was not touched; `--json` keeps its shape (`outcome: "not-run"`). Two inventory
 * components (no physical path, so one after the other) run a child of two script steps; the
 * first step of the first component fails.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoPath } from '../../hw-fixtures/repo-root.js';
import { writeImportManifest } from '../../hw-fixtures/updates/import-manifest-builder.js';
import type { DeploymentRecord } from '../../src/report/deployments.js';
import { resultLine, runCli } from '../helpers/cli.js';

describe('flash: steps that never ran are "not run", not failures', { timeout: 180_000 }, () => {
  let root: string;
  let dir: string;
  let inventory: string;
  let manifest: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'sp-not-run-'));
    dir = join(root, 'update');
    await mkdir(dir);
    await copyFile(
      repoPath('hw-fixtures', 'scripts', 'component-installscript.sh'),
      join(dir, 'component-installscript.sh'),
    );
    // Not installed, downloads fine, and its install fails (exit 3): the failure is in the Install phase.
    await writeFile(
      join(dir, 'install-fails.sh'),
      [
        '#!/bin/sh',
        'action= out=',
        'while [ $# -gt 0 ]; do case "$1" in --action-*) action=${1#--action-}; shift ;; --result-file) out=$2; shift 2 ;; *) shift ;; esac; done',
        'case "$action" in',
        '  is-installed) rc=901 ;;',
        '  download) rc=500 ;;',
        '  install) echo "install-fails: flash refused" >&2; exit 3 ;;',
        '  *) rc=700 ;;',
        'esac',
        'printf \'{"resultCode":%d,"extendedResultCode":0}\\n\' "$rc" > "$out"',
        '',
      ].join('\n'),
    );
    inventory = join(root, 'inventory.json');
    await writeFile(
      inventory,
      JSON.stringify({
        components: ['alpha', 'beta'].map((id) => ({
          id,
          name: id,
          group: 'probes',
          manufacturer: 'test',
          model: 'probe',
          properties: {},
        })),
      }),
    );
    const child = { provider: 'test', name: 'probes', version: '1.0' };
    await writeImportManifest(dir, 'child.importmanifest.json', {
      updateId: child,
      isDeployable: false,
      compatibility: [{ group: 'probes' }],
      steps: [
        {
          handler: 'microsoft/script:1',
          files: ['install-fails.sh'],
          handlerProperties: {
            scriptFileName: 'install-fails.sh',
            arguments: '',
            installedCriteria: 'x',
          },
        },
        {
          handler: 'microsoft/script:1',
          files: ['component-installscript.sh'],
          handlerProperties: { scriptFileName: 'component-installscript.sh', arguments: '', installedCriteria: 'y' },
        },
      ],
    });
    manifest = await writeImportManifest(dir, 'parent.importmanifest.json', {
      updateId: { provider: 'test', name: 'parent', version: '1.0' },
      compatibility: [{ manufacturer: 'test', model: 'gateway' }],
      steps: [{ type: 'reference', updateId: child }],
    });
    env = { SENSOR_PROXY_STATE_DIR: join(root, 'state'), SENSOR_PROXY_HOST_STATE: join(root, 'host') };
  });
  after(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('the result table says "not run" for them and "Failure" only for the step that failed', async () => {
    const run = await runCli(['flash', manifest, '--inventory', inventory], env);
    assert.equal(run.code, 1, run.stderr);
    const row = (step: string, comp: string) => {
      const line = run.stdout
        .split('\n')
        .find((l) => new RegExp(`^\\s*${step.replace('.', '\\.')}\\s+${comp}\\s`).test(l));
      assert.ok(line, `a row for ${step}@${comp} in:\n${run.stdout}`);
      return line;
    };
    assert.match(row('0.0', 'alpha'), /\b0\s+Failure\b/);
    for (const [step, comp] of [
      ['0.1', 'alpha'],
      ['0.0', 'beta'],
      ['0.1', 'beta'],
    ] as const) {
      const line = row(step, comp);
      assert.match(line, /\bnot run\b/, line);
      assert.doesNotMatch(line, /Failure/, line);
    }
    assert.match(row('0.0', 'beta'), /component alpha failed at step 0\.0/);
    assert.match(row('0.1', 'alpha'), /an earlier step of this component did not succeed/);
  });

  it('--json keeps its shape: outcome "not-run" with resultCode 0 and the reason', async () => {
    const run = await runCli(['flash', manifest, '--inventory', inventory, '--json'], env);
    assert.equal(run.code, 1, run.stderr);
    const r = resultLine(run);
    const byKey = Object.fromEntries(
      (r.components as { step: string; componentId: string; outcome: string; result: { resultCode: number } }[]).map(
        (o) => [`${o.step}@${o.componentId}`, [o.outcome, o.result.resultCode]],
      ),
    );
    assert.deepEqual(byKey, {
      '0.0@alpha': ['failed', 0],
      '0.1@alpha': ['not-run', 0],
      '0.0@beta': ['not-run', 0],
      '0.1@beta': ['not-run', 0],
    });
  });

  it('the report bundle lists them as "not run" with the reason', async () => {
    const out = join(root, 'bundle.tar.gz');
    const rep = await runCli(['report', '--out', out], env);
    assert.equal(rep.code, 0, rep.stderr);
    const unpacked = join(root, 'bundle');
    await mkdir(unpacked);
    execFileSync('tar', ['xzf', out, '-C', unpacked]);
    const [top] = await readdir(unpacked);
    const deps = (await readdir(join(unpacked, top!, 'deployments'))).filter((n) => n.endsWith('.json'));
    assert.ok(deps.length >= 1);
    const d = JSON.parse(await readFile(join(unpacked, top!, 'deployments', deps[0]!), 'utf8')) as DeploymentRecord;
    assert.deepEqual(Object.keys(d.state!.steps), ['0.0@alpha']);
    assert.deepEqual(Object.keys(d.state!.notRun ?? {}).sort(), ['0.0@beta', '0.1@alpha', '0.1@beta']);
    const html = await readFile(join(unpacked, top!, 'report.html'), 'utf8');
    for (const key of ['0.1</td><td>alpha', '0.0</td><td>beta', '0.1</td><td>beta'])
      assert.match(html, new RegExp(`<td>${key}</td><td><span class="muted">not run</span>`), key);
    assert.match(html, /<td>0\.0<\/td><td>alpha<\/td><td><span class="bad">0 Failure<\/span>/);
  });
});
