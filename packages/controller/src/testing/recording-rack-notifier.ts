/** A {@link RackNotifier} that only records which racks it was told about; for tests. */
import type { RackNotifier } from '../app/ports.ts';

/** Records every call, in order. */
export class RecordingRackNotifier implements RackNotifier {
  /** Rack ids, one per call. */
  readonly calls: string[] = [];

  /** Rack ids told that BMC access changed, one per call. */
  readonly powerCalls: string[] = [];

  /** The machine ids of each call in {@link powerCalls} (undefined: every machine). */
  readonly powerMachineIds: (readonly string[] | undefined)[] = [];

  commandsQueued(rackId: string): void {
    this.calls.push(rackId);
  }

  powerConfigsChanged(rackId: string, machineIds?: readonly string[]): void {
    this.powerCalls.push(rackId);
    this.powerMachineIds.push(machineIds);
  }

  /** Forgets the calls recorded so far. */
  clear(): void {
    this.calls.length = 0;
    this.powerCalls.length = 0;
    this.powerMachineIds.length = 0;
  }
}
