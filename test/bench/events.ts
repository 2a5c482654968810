/**
 * Event throughput agent → controller → `/ws` client: a controller and an enrolled agent in this
 * process, one deploying machine, N step events recorded in the agent's durable outbox, timed
 * until the last one arrives on a websocket.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { silentLogger } from '@ingot/common';
import { startController } from '@ingot/controller';
import { defaultAgentConfig, startAgent } from '@ingot/rack-agent';
import { api } from '../harness/api.ts';
import { freePort, tempDir, waitFor } from '../harness/processes.ts';
import { tapEvents } from '../harness/ws.ts';
import type { BenchResult } from './stats.ts';

/** Runs the event throughput benchmark with `count` events. */
export async function benchEvents(count: number): Promise<BenchResult> {
  const cdir = tempDir('bench-ev-c');
  const adir = tempDir('bench-ev-a');
  const controller = await startController(
    {
      dataDir: cdir.path,
      http: { host: '127.0.0.1', port: 0 },
      grpc: { host: '127.0.0.1', port: 0 },
    },
    silentLogger,
  );
  const key = readFileSync(controller.adminKeyFile, 'utf8').trim();
  const token = await api<{ token: string }>(
    controller.httpUrl,
    key,
    'POST',
    '/api/v1/racks/enroll-tokens',
  );
  const agent = await startAgent(
    defaultAgentConfig({
      controllers: [controller.grpcAddress],
      enrollmentToken: token.body.token,
      dataDir: adir.path,
      interfaces: [],
      http: { host: '127.0.0.1', port: await freePort() },
      hostname: hostname(),
    }),
    { logger: silentLogger },
  );
  try {
    const created = await api<{ id: string }>(controller.httpUrl, key, 'POST', '/api/v1/machines', {
      macs: ['52:54:00:be:00:01'],
      commission: false,
    });
    const id = created.body.id;
    await api(controller.httpUrl, key, 'POST', '/api/v1/machines/allocate', { name: id });
    await api(controller.httpUrl, key, 'POST', `/api/v1/machines/${id}/deploy`, {});
    await waitFor('the boot plan on the agent', () =>
      Promise.resolve(agent.store.bootPlan(id) === undefined ? undefined : true),
    );
    const tap = await tapEvents(controller.httpUrl, key, id);
    const before = tap.events.length;
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      agent.events.recordStatus({
        machineId: id,
        step: 'install.image',
        result: 'info',
        message: `chunk ${i}`,
      });
    }
    const recordedMs = performance.now() - start;
    await waitFor(
      `${count} events on /ws`,
      () =>
        Promise.resolve(
          tap.events.filter((e) => e.step === 'install.image').length >= count ? true : undefined,
        ),
      300_000,
    );
    const totalMs = performance.now() - start;
    tap.close();
    return {
      name: `events agent → controller → /ws (${count})`,
      figures: {
        'events/s end to end': count / (totalMs / 1000),
        'events/s into the durable outbox': count / (recordedMs / 1000),
        'ws events beyond the steps': tap.events.length - before - count,
      },
    };
  } finally {
    await agent.close();
    await controller.close();
    cdir.cleanup();
    adir.cleanup();
  }
}
