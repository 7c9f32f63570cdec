import type { HubLink, LinkSink } from '../../src/hub/hub-link.js';

type Obj = Record<string, any>;

/**
 * An in-memory {@link HubLink} for unit tests of the agent logic: the test pushes desired
 * values, the link records reported patches, and can refuse the next N patches (a dropped connection).
 */
export class MemoryLink implements HubLink {
  readonly patches: Obj[] = [];
  sink: LinkSink | undefined;
  /** Patches to refuse before accepting again. */
  failNext = 0;
  private version = 1;
  private waiters: Array<{ pred: () => boolean; resolve: () => void }> = [];

  async start(sink: LinkSink): Promise<void> {
    this.sink = sink;
  }

  async reportPatch(patch: Record<string, unknown>): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('link down');
    }
    this.patches.push(structuredClone(patch));
    for (const w of this.waiters.filter((x) => x.pred())) {
      this.waiters.splice(this.waiters.indexOf(w), 1);
      w.resolve();
    }
  }

  async close(): Promise<void> {}

  /** Delivers a desired `deviceUpdate.service` patch; returns its version. */
  desired(service: unknown): number {
    this.version++;
    this.sink!.onDesired({ deviceUpdate: { __t: 'c', service }, $version: this.version }, this.version);
    return this.version;
  }

  agentReports(): Obj[] {
    return this.patches.map((p) => p.deviceUpdate?.agent).filter((a) => a && 'state' in a);
  }

  acks(): Obj[] {
    return this.patches.map((p) => p.deviceUpdate?.service).filter(Boolean);
  }

  /** Resolves when `pred` holds after some patch; rejects after `timeoutMs`. */
  waitFor(pred: () => boolean, timeoutMs = 10_000): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`MemoryLink: timed out after ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        pred,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      });
    });
  }
}
