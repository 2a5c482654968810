/** Collects events from the controller's `/ws` stream for assertions. */
import WebSocket from 'ws';
import type { EventJson } from './api.ts';

/** An open event stream and everything received on it. */
export interface EventTap {
  readonly events: EventJson[];
  close(): void;
}

/** Opens `/ws` (optionally for one machine) and records every event. Resolves once open. */
export async function tapEvents(url: string, key: string, machineId?: string): Promise<EventTap> {
  const wsUrl = new URL('/ws', url.replace(/^http/, 'ws'));
  if (machineId !== undefined) wsUrl.searchParams.set('machine', machineId);
  const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${key}` } });
  const events: EventJson[] = [];
  ws.on('message', (data: Buffer) => events.push(JSON.parse(data.toString('utf8')) as EventJson));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { events, close: () => ws.close() };
}
