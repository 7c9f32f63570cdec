import { spawn, type ChildProcess } from 'node:child_process';
import { repoPath } from '../../hw-fixtures/repo-root.js';

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as ndjson (only lines that are JSON objects). */
  events: Array<Record<string, unknown>>;
}

/** The built CLI (`make build` first): `node dist/src/cli/main.js ...args`. */
export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [repoPath('dist', 'src', 'cli', 'main.js'), ...args], {
    env: { ...process.env, CI: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export function collect(child: ChildProcess, timeoutMs = 120_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`CLI did not exit within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const events = stdout.split('\n').flatMap((l) => {
        if (!l.startsWith('{')) return [];
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return []; // a pretty-printed document (list --json), not an ndjson event
        }
      });
      resolve({ code, signal, stdout, stderr, events });
    });
  });
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return collect(startCli(args, env));
}

/** The final `{"type":"result"}` line of a --json run (asserts it is the last line). */
export function resultLine(run: CliRun): Record<string, any> {
  const last = run.events.at(-1);
  if (!last || last.type !== 'result')
    throw new Error(`last stdout line is not a result:\n${run.stdout}\n${run.stderr}`);
  return last as Record<string, any>;
}

/** The built CLI run through an argv prefix (e.g. `setpriv --reuid ...`, hw-fixtures/unprivileged.ts). */
export function runCliVia(prefix: string[], args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const [cmd, ...pre] = prefix;
  return collect(
    spawn(cmd!, [...pre, process.execPath, repoPath('dist', 'src', 'cli', 'main.js'), ...args], {
      env: { ...process.env, CI: 'true', HOME: '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
}
