/**
 * The agent's {@link FileSource}: update files come from the twin's `fileUrls` (file id → URL),
 * are downloaded into the workflow's work folder with range resume, and are checked against the
 * manifest's size and SHA-256 before the path is handed to the planner, so no byte of an
 * unverified file reaches a handler (`reference/adu-agent.md` §5.4 step 8).
 *
 * Unlike the ADU agent (which deletes the sandbox before every Download phase, §8.4), the work
 * folder survives a restart: a verified file is reused, a partial one resumed.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { validateFileName, verifyFile } from '../manifest/files.js';
import { isSensorProxyError } from '../model/errors.js';
import type { Logger } from '../model/logger.js';
import type { UpdateFile } from '../model/update.js';
import type { FileSource } from '../workflow/file-source.js';
import { HubErc, HubError } from './hub-error.js';
import { downloadWithResume, redactUrl } from './http-download.js';
import { childLog } from '../../drivers/shared/child-log.js';

export interface HubFileSourceOptions {
  /** The twin's `fileUrls`: file id → URL (for the parent and every child update). */
  fileUrls: Readonly<Record<string, string>>;
  log: Logger;
  /** Requests per file, default 5; see {@link downloadWithResume}. */
  attempts?: number;
  /** First retry back-off, ms, default 500. */
  retryDelayMs?: number;
  /** Idle timeout per response, ms, default 60000. */
  idleTimeoutMs?: number;
  /** Called once per file downloaded (not for reused ones), for logs and tests. */
  onDownloaded?: (info: { fileId: string; fileName: string; resumedFrom: number[]; requests: number }) => void;
}

export class HubFileSource implements FileSource {
  readonly description = 'IoT Hub fileUrls';
  constructor(private readonly o: HubFileSourceOptions) {}

  /**
   * Returns the verified path of `file` in `destDir`: reused when already there and valid,
   * downloaded (resuming `<name>.part`) otherwise. A file failing size or hash is deleted, so a
   * retry downloads it afresh.
   * @throws HubError `HUB_DOWNLOAD_FAILED`; SensorProxyError `FILE_SIZE_MISMATCH`, `FILE_HASH_MISMATCH`, `WORKFLOW_CANCELLED`.
   */
  async materialize(file: UpdateFile, destDir: string, signal?: AbortSignal): Promise<string> {
    validateFileName(file.fileName);
    const dest = join(destDir, file.fileName);
    try {
      await verifyFile(dest, file, signal);
      this.o.log.debug({ fileId: file.id, path: dest }, 'file already downloaded and valid');
      return dest;
    } catch (e) {
      if (!isSensorProxyError(e)) throw e;
      if (e.code === 'WORKFLOW_CANCELLED') throw e;
      if (e.code !== 'FILE_MISSING') await rm(dest, { force: true });
    }
    const url = this.o.fileUrls[file.id];
    if (typeof url !== 'string' || url === '') {
      throw new HubError('HUB_DOWNLOAD_FAILED', `fileUrls has no URL for file ${file.id} (${file.fileName})`, {
        erc: HubErc.DownloadNoUrl,
        details: { fileId: file.id },
      });
    }
    const log = childLog(this.o.log, { fileId: file.id, fileName: file.fileName });
    log.info({ url: redactUrl(url), sizeInBytes: file.sizeInBytes }, 'downloading');
    const r = await downloadWithResume({
      url,
      dest,
      sizeInBytes: file.sizeInBytes,
      log,
      ...(this.o.attempts !== undefined && { attempts: this.o.attempts }),
      ...(this.o.retryDelayMs !== undefined && { retryDelayMs: this.o.retryDelayMs }),
      ...(this.o.idleTimeoutMs !== undefined && { idleTimeoutMs: this.o.idleTimeoutMs }),
      ...(signal && { signal }),
    });
    try {
      await verifyFile(dest, file, signal);
    } catch (e) {
      if (isSensorProxyError(e) && e.code !== 'WORKFLOW_CANCELLED') await rm(dest, { force: true });
      throw e;
    }
    log.info({ resumedFrom: r.resumedFrom, requests: r.requests }, 'downloaded and verified');
    this.o.onDownloaded?.({ fileId: file.id, fileName: file.fileName, ...r });
    return dest;
  }
}
