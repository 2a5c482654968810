/** An {@link EventBus} that records what was published and still delivers it; for tests. */
import { createMemoryEventBus } from '../app/memory-event-bus.ts';
import type { EventBus } from '../app/ports.ts';
import type { EventRecord } from '../domain/event.ts';

/** Delivers like the in-memory bus and keeps every published event in `published`. */
export class RecordingEventBus implements EventBus {
  /** Every event published, in publish order. */
  readonly published: EventRecord[] = [];
  readonly #inner: EventBus = createMemoryEventBus((e) => {
    throw e;
  });

  publish(events: readonly EventRecord[]): void {
    this.published.push(...events);
    this.#inner.publish(events);
  }

  subscribe(listener: (event: EventRecord) => void): () => void {
    return this.#inner.subscribe(listener);
  }

  /** Forgets the events recorded so far. */
  clear(): void {
    this.published.length = 0;
  }
}
