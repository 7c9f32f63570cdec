/**
 * The root key refresh that runs before a deployment's manifest signature is checked
 * (`reference/adu-agent.md` §5.4 step 1; ADU `RootKeyWorkflow_UpdateRootKeys`):
 *
 * ```text
 * rootKeyPackageUrl ─GET (same downloader as update files)─▶ parse ─▶ signed by every anchor? ─┬─ no ─▶ deployment fails, cache untouched
 *                    └─ unreachable / no URL ─▶ cached package, else the anchors alone        └─ yes ─▶ newer than the cache? ─ yes ─▶ cache it
 *                                                                                                                               └ no ─▶ keep the cache
 * ```
 *
 * The result is the manifest signature trust: anchors + the package's root keys, minus its
 * disabled root keys and signing keys.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isSensorProxyError } from '../model/errors.js';
import type { Logger } from '../model/logger.js';
import { isHubError } from './hub-error.js';
import { downloadWithResume, redactUrl } from './http-download.js';
import type { RootKey } from './jws.js';
import type { SignatureTrust } from './manifest-signature.js';
import {
  comparePackages,
  parseRootKeyPackage,
  RootKeyErc,
  trustWithPackage,
  verifyRootKeyPackage,
  type RootKeyPackage,
} from './root-key-package.js';
import { RootKeyStore } from './root-key-store.js';
import { HubError } from './hub-error.js';

/** A root key package is a few KiB; anything bigger than this is not one. */
export const ROOT_KEY_PACKAGE_MAX_BYTES = 1024 * 1024;

export interface RootKeyRefreshOptions {
  /** Trust anchors: every one must sign a package (ADU: the hardcoded root keys). */
  anchors: readonly RootKey[];
  /** The anchors are the built-in production roots: a test package (`isTest`) is refused, as by a production ADU agent. */
  productionAnchors: boolean;
  stateDir: string;
  /** The download goes to `<workDir>/rootkeys/`. */
  workDir: string;
  download?: { attempts?: number; retryDelayMs?: number; idleTimeoutMs?: number };
}

export interface RootKeyRefresh {
  trust: SignatureTrust;
  /** Where the trust came from: a package downloaded now, the cached one, or the anchors alone. */
  source: 'downloaded' | 'cache' | 'anchors';
  /** Version of the package in force, if any. */
  version?: number;
}

/**
 * Brings the cached root key package up to date from `url` and returns the trust to verify the
 * manifest with.
 * @throws HubError `HUB_ROOT_KEY_PACKAGE_INVALID` (ADU's ERC) when the downloaded package is
 *   malformed, not signed by every anchor, a test package on production anchors, or cannot be
 *   stored; SensorProxyError `WORKFLOW_CANCELLED`.
 */
export async function refreshRootKeys(
  url: string | undefined,
  o: RootKeyRefreshOptions,
  workflowId: string,
  log: Logger,
  signal: AbortSignal,
): Promise<RootKeyRefresh> {
  const store = new RootKeyStore(o.stateDir, o.anchors);
  const cached = await store.load(log);
  const fallback = (why: string): RootKeyRefresh => {
    if (cached) {
      log.warn(
        { path: store.path, version: cached.version, published: cached.published },
        `${why}; using the cached root key package`,
      );
      return { trust: trustWithPackage(o.anchors, cached), source: 'cache', version: cached.version };
    }
    log.warn(
      { rootKids: o.anchors.map((k) => k.kid) },
      `${why}; no cached root key package, using the trusted root keys alone`,
    );
    return { trust: trustWithPackage(o.anchors, undefined), source: 'anchors' };
  };
  if (!url) return fallback('the deployment has no rootKeyPackageUrl');

  const text = await download(url, o, workflowId, log, signal);
  if (text === undefined) return fallback(`root key package ${redactUrl(url)} is unreachable`);

  const pkg = parseRootKeyPackage(text);
  verifyRootKeyPackage(pkg, o.anchors);
  if (pkg.isTest && o.productionAnchors) {
    throw new HubError(
      'HUB_ROOT_KEY_PACKAGE_INVALID',
      'root key package: a test package (isTest) is not accepted with the production root keys',
      { erc: RootKeyErc.TestPackageOnProdAgent },
    );
  }
  const fields = { version: pkg.version, published: pkg.published, path: store.path };
  const order = cached ? comparePackages(cached, pkg) : 'newer';
  if (order === 'same') {
    log.debug(fields, 'root key package unchanged');
    return { trust: trustWithPackage(o.anchors, cached), source: 'cache', version: pkg.version };
  }
  if (order === 'older') {
    // Never roll back: the cached package may disable keys the older one still trusts.
    log.warn(
      { ...fields, cachedVersion: cached!.version, cachedPublished: cached!.published },
      'the downloaded root key package is older than the cached one; keeping the cached package',
    );
    return { trust: trustWithPackage(o.anchors, cached), source: 'cache', version: cached!.version };
  }
  await store.save(text);
  log.info(
    {
      ...fields,
      previousVersion: cached?.version,
      rootKids: pkg.rootKeys.map((k) => k.kid),
      disabledRootKeys: pkg.disabledRootKeys,
      disabledSigningKeys: pkg.disabledSigningKeys.length,
    },
    'root key package verified and stored',
  );
  return { trust: trustWithPackage(o.anchors, pkg), source: 'downloaded', version: pkg.version };
}

/** The package's text, or undefined when it cannot be fetched (logged by the caller). */
async function download(
  url: string,
  o: RootKeyRefreshOptions,
  workflowId: string,
  log: Logger,
  signal: AbortSignal,
): Promise<string | undefined> {
  const dest = join(o.workDir, 'rootkeys', `${workflowId.replace(/[^A-Za-z0-9._-]/g, '_')}.rootkeys.json`);
  // A package may change between two fetches: never resume a stale partial file.
  await rm(`${dest}.part`, { force: true });
  try {
    await downloadWithResume({
      url,
      dest,
      sizeInBytes: ROOT_KEY_PACKAGE_MAX_BYTES,
      sizeIsLimit: true,
      log: log.child({ component: 'hub.rootkeys' }),
      signal,
      ...o.download,
    });
    return await readFile(dest, 'utf8');
  } catch (e) {
    if (isSensorProxyError(e) && e.code === 'WORKFLOW_CANCELLED') throw e;
    if (!isHubError(e, 'HUB_DOWNLOAD_FAILED')) throw e;
    log.warn({ err: e, url: redactUrl(url) }, 'root key package download failed');
    return undefined;
  } finally {
    await rm(dest, { force: true });
    await rm(`${dest}.part`, { force: true });
  }
}

export type { RootKeyPackage };
