import { execFileSync } from 'node:child_process';

/**
 * Skip reason for pty-rig tests: on a developer's machine without socat the tests show as skipped
 * with what to install; in CI (`CI=true`) they run and fail, because the rig must be there.
 */
export function ptyRigSkip(): string | false {
  if (process.env.CI === 'true') return false;
  try {
    execFileSync('socat', ['-V'], { stdio: 'ignore' });
    return false;
  } catch {
    return 'socat not installed (apt-get install socat)';
  }
}
