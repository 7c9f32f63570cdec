import { readFile } from 'node:fs/promises';
import { Erc, ResultCode, result } from '../../model/result-codes.js';
import type { AducResult } from '../../model/result-codes.js';
import type { ScriptRunOutcome } from './run-script.js';
import { ScriptErc, childProcessExitErc } from './script-erc.js';

/**
 * From a finished script run to an ADU result, as the ADU script handler maps it
 * (`ScriptHandler_PerformAction`, `reference/adu-agent.md` §3.5):
 * non-zero exit → 0x30501000+exit (result file ignored); exit 0 → the result file
 * `{"resultCode", "extendedResultCode", "resultDetails"}`; unreadable → 0x30500205;
 * failure with ERC 0 → 0x30500206. Cancel, timeout and signals are sensor-proxy's additions.
 */

/** ADU `WORKFLOW_RESULT_DETAILS_MAX_LENGTH` (§2.5): result details are cut to this many characters. */
export const RESULT_DETAILS_MAX_LENGTH = 1024;

/** Cuts details to {@link RESULT_DETAILS_MAX_LENGTH}, keeping the beginning. */
export function capDetails(details: string): string {
  return details.length <= RESULT_DETAILS_MAX_LENGTH ? details : details.slice(0, RESULT_DETAILS_MAX_LENGTH);
}

/** `head` then as much of the END of `tail` (stderr) as fits in {@link RESULT_DETAILS_MAX_LENGTH}. */
export function detailsWithTail(head: string, tail: string): string {
  if (tail.length === 0) return capDetails(head);
  const sep = '; stderr: ';
  const room = RESULT_DETAILS_MAX_LENGTH - head.length - sep.length;
  if (room <= 0) return capDetails(head);
  const shown = tail.length <= room ? tail : `…${tail.slice(tail.length - room + 1)}`;
  return `${head}${sep}${shown}`;
}

/** `missing` is true when the script did not write the file at all. */
export type ResultFileRead = { ok: true; result: AducResult } | { ok: false; why: string; missing: boolean };

/** Reads and checks the ADUC result JSON a script wrote. Never throws. */
export async function readResultFile(path: string): Promise<ResultFileRead> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return {
      ok: false,
      why: code === 'ENOENT' ? 'it was not written' : `it cannot be read (${code ?? String(e)})`,
      missing: code === 'ENOENT',
    };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { ok: false, why: `it is not valid JSON (${e instanceof Error ? e.message : String(e)})`, missing: false };
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
    return { ok: false, why: 'it does not hold a JSON object', missing: false };
  const o = doc as Record<string, unknown>;
  if (typeof o.resultCode !== 'number' || !Number.isFinite(o.resultCode))
    return { ok: false, why: 'it has no numeric "resultCode"', missing: false };
  const erc = o.extendedResultCode ?? 0;
  if (typeof erc !== 'number' || !Number.isFinite(erc))
    return { ok: false, why: '"extendedResultCode" is not a number', missing: false };
  const details =
    typeof o.resultDetails === 'string' && o.resultDetails.length > 0 ? capDetails(o.resultDetails) : undefined;
  // ADUC_Result holds int32 values; ERCs are shown unsigned (formatErc), so keep them as uint32.
  return { ok: true, result: result(Math.trunc(o.resultCode) | 0, Math.trunc(erc) >>> 0, details) };
}

/** What the mapping needs to name things in result details. */
export interface RunDescription {
  /** e.g. `install-camera.sh --action-install` (as the script saw its action). */
  what: string;
  resultFile: string;
  timeoutSeconds: number;
  /** Result of a clean exit (0) without any result file; default: failure 0x30500205. */
  whenNoResultFile?: AducResult;
}

/** Maps a finished run (and, after exit 0, its result file) to the step's result. */
export async function resultFromOutcome(outcome: ScriptRunOutcome, run: RunDescription): Promise<AducResult> {
  switch (outcome.kind) {
    case 'spawn-failed': {
      const code = (outcome.error as NodeJS.ErrnoException).code;
      return result(
        ResultCode.Failure,
        ScriptErc.SpawnFailed,
        capDetails(
          `cannot start ${run.what}: ${code ?? outcome.error.message} (interpreter in its #! line missing, or no permission to run it?)`,
        ),
      );
    }
    case 'aborted':
      return result(
        ResultCode.FailureCancelled,
        Erc.WorkflowCancelled,
        capDetails(`${run.what} cancelled: SIGTERM${outcome.forced ? ' then SIGKILL' : ''} sent to its process group`),
      );
    case 'timed-out':
      return result(
        ResultCode.Failure,
        ScriptErc.Timeout,
        detailsWithTail(
          `${run.what} did not finish within ${run.timeoutSeconds} s (timeoutSeconds): SIGTERM${outcome.forced ? ' then SIGKILL' : ''} sent to its process group`,
          outcome.stderrTail,
        ),
      );
    case 'signalled':
      return result(
        ResultCode.Failure,
        ScriptErc.KilledBySignal,
        detailsWithTail(`${run.what} was killed by signal ${outcome.signal}`, outcome.stderrTail),
      );
    case 'exited': {
      if (outcome.exitCode !== 0) {
        return result(
          ResultCode.Failure,
          childProcessExitErc(outcome.exitCode),
          detailsWithTail(`${run.what} exited with code ${outcome.exitCode}`, outcome.stderrTail),
        );
      }
      const read = await readResultFile(run.resultFile);
      if (!read.ok && read.missing && run.whenNoResultFile !== undefined) return run.whenNoResultFile;
      if (!read.ok) {
        return result(
          ResultCode.Failure,
          ScriptErc.ResultFileUnreadable,
          capDetails(`${run.what} exited 0 but its result file '${run.resultFile}' is unusable: ${read.why}`),
        );
      }
      const r = read.result;
      if (r.resultCode <= 0 && r.extendedResultCode === 0) return { ...r, extendedResultCode: ScriptErc.ResultErcZero };
      return r;
    }
  }
}
