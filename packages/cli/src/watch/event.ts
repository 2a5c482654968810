/** The event shape `GET /api/v1/events` and `/ws` send, narrowed from JSON for the CLI. */

/** One event, as the CLI reads it. */
export interface StreamEvent {
  readonly seq: number;
  readonly kind: string;
  readonly machineId: string | null;
  readonly step: string;
  readonly result: string;
  readonly message: string;
  readonly fromStatus: string | null;
  readonly toStatus: string | null;
  readonly actor: string;
  readonly data: Readonly<Record<string, unknown>>;
  /** Milliseconds since the epoch, or NaN when the event has no time. */
  readonly occurredAtMs: number;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const strOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** Reads an event from parsed JSON; undefined when it is not one (no numeric `seq`). */
export function toStreamEvent(json: unknown): StreamEvent | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const e = json as Record<string, unknown>;
  if (typeof e.seq !== 'number' || !Number.isInteger(e.seq)) return undefined;
  const data =
    typeof e.data === 'object' && e.data !== null && !Array.isArray(e.data)
      ? (e.data as Record<string, unknown>)
      : {};
  return {
    seq: e.seq,
    kind: str(e.kind),
    machineId: strOrNull(e.machine_id),
    step: str(e.step),
    result: str(e.result),
    message: str(e.message),
    fromStatus: strOrNull(e.from_status),
    toStatus: strOrNull(e.to_status),
    actor: str(e.actor),
    data,
    occurredAtMs: Date.parse(str(e.occurred_at)),
  };
}

/** Bytes done and total when the event reports progress (the installer's `install.image`). */
export function progressOf(e: StreamEvent): { done: number; total: number } | undefined {
  const done = e.data.bytes_done;
  const total = e.data.bytes_total;
  if (typeof done !== 'number' || typeof total !== 'number' || total <= 0) return undefined;
  return { done: Math.min(Math.max(done, 0), total), total };
}

/** The log tail a failed step carries (the installer's last 8 KiB), if any. */
export function logTailOf(e: StreamEvent): string | undefined {
  const tail = e.data.log_tail;
  return typeof tail === 'string' && tail.trim() !== '' ? tail : undefined;
}
