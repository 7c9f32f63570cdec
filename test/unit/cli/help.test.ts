import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { allUsageLines, commandHelp, overviewHelp, parseCommandArgs } from '../../../src/cli/command-spec.js';
import { COMMANDS } from '../../../src/cli/commands.js';
import { packageVersion } from '../../../src/cli/version.js';
import { repoPath } from '../../../hw-fixtures/repo-root.js';

/** The usage lines of the README's "## CLI" code block. */
function readmeUsage(): string[] {
  const readme = readFileSync(repoPath('README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## CLI\n'));
  const block = /```\n([\s\S]*?)```/.exec(section);
  assert.ok(block, 'README has a ## CLI section with a code block');
  return block[1]!.trimEnd().split('\n');
}

describe('CLI help', () => {
  for (const spec of COMMANDS) {
    it(`${spec.name}: the usage line and the option list name every flag the parser accepts`, () => {
      const help = commandHelp(spec);
      const usage = spec.usage.join('\n');
      for (const [name, o] of Object.entries(spec.options)) {
        assert.match(usage, new RegExp(`--${name}\\b`), `usage of ${spec.name} names --${name}`);
        assert.match(help, new RegExp(`--${name}${o.type === 'string' ? ` ${o.arg}` : ''}\\b`));
      }
      for (const flag of ['--help', '--verbose']) assert.ok(help.includes(flag), `${spec.name} help names ${flag}`);
      assert.ok(spec.examples.length > 0 && spec.exitCodes.length > 0, 'examples and exit codes');
      for (const [code] of spec.exitCodes) assert.match(help, new RegExp(`^  ${code}  `, 'm'));
    });

    it(`${spec.name}: the parser rejects a flag the command does not take, naming it`, () => {
      const args = [...Array(spec.positionals.min).fill('x'), '--no-such-flag'];
      assert.throws(() => parseCommandArgs(spec, args), /--no-such-flag/);
    });
  }

  it("the README's command list is exactly the CLI's usage lines", () => {
    assert.deepEqual(readmeUsage(), allUsageLines(COMMANDS));
    for (const line of allUsageLines(COMMANDS)) assert.ok(overviewHelp(COMMANDS).includes(line));
  });

  it('wrong positional counts are usage errors naming what the command takes', () => {
    const flash = COMMANDS.find((c) => c.name === 'flash')!;
    assert.throws(() => parseCommandArgs(flash, []), /flash takes one import manifest path/);
    assert.throws(() => parseCommandArgs(flash, ['a', 'b']), /flash takes one import manifest path/);
    assert.deepEqual(parseCommandArgs(flash, ['--help']).values.help, true);
  });
});

describe('packageVersion', () => {
  it("reads this checkout's package.json from the compiled CLI folder", () => {
    const pkg = JSON.parse(readFileSync(repoPath('package.json'), 'utf8')) as { version: string };
    assert.equal(packageVersion(repoPath('dist', 'src', 'cli')), pkg.version);
    assert.equal(packageVersion(), pkg.version);
  });

  it("skips another package's package.json and finds sensor-proxy's above it (installed layout)", () => {
    const root = mkdtempSync(join(tmpdir(), 'version-'));
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'sensor-proxy', version: '9.8.7' }));
    const cli = join(root, 'dist', 'src', 'cli');
    mkdirSync(cli, { recursive: true });
    writeFileSync(join(root, 'dist', 'package.json'), JSON.stringify({ type: 'module' }));
    writeFileSync(join(root, 'dist', 'src', 'package.json'), '{ not json');
    assert.equal(packageVersion(cli), '9.8.7');
  });

  it('says "unknown" when no sensor-proxy package.json is above', () => {
    assert.equal(packageVersion(mkdtempSync(join(tmpdir(), 'version-none-'))), 'unknown');
  });
});
