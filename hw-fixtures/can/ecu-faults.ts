/**
 * Fault switches of the ECU simulator (style anchors §5): each reproduces a real-world misbehaviour.
 * Set them on `EcuSimulator.faults` at any time; counters tell how often each fired.
 */
export interface EcuFaults {
  /** Drop the next `count` outgoing frames of `kind` (after skipping `skip` of them). */
  dropFrame?: { kind: 'SF' | 'FF' | 'CF' | 'FC'; count: number; skip?: number };
  /** Delay each flow control by `delayMs`, sending `waitFrames` FC.WAIT frames (one per delay) first. */
  lateFlowControl?: { delayMs: number; waitFrames?: number; count?: number };
  /** Answer NRC 0x78 `count` times (every `intervalMs`) before the real answer to `sid` (any when unset). */
  responsePendingStorm?: { count: number; intervalMs?: number; sid?: number };
  /** Reset (power cycle: session, security and download state lost) when TransferData block `afterBlocks + 1` arrives. */
  resetMidTransfer?: { afterBlocks: number };
  /** Answer TransferData block number `block` (1-based count of blocks) with `nrc` (default 0x72), `times` times (default 1). */
  refuseBlock?: { block: number; nrc?: number; times?: number };
  /**
   * Hold the next `count` (default 1) positive responses to `sid` back by `delayMs` (after skipping
   * `skip` of them), with no NRC 0x78: longer than the tester's P2, the tester resends and then gets
   * this late answer and the one to its resend (a loaded ECU or gateway).
   */
  lateResponse?: { sid: number; delayMs: number; count?: number; skip?: number };
}

/** How often each fault fired. */
export interface EcuFaultCounters {
  framesDropped: number;
  lateFlowControls: number;
  pendingSent: number;
  resets: number;
  blocksRefused: number;
  lateResponses: number;
}
