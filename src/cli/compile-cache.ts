import nodeModule from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Node's on-disk cache of compiled modules (`module.enableCompileCache`, Node >= 22.1; the .deb
 * bundles Node 24). With it, a CLI start reads the compiled code of each module instead of
 * compiling it again. Node keeps one subfolder per Node version and checks each entry against the
 * module's source, so a stale entry is never used. On Node 20 (armhf's bundled Node, npm installs on
 * Node 20) there is no such cache and this does nothing.
 *
 * Folder: `$SENSOR_PROXY_CACHE_DIR`, else systemd's `$CACHE_DIRECTORY`, else `/var/cache/sensor-proxy`
 * for root, else `$XDG_CACHE_HOME/sensor-proxy` (`~/.cache/sensor-proxy`; the service user's home is
 * its state folder), each with `/compile` appended. Never inside the install, so a read-only install works.
 */
export function compileCacheDir(
  env: NodeJS.ProcessEnv = process.env,
  uid: number | undefined = process.getuid?.(),
  home: () => string = homedir,
): string {
  const base =
    env.SENSOR_PROXY_CACHE_DIR ||
    env.CACHE_DIRECTORY?.split(':')[0] ||
    (uid === 0 ? '/var/cache/sensor-proxy' : join(env.XDG_CACHE_HOME || join(home(), '.cache'), 'sensor-proxy'));
  return join(base, 'compile');
}

type Enable = (dir: string) => { status: number; message?: string; directory?: string };

/**
 * Turns the compile cache on for the modules loaded from now on. Never fails the command: a folder
 * that cannot be made or written (read-only file system, foreign owner) leaves the cache off, as
 * does `NODE_DISABLE_COMPILE_CACHE=1`. Returns what happened, for tests.
 */
export function enableCompileCache(dir: string = compileCacheDir()): 'enabled' | 'off' | 'unavailable' {
  const enable = (nodeModule as unknown as { enableCompileCache?: Enable }).enableCompileCache;
  if (typeof enable !== 'function') return 'unavailable';
  try {
    const r = enable(dir);
    const s = (nodeModule as unknown as { constants?: { compileCacheStatus?: Record<string, number> } }).constants
      ?.compileCacheStatus;
    return s && (r.status === s.ENABLED || r.status === s.ALREADY_ENABLED) ? 'enabled' : 'off';
  } catch {
    return 'off';
  }
}
