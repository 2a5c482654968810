/**
 * Synchronous in-process event fan-out: `publish` hands the events straight to the subscribers.
 * The tests' `RecordingEventBus` is built on it. A running controller uses the event feed instead
 * (`cluster/event-feed.ts`). The feed delivers from the event log by seq, so subscribers see
 * every controller's events once and in order, even when services publish after their commits
 * in a different order.
 */
import type { EventRecord } from '../domain/event.ts';
import type { EventBus } from './ports.ts';

/** Creates an {@link EventBus} that delivers synchronously to every subscriber. */
export function createMemoryEventBus(
  onListenerError: (e: unknown) => void = () => undefined,
): EventBus {
  const listeners = new Set<(event: EventRecord) => void>();
  return {
    publish(events) {
      for (const event of events) {
        for (const listener of listeners) {
          try {
            listener(event);
          } catch (e) {
            onListenerError(e);
          }
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
