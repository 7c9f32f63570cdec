/**
 * The cached root key package: `<stateDir>/rootkeys/rootkeys.json` (the ADU agent keeps it in
 * `/var/lib/adu/rootkeystore/rootkeys.json`), the downloaded text byte for byte, replaced
 * atomically. It is verified against the trust anchors every time it is read, so a file changed
 * on disk, or one left by other anchors, is never trusted.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../model/logger.js';
import { writeFileAtomic } from '../workflow/atomic-file.js';
import { HubError } from './hub-error.js';
import type { RootKey } from './jws.js';
import { parseRootKeyPackage, RootKeyErc, verifyRootKeyPackage, type RootKeyPackage } from './root-key-package.js';

/** Where the package is cached under the state folder. */
export function rootKeyStorePath(stateDir: string): string {
  return join(stateDir, 'rootkeys', 'rootkeys.json');
}

export class RootKeyStore {
  readonly path: string;

  constructor(
    stateDir: string,
    private readonly anchors: readonly RootKey[],
  ) {
    this.path = rootKeyStorePath(stateDir);
  }

  /**
   * The cached package, verified; undefined when there is none or it cannot be trusted (then it
   * is logged and left in place for inspection; the next valid download replaces it).
   */
  async load(log: Logger): Promise<RootKeyPackage | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      log.warn({ err: e, path: this.path }, 'cannot read the cached root key package; ignoring it');
      return undefined;
    }
    try {
      const pkg = parseRootKeyPackage(text);
      verifyRootKeyPackage(pkg, this.anchors);
      return pkg;
    } catch (e) {
      log.warn(
        { err: e, path: this.path },
        'the cached root key package does not verify against the trusted root keys; ignoring it',
      );
      return undefined;
    }
  }

  /**
   * Replaces the cache with `text` (already verified by the caller).
   * @throws HubError `HUB_ROOT_KEY_PACKAGE_INVALID` (ERC 0x80600007) when it cannot be written.
   */
  async save(text: string): Promise<void> {
    try {
      await writeFileAtomic(this.path, text);
    } catch (e) {
      throw new HubError(
        'HUB_ROOT_KEY_PACKAGE_INVALID',
        `cannot store the root key package in ${this.path}: ${(e as Error).message}`,
        { erc: RootKeyErc.CannotWriteToStore, cause: e },
      );
    }
  }
}
