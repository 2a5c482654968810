import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { EventRecord } from '../domain/event.ts';
import { newEvent, type ServiceFixture } from '../testing/index.ts';
import { MAX_EVENTS_BEHIND } from './event-stream.ts';
import { useEventStreamServer } from './event-stream-fixture.ts';

const T0 = Date.UTC(2026, 0, 1);

function record(seq: number): EventRecord {
  return { ...newEvent({ id: `e${String(seq)}` }), seq, recordedAtMs: T0 };
}

describe('/ws event stream', () => {
  const start = useEventStreamServer();

  async function open(): Promise<{ ws: WebSocket; f: ServiceFixture }> {
    const { fixture: f, port } = await start();
    const ws = new WebSocket(`ws://127.0.0.1:${String(port)}/ws`, {
      headers: { authorization: `Bearer ${f.admin.apiKey}` },
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return { ws, f };
  }

  it('streams live events in order', async () => {
    const { ws, f } = await open();
    const seen: number[] = [];
    ws.on('message', (data: Buffer) =>
      seen.push((JSON.parse(data.toString()) as { seq: number }).seq),
    );
    for (let seq = 1; seq <= 100; seq++) f.bus.publish([record(seq)]);
    await expect.poll(() => seen.length).toBe(100);
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    ws.close();
  });

  it('closes a client that falls too far behind, saying where to resume', async () => {
    const { ws, f } = await open();
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    // More events at once than a client may be behind by: none can be sent before the bound.
    for (let seq = 1; seq <= MAX_EVENTS_BEHIND + 1; seq++) f.bus.publish([record(seq)]);
    const { code, reason } = await closed;
    expect(code).toBe(1013);
    expect(reason).toMatch(/^too slow; reconnect with after=\d+$/);
  });
});
