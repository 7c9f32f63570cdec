import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitCommand } from '../../../src/cli/command-spec.js';
import { findCommand } from '../../../src/cli/commands.js';
import { runCli } from '../../helpers/cli.js';

const isCommand = (n: string) => n === 'help' || !!findCommand(n);

describe('options before the command', () => {
  it('moves leading flags and their values after the command', () => {
    assert.deepEqual(splitCommand(['-v', '--config', 'gw.json', 'list', '--json'], isCommand), {
      command: 'list',
      args: ['--json', '-v', '--config', 'gw.json'],
    });
    assert.deepEqual(splitCommand(['--config=gw.json', 'doctor'], isCommand), {
      command: 'doctor',
      args: ['--config=gw.json'],
    });
  });
  it('takes a command name after a flag as the command, not as its value', () => {
    assert.deepEqual(splitCommand(['-v', 'list'], isCommand), { command: 'list', args: ['-v'] });
  });
  it('leaves argv alone when the command comes first or there is none', () => {
    assert.deepEqual(splitCommand(['list', '-v'], isCommand), { command: 'list', args: ['-v'] });
    assert.deepEqual(splitCommand(['--version'], isCommand), { command: '--version', args: [] });
    assert.deepEqual(splitCommand([], isCommand), { command: undefined, args: [] });
  });
  it('the CLI runs `-h list` as the help of list and names an unknown flag of the command', async () => {
    const help = await runCli(['-h', 'list']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^sensor-proxy list:/);
    const bad = await runCli(['--nope', 'list']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--nope/);
  });
});
