/**
 * The terminal view of `flash` as a person sees it (issue 12 item 3): the CLI runs in tmux on a real
 * pseudo-terminal, flashing three MCUboot sensors on socat pty pairs in parallel; the test reads the
 * screen with `capture-pane`. One line per component with name, bus, phase, bar, bytes, rate and
 * ETA, no line wider than the pane, the block redrawn in place (each sensor once on the screen)
 * also after the pane is resized mid-run, every line ending done; after Ctrl-C the terminal is as
 * it was found: cursor visible, line wrap on (a long line wraps), no other mode left set.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { repoPath } from '../../hw-fixtures/repo-root.js';
import { ptyRigSkip } from '../../hw-fixtures/serial/rig-availability.js';
import { TmuxPane } from '../../hw-fixtures/terminal/tmux.js';
import { startSmpFleet, type SmpFleet } from '../../hw-fixtures/updates/smp-fleet.js';

const skip =
  ptyRigSkip() || (process.env.CI !== 'true' && !TmuxPane.available() && 'tmux not installed (apt-get install tmux)');
const CLI = `${process.execPath} ${repoPath('dist', 'src', 'cli', 'main.js')}`;
/** After the CLI: its exit code, then a 150-character line that wraps when line wrap is on. */
const AFTER = `echo "EXIT=$?"; printf '%0150d\\n' 0; sleep 600`;
const ENV = { TERM: 'xterm-256color', CI: '' };
const sensorLines = (screen: string[], name: string) => screen.filter((l) => l.startsWith(`${name} `));
/** Terminal modes a program could leave changed, as tmux tracks them for the pane. */
const MODES =
  '#{cursor_flag} #{wrap_flag} #{insert_flag} #{keypad_cursor_flag} #{keypad_flag} #{origin_flag} #{mouse_any_flag} #{alternate_on}';
const AS_FOUND = '1 1 0 0 0 0 0 0';

/** `flash` of the fleet's manifest in a fresh tmux pane of `width` × 30, then AFTER. */
const flashInPane = (fleet: SmpFleet, width: number) =>
  TmuxPane.start(`${CLI} flash ${fleet.manifest} --config ${fleet.configPath}; ${AFTER}`, width, 30, ENV);

/** The terminal as found after the CLI exited (`when`): no mode left set, a 150-character line wraps at 100 columns. */
async function assertTerminalAsFound(pane: TmuxPane, end: string[], when: string): Promise<void> {
  assert.equal(await pane.format(MODES), AS_FOUND, `terminal modes ${when}`);
  const zeros = end.filter((l) => /^0+$/.test(l));
  assert.deepEqual(
    zeros.map((l) => l.length),
    [100, 50],
    'a 150-character line wraps at 100 columns',
  );
}

describe('flash on a terminal, seen through tmux', { skip, timeout: 300_000 }, () => {
  let fleet: SmpFleet;
  before(async () => {
    fleet = await startSmpFleet({ sensors: 3, imageBytes: 64 * 1024 });
  });
  after(async () => {
    await fleet?.close();
  });

  it('one line per sensor, redrawn in place through a resize, all done at the end; the terminal as found', async () => {
    const pane = await flashInPane(fleet, 130);
    try {
      assert.equal(await pane.format(MODES), AS_FOUND, 'modes of a fresh pane');
      const running = await pane.waitFor(
        (s) => fleet.names.every((n) => sensorLines(s, n).some((l) => /transfer .*ETA \d+:\d\d/.test(l))),
        90_000,
        'every sensor transferring with an ETA',
      );
      assert.equal(running.filter((l) => l.startsWith('update contoso/fleet/2.0.0')).length, 1, running.join('\n'));
      for (const [i, name] of fleet.names.entries()) {
        const lines = sensorLines(running, name);
        assert.equal(lines.length, 1, `one line for ${name}:\n${running.join('\n')}`);
        // name, bus, phase, bar, percent, bytes, rate, ETA
        assert.match(
          lines[0]!,
          new RegExp(
            `^${name} +serial:${fleet.rigs[i]!.port} +transfer +\\[[#.]+\\] +\\d+% +[\\d.]+[KB]/64\\.0K +[\\d.]+[KB]/s +ETA \\d+:\\d\\d$`,
          ),
        );
      }
      const cols = new Set(fleet.names.map((n) => sensorLines(running, n)[0]!.indexOf('[')));
      assert.equal(cols.size, 1, 'bars start in the same column');

      await pane.resize(56, 30);
      const narrow = await pane.waitFor(
        (s) =>
          fleet.names.every(
            (n) =>
              sensorLines(s, n).length === 1 && sensorLines(s, n)[0]!.length < 56 && /\[/.test(sensorLines(s, n)[0]!),
          ),
        20_000,
        'the block redrawn for 56 columns',
      );
      for (const l of narrow) assert.ok(l.length <= 56, `"${l}" fits 56 columns`);
      await pane.resize(100, 30);

      const end = await pane.waitFor((s) => s.some((l) => l.startsWith('EXIT=')), 120_000, 'the CLI to exit');
      assert.ok(end.includes('EXIT=0'), end.join('\n'));
      for (const name of fleet.names) {
        const lines = sensorLines(end, name);
        assert.equal(lines.length, 1, `${name} once on the final screen:\n${end.join('\n')}`);
        assert.match(lines[0]!, /done +\[#+\] 100% +64\.0K\/64\.0K/);
      }
      assert.match(end.join('\n'), /contoso\/fleet\/2\.0\.0: SUCCEEDED/);
      await assertTerminalAsFound(pane, end, 'after the run');
    } finally {
      await pane.kill();
    }
  });

  it('Ctrl-C mid-transfer: cancelled, each sensor once with its end state, cursor and wrap as found', async () => {
    const fresh = await startSmpFleet({ sensors: 2, imageBytes: 128 * 1024 });
    const pane = await flashInPane(fresh, 100);
    try {
      await pane.waitFor(
        (s) => fresh.names.every((n) => sensorLines(s, n).some((l) => /transfer .*ETA/.test(l))),
        90_000,
        'both sensors transferring',
      );
      assert.equal(await pane.format('#{cursor_flag}'), '0', 'the cursor is hidden while the bars are live');
      await pane.sendKeys('C-c');
      const end = await pane.waitFor((s) => s.some((l) => l.startsWith('EXIT=')), 60_000, 'the CLI to exit');
      assert.ok(end.includes('EXIT=1'), end.join('\n'));
      assert.match(end.join('\n'), /cancelling/);
      assert.match(end.join('\n'), /CANCELLED/);
      for (const name of fresh.names) {
        const last = sensorLines(end, name).at(-1);
        assert.ok(last, `${name} on the screen:\n${end.join('\n')}`);
        assert.match(last, /cancelled .*-1 FailureCancelled|done .*100%/, `${name} shows how it ended`);
      }
      await assertTerminalAsFound(pane, end, 'after Ctrl-C');
    } finally {
      await pane.kill();
      await fresh.close();
    }
  });
});
