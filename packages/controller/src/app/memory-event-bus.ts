/**
 * In-process event fan-out. One controller process publishes what it stored; websockets
 * subscribe. (Several controllers on PostgreSQL will add a LISTEN/NOTIFY bus behind the same port.)
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
