import { constants } from 'node:fs';
import { copyFile, mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { verifyFile } from '../manifest/files.js';
import { SensorProxyError } from '../model/errors.js';
import type { UpdateFile } from '../model/update.js';

/**
 * Where update files come from. `materialize` puts a verified copy of `file` into `destDir` and
 * returns its path; it throws FILE_* errors (missing, size or hash mismatch) and never returns an
 * unverified file. The CLI uses {@link LocalFileSource}; the hub agent a downloading source.
 */
export interface FileSource {
  materialize(file: UpdateFile, destDir: string, signal?: AbortSignal): Promise<string>;
  /** Human description for errors and dry-run output (`folder /x`, `IoT Hub fileUrls`). */
  readonly description: string;
}

/** Files from a local folder (`flash --files DIR`), found by file name. */
export class LocalFileSource implements FileSource {
  readonly description: string;
  constructor(private readonly dir: string) {
    this.description = `folder ${dir}`;
  }

  async materialize(file: UpdateFile, destDir: string, signal?: AbortSignal): Promise<string> {
    const src = join(this.dir, file.fileName);
    const st = await stat(src).catch(() => undefined);
    if (!st?.isFile()) {
      throw new SensorProxyError('FILE_MISSING', `update file ${file.fileName} is not in ${this.dir}`, {
        details: { fileName: file.fileName, dir: this.dir },
        hint: 'put the file beside the manifest, or pass the folder holding it with --files DIR',
      });
    }
    await mkdir(destDir, { recursive: true });
    const dest = join(destDir, file.fileName);
    if (dest !== src) await privateCopy(src, dest);
    // Verify the work-folder copy: that is the one the handler reads.
    await verifyFile(dest, file, signal);
    return dest;
  }
}

/**
 * A copy the handler may change (the script handler makes its script executable) without touching
 * the user's update folder: never a hard link, which shares the inode and so the mode. Where the
 * file system supports it (btrfs, XFS) the copy is a reflink and costs no space.
 */
async function privateCopy(src: string, dest: string): Promise<void> {
  await rm(dest, { force: true });
  await copyFile(src, dest, constants.COPYFILE_FICLONE);
}
