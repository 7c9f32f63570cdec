/**
 * Frees the socket buffers a download has already written to disk. Every chunk a socket reads is a
 * fresh 16-64 KiB Buffer whose memory lives outside the V8 heap; it is released only when a
 * scavenge collects its small JS wrapper, and with the agent's 2 × 1 MiB young generation
 * (agent-heap.ts) that happens only after a few hundred MiB of chunks, or when V8's external-memory
 * limit (64 MiB above the last full GC) is hit. Measured on a 64 MiB download: +31 MB of unreleased
 * ArrayBuffers and +38 MB RSS; with a young-generation collection every {@link RECLAIM_EVERY_BYTES}
 * the overhead stays at about +11 MB whatever the file size (issue 6).
 *
 * The collector is node's own `gc` function: `--expose-gc` is set through the documented
 * `v8.setFlagsFromString` only while a fresh `vm` context picks it up, then unset again, so no
 * global `gc` appears in the process. A minor GC of the 2 MiB young generation takes well under a
 * millisecond.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Bytes streamed between two young-generation collections: 2 MiB. */
export const RECLAIM_EVERY_BYTES = 2 * 1024 * 1024;

type GcFunction = (options?: { type?: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;
let collect: GcFunction | undefined;

/** Runs a minor (young-generation) GC, which frees the Buffers no longer referenced. */
export function reclaimStreamBuffers(): void {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    try {
      collect = runInNewContext('gc') as GcFunction;
    } finally {
      setFlagsFromString('--no-expose-gc');
    }
  }
  collect({ type: 'minor' });
}

/** Calls `reclaim` ({@link reclaimStreamBuffers}) each time a stream has passed another `every` bytes. */
export function bufferReclaimer(
  every: number = RECLAIM_EVERY_BYTES,
  reclaim: () => void = reclaimStreamBuffers,
): (chunkBytes: number) => void {
  let sinceLast = 0;
  return (chunkBytes) => {
    sinceLast += chunkBytes;
    if (sinceLast < every) return;
    sinceLast = 0;
    reclaim();
  };
}
