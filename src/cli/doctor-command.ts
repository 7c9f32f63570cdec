import { realProbes } from '../doctor/check.js';
import { runDoctor } from '../doctor/run-doctor.js';
import { ExitCode } from './output.js';

const MIB = 1024 * 1024;

/**
 * `sensor-proxy doctor`: every check, one line each (with `fix:` under a failure), or with `--json`
 * one JSON object per check. Exit 0 when nothing failed (warnings and skips do not fail), 1 otherwise.
 */
export async function doctorCommand(
  o: { config?: string; json: boolean; minFreeMb: number },
  signal: AbortSignal,
): Promise<number> {
  const results = await runDoctor({
    ...(o.config && { configPath: o.config }),
    probes: realProbes(),
    minFreeBytes: o.minFreeMb * MIB,
    signal,
  });
  for (const r of results) {
    if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
    else {
      process.stdout.write(`${r.status.toUpperCase().padEnd(4)}  ${r.id}: ${r.detail}\n`);
      if (r.remedy) process.stdout.write(`      fix: ${r.remedy}\n`);
    }
  }
  const failed = results.filter((r) => r.status === 'fail').length;
  if (!o.json)
    process.stdout.write(
      failed ? `\n${failed} check(s) failed\n` : `\nall ${results.length} checks passed (or were skipped)\n`,
    );
  return failed ? ExitCode.Failed : ExitCode.Success;
}
