/**
 * A throwaway Debian root where tests may install packages with the real apt-get and dpkg, and a
 * local file-based apt repository built in the test (dpkg-deb + dpkg-scanpackages, `copy:` URI so
 * `--download-only` really fills the apt cache; local files only,
 * no network once the root exists).
 *
 * The root is a minimal bookworm amd64 system (`mmdebstrap --variant=apt`), built once from
 * Debian's mirror and cached under `~/.cache/sensor-proxy-apt/<key>/root`, the key being a hash
 * of what it is built from; each test gets its own copy, so nothing a test installs leaks out.
 * A chroot (not `apt-get -o Dir=...` on the host) because installing runs dpkg with maintainer
 * scripts against a real admin dir, as on a gateway. Needs root (chroot), like CI.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const ROOT_RECIPE = { tool: 'mmdebstrap', variant: 'apt', suite: 'bookworm', arch: 'amd64', include: [] as string[] };
const MIRROR = 'http://deb.debian.org/debian';

/** Why the apt rig cannot run here, or undefined when it can. */
export function aptRigUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (chroot, dpkg)';
  for (const tool of ['/usr/bin/mmdebstrap', '/usr/bin/dpkg-scanpackages', '/usr/bin/dpkg-deb'])
    if (!existsSync(tool)) return `${tool} missing (scripts/install-system-deps.sh installs mmdebstrap and dpkg-dev)`;
  return undefined;
}

function cacheDir(): string {
  const key = createHash('sha256').update(JSON.stringify(ROOT_RECIPE)).digest('hex').slice(0, 16);
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sensor-proxy-apt', key);
}

/** The cached pristine root, built on first use (several minutes: it downloads about 40 MB). */
async function pristineRoot(): Promise<string> {
  const dir = cacheDir();
  const root = join(dir, 'root');
  if (existsSync(join(root, 'usr', 'bin', 'apt-get'))) return root;
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `root.tmp-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  const { variant, arch, suite, include } = ROOT_RECIPE;
  await run(
    'mmdebstrap',
    [`--variant=${variant}`, `--architectures=${arch}`, ...include.map((p) => `--include=${p}`), suite, tmp, MIRROR],
    { maxBuffer: 64 * 1024 * 1024, timeout: 30 * 60_000 },
  );
  await rm(root, { recursive: true, force: true });
  await rename(tmp, root);
  return root;
}

export interface AptRig {
  /** The throwaway root (chroot). */
  root: string;
  /** argv prefix for the handler's `aptGet`. */
  aptGet: string[];
  /** Builds `name_version_all.deb` into the repo (file `/usr/share/<name>/version` holds the version) and re-indexes it. */
  addPackage(name: string, version: string, o?: { depends?: string; postinst?: string }): Promise<void>;
  /** `dpkg-query` in the root: the installed version, or undefined. */
  installedVersion(name: string): Promise<string | undefined>;
  /** `.deb` files in the root's apt cache (what `--download-only` fetched). */
  cachedDebs(): Promise<string[]>;
  dispose(): Promise<void>;
}

export async function startAptRig(): Promise<AptRig> {
  const pristine = await pristineRoot();
  const dir = await mkdtemp(join(tmpdir(), 'sp-apt-'));
  const root = join(dir, 'root');
  await run('cp', ['-a', '--reflink=auto', pristine, root]);
  // Only the local repository: no network from here on.
  await rm(join(root, 'etc', 'apt', 'sources.list'), { force: true });
  const repo = join(root, 'srv', 'sp-repo');
  await mkdir(repo, { recursive: true });
  await writeFile(
    join(root, 'etc', 'apt', 'sources.list.d', 'sp-test.list'),
    'deb [trusted=yes] copy:/srv/sp-repo ./\n',
  );
  const build = join(dir, 'build');
  const rig: AptRig = {
    root,
    aptGet: ['chroot', root, 'apt-get'],
    async addPackage(name, version, o = {}) {
      const pkg = join(build, `${name}-${version}`);
      await mkdir(join(pkg, 'DEBIAN'), { recursive: true });
      await mkdir(join(pkg, 'usr', 'share', name), { recursive: true });
      await writeFile(join(pkg, 'usr', 'share', name, 'version'), `${version}\n`);
      await writeFile(
        join(pkg, 'DEBIAN', 'control'),
        [
          `Package: ${name}`,
          `Version: ${version}`,
          'Architecture: all',
          'Maintainer: sensor-proxy tests <tests@invalid>',
          ...(o.depends ? [`Depends: ${o.depends}`] : []),
          `Description: ${name} test package`,
          '',
        ].join('\n'),
      );
      if (o.postinst) {
        await writeFile(join(pkg, 'DEBIAN', 'postinst'), `#!/bin/sh\nset -e\n${o.postinst}\n`);
        await chmod(join(pkg, 'DEBIAN', 'postinst'), 0o755);
      }
      await run('dpkg-deb', ['--root-owner-group', '--build', pkg, join(repo, `${name}_${version}_all.deb`)]);
      const { stdout } = await run('dpkg-scanpackages', ['--multiversion', '.', '/dev/null'], { cwd: repo });
      await writeFile(join(repo, 'Packages'), stdout);
    },
    async installedVersion(name) {
      try {
        const { stdout } = await run('chroot', [root, 'dpkg-query', '-W', '-f=${Status} ${Version}', name]);
        const m = /^install ok installed (\S+)$/.exec(stdout.trim());
        return m?.[1];
      } catch {
        return undefined;
      }
    },
    async cachedDebs() {
      const { readdir } = await import('node:fs/promises');
      return (await readdir(join(root, 'var', 'cache', 'apt', 'archives'))).filter((f) => f.endsWith('.deb')).sort();
    },
    async dispose() {
      await rm(dir, { recursive: true, force: true });
    },
  };
  return rig;
}
