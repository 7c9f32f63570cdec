import { isBusError, isCancelled } from '../../drivers/shared/errors.js';
import { errorMessage, isSensorProxyError } from '../model/errors.js';
import { Erc, ResultCode, result, type AducResult } from '../model/result-codes.js';

/**
 * The one place a thrown error becomes an ADU result. Handlers return results for the failures
 * they understand; anything they throw lands here.
 */
export function resultFromError(e: unknown, action: string): AducResult {
  if (isCancelled(e)) return result(ResultCode.FailureCancelled, Erc.WorkflowCancelled, `${action} cancelled`);
  if (isSensorProxyError(e)) {
    const erc =
      e.code === 'FILE_HASH_MISMATCH'
        ? Erc.InvalidFileHash
        : e.code === 'FILE_SIZE_MISMATCH'
          ? Erc.FileSizeMismatch
          : e.code === 'FILE_MISSING'
            ? Erc.FileMissing
            : e.code === 'HANDLER_UNKNOWN'
              ? Erc.WorkflowUnknownHandler
              : e.code.startsWith('MANIFEST_')
                ? Erc.ManifestValidationFailed
                : e.code.startsWith('ENUM_')
                  ? Erc.EnumeratorFailed
                  : e.code === 'WORKFLOW_CANCELLED'
                    ? Erc.WorkflowCancelled
                    : Erc.WorkflowHandlerThrew;
    return result(
      e.code === 'WORKFLOW_CANCELLED' ? ResultCode.FailureCancelled : ResultCode.Failure,
      erc,
      `${action}: ${e.code}: ${e.message}`,
    );
  }
  if (isBusError(e)) return result(ResultCode.Failure, Erc.WorkflowHandlerThrew, `${action}: ${e.code}: ${e.message}`);
  return result(ResultCode.Failure, Erc.WorkflowHandlerThrew, `${action}: ${errorMessage(e)}`);
}

/** ADU caps result details at 1024 characters (`WORKFLOW_RESULT_DETAILS_MAX_LENGTH`). */
export function capDetails(details: string | undefined): string | undefined {
  return details === undefined || details.length <= 1024 ? details : details.slice(0, 1021) + '...';
}
