/**
 * What the agent needs from IoT Hub, and nothing more: the desired properties (on connect and on
 * every change) and a way to patch reported properties. {@link SdkTwinLink} implements it on the
 * real `azure-iot-device` SDK; unit tests use an in-memory link.
 */
export interface LinkSink {
  /**
   * Desired properties: the whole desired document after each (re)connect, then each patch
   * fragment as it arrives. `version` is the desired `$version`.
   */
  onDesired(desired: Record<string, unknown>, version: number): void;
  /** A new connection is up (after a drop): the agent re-sends what it reported. */
  onReconnected(): void;
}

export interface HubLink {
  /** Connects (retrying until `signal` fires) and starts delivering to `sink`. */
  start(sink: LinkSink, signal: AbortSignal): Promise<void>;
  /** Patches reported properties; rejects when not connected or when the hub refuses. */
  reportPatch(patch: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}
