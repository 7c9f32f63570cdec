import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { COMMANDS } from '../../src/cli/commands.js';
import { repoPath } from '../../hw-fixtures/repo-root.js';
import { runCli } from '../helpers/cli.js';

const run = promisify(execFile);
const version = (JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string }).version;

describe('sensor-proxy --version and help (the built CLI)', () => {
  for (const args of [['--version'], ['-V'], ['version']]) {
    it(`${args.join(' ')} prints the package version`, async () => {
      const r = await runCli(args);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `sensor-proxy ${version}\n`);
    });
  }

  it('the version does not depend on the working folder', async () => {
    const { stdout } = await run(process.execPath, [repoPath('dist', 'src', 'cli', 'main.js'), '--version'], {
      cwd: '/',
    });
    assert.equal(stdout, `sensor-proxy ${version}\n`);
  });

  for (const spec of COMMANDS) {
    it(`${spec.name} --help, -h and help ${spec.name} print the same help and exit 0`, async () => {
      const runs = await Promise.all([
        runCli([spec.name, '--help']),
        runCli([spec.name, '-h']),
        runCli(['help', spec.name]),
      ]);
      for (const r of runs) {
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`^sensor-proxy ${spec.name}: `));
        assert.match(r.stdout, /\nexit codes:\n/);
        assert.equal(r.stdout, runs[0]!.stdout);
      }
    });
  }

  it('help of an unknown command and an unknown command are usage errors (2)', async () => {
    const [a, b, c] = await Promise.all([runCli(['help', 'nope']), runCli(['nope']), runCli([])]);
    assert.equal(a.code, 2);
    assert.match(a.stderr, /no help for "nope"/);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /unknown command "nope"/);
    assert.equal(c.code, 2);
    assert.match(c.stdout, /commands:/);
  });

  it("a flag another command takes is refused, with that command's help", async () => {
    const r = await runCli(['list', '--dry-run']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /error \[CLI_USAGE\]: Unknown option '--dry-run'/);
    assert.match(r.stderr, /sensor-proxy list: /);
  });
});
