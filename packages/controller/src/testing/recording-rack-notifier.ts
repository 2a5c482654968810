/** A {@link RackNotifier} that only records which racks it was told about; for tests. */
import type { RackNotifier } from '../app/ports.ts';

/** Records every `commandsQueued` call, in order. */
export class RecordingRackNotifier implements RackNotifier {
  /** Rack ids, one per call. */
  readonly calls: string[] = [];

  commandsQueued(rackId: string): void {
    this.calls.push(rackId);
  }

  /** Forgets the calls recorded so far. */
  clear(): void {
    this.calls.length = 0;
  }
}
