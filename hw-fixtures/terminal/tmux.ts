import { execFile, execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A private tmux server (own socket, no user config) to run a command on a real pseudo-terminal
 * and read the screen as a person sees it (`capture-pane`). Tests assert on what is on the screen.
 */
export class TmuxPane {
  private constructor(
    private readonly socket: string,
    readonly session: string,
  ) {}

  static available(): boolean {
    try {
      execFileSync('tmux', ['-V'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  }

  /** Starts `command` (run by sh) in a detached session of `width` × `height`. */
  static async start(
    command: string,
    width: number,
    height: number,
    env: Record<string, string> = {},
  ): Promise<TmuxPane> {
    const pane = new TmuxPane(`sp-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`, 't');
    const vars = Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
    await pane.tmux(
      '-f',
      '/dev/null',
      'new-session',
      '-d',
      '-s',
      pane.session,
      '-x',
      String(width),
      '-y',
      String(height),
      ...vars,
      command,
    );
    await pane.tmux('set-option', '-g', 'window-size', 'manual');
    return pane;
  }

  tmux(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) =>
      execFile('tmux', ['-L', this.socket, ...args], { timeout: 10_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`tmux ${args.join(' ')}: ${err.message} ${stderr}`)) : resolve(stdout),
      ),
    );
  }

  /** The visible screen, one string per row (trailing blanks trimmed). */
  async screen(): Promise<string[]> {
    return (await this.tmux('capture-pane', '-p', '-t', this.session)).split('\n').map((l) => l.trimEnd());
  }

  /** `#{format}` of the pane, e.g. `#{cursor_flag}`, `#{wrap_flag}`. */
  async format(fmt: string): Promise<string> {
    return (await this.tmux('display-message', '-p', '-t', this.session, fmt)).trim();
  }

  resize(width: number, height: number): Promise<string> {
    return this.tmux('resize-window', '-t', this.session, '-x', String(width), '-y', String(height));
  }

  sendKeys(...keys: string[]): Promise<string> {
    return this.tmux('send-keys', '-t', this.session, ...keys);
  }

  /** Polls the screen until `pred` holds; throws with the last screen after `ms`. */
  async waitFor(pred: (screen: string[]) => boolean, ms = 60_000, what = 'screen condition'): Promise<string[]> {
    const end = Date.now() + ms;
    for (;;) {
      const s = await this.screen();
      if (pred(s)) return s;
      if (Date.now() > end) throw new Error(`${what} not seen within ${ms} ms; screen:\n${s.join('\n')}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  /** Stops the server and removes its socket file (tmux leaves it behind). */
  async kill(): Promise<void> {
    await this.tmux('kill-server').catch(() => {});
    const dir = join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`);
    await rm(join(dir, this.socket), { force: true });
  }
}
