import { spawnSync } from 'node:child_process';

/**
 * An unprivileged identity for tests that run the product as a service user would: a numeric
 * uid/gid with no /etc/passwd entry (the qemu guest's root is read-only, so no `useradd` there),
 * entered with util-linux `setpriv`, with exactly the supplementary groups given (`dialout` 20,
 * `plugdev` 46 on Debian). Needs root to switch; `unprivilegedSkip()` says why not otherwise.
 */
export const TEST_UID = 64123;
export const TEST_GID = 64123;
export const GROUP = { dialout: 20, plugdev: 46 } as const;

export function unprivilegedSkip(): string | false {
  if (process.getuid?.() !== 0) {
    const why = 'needs root to switch to an unprivileged test uid';
    if (process.env.CI === 'true') throw new Error(`unprivileged rig missing in CI: ${why}`);
    return why;
  }
  if (spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status !== 0) {
    const why = 'setpriv missing (apt-get install util-linux)';
    if (process.env.CI === 'true') throw new Error(`unprivileged rig missing in CI: ${why}`);
    return why;
  }
  return false;
}

/** `setpriv` argv prefix running a command as TEST_UID/TEST_GID with these supplementary groups only. */
export function asUnprivileged(groups: number[]): string[] {
  return [
    'setpriv',
    `--reuid=${TEST_UID}`,
    `--regid=${TEST_GID}`,
    ...(groups.length ? [`--groups=${groups.join(',')}`] : ['--clear-groups']),
    '--inh-caps=-all',
    '--',
  ];
}
