import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fail, pass, skip, type CheckGroup, type CheckResult } from './check.js';

const MIB = 1024 * 1024;

/**
 * `state.writable`: the state folder (and work folder) can be created and written by the running user.
 * `state.space`: the file system holding the work folder has room for the largest download
 * (`--min-free-mb`, default 256 MiB): files are placed there before any byte reaches a sensor.
 */
export const stateChecks: CheckGroup = async ({ config, probes, minFreeBytes }) => {
  if (!config) return [skip('state.writable', 'no valid config'), skip('state.space', 'no valid config')];
  const out: CheckResult[] = [];
  const fix = (dir: string) =>
    `sudo install -d -o ${probes.user} -g ${probes.user} -m 0750 ${dir}  (the .deb creates /var/lib/sensor-proxy for the sensor-proxy user)`;
  let writable = true;
  for (const dir of [config.stateDir, config.workDir]) {
    const probe = join(dir, `.doctor-${probes.pid}`);
    try {
      await mkdir(dir, { recursive: true });
      await writeFile(probe, 'ok');
      await rm(probe);
    } catch (e) {
      writable = false;
      out.push(
        fail(
          'state.writable',
          `${dir} is not writable by ${probes.user}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
          fix(dir),
        ),
      );
      break;
    }
  }
  if (writable) out.push(pass('state.writable', `${config.stateDir} and ${config.workDir} are writable`));
  try {
    const free = await probes.freeBytes(config.workDir);
    const mib = (n: number) => `${Math.floor(n / MIB)} MiB`;
    out.push(
      free >= minFreeBytes
        ? pass('state.space', `${mib(free)} free for ${config.workDir} (need ${mib(minFreeBytes)})`)
        : fail(
            'state.space',
            `only ${mib(free)} free for ${config.workDir}; the largest download needs ${mib(minFreeBytes)}`,
            `free space on that file system (sudo journalctl --vacuum-size=50M; sudo apt-get clean) or point "workDir" in the config at a bigger one`,
          ),
    );
  } catch (e) {
    out.push(
      fail(
        'state.space',
        `cannot statfs ${config.workDir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
        fix(config.workDir),
      ),
    );
  }
  return out;
};
