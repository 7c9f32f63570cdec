import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** What a page did in headless Chromium. */
export interface PageShot {
  png: Buffer;
  /** Every console message (log, warn, error, uncaught exception) the page produced. */
  console: string[];
}

/**
 * Skip reason for browser tests: without Chromium on a developer's machine the test shows as
 * skipped with what to install; in CI (`CI=true`) it runs and fails, because it must be there
 * (scripts/install-system-deps.sh installs it).
 */
export function chromiumSkip(): string | false {
  if (process.env.CI === 'true') return false;
  try {
    execFileSync('chromium', ['--version'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'chromium not installed (apt-get install chromium)';
  }
}

/**
 * Opens a local HTML file in headless Chromium, offline (`--no-proxy-server`, a proxy that does not
 * exist for anything else), takes a screenshot and collects the page's console output from
 * Chromium's own log (`--enable-logging=stderr`: one `INFO:CONSOLE` line per message, uncaught
 * errors included).
 */
export async function openInChromium(htmlFile: string, size = '1200,1600'): Promise<PageShot> {
  const dir = await mkdtemp(join(tmpdir(), 'chromium-shot-'));
  const png = join(dir, 'shot.png');
  try {
    const stderr = await new Promise<string>((resolve, reject) => {
      execFile(
        'chromium',
        [
          '--headless',
          '--no-sandbox', // runs as root in CI
          '--disable-gpu',
          `--user-data-dir=${join(dir, 'profile')}`,
          '--proxy-server=http://127.0.0.1:9', // nothing may load from the network
          '--enable-logging=stderr',
          '--v=0',
          `--window-size=${size}`,
          `--screenshot=${png}`,
          pathToFileURL(htmlFile).href,
        ],
        { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
        (err, _stdout, stderr) =>
          err ? reject(new Error(`chromium failed: ${err.message}\n${stderr}`)) : resolve(stderr),
      );
    });
    const console = stderr.split('\n').filter((l) => /:CONSOLE[:(]/.test(l));
    return { png: await readFile(png), console };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
