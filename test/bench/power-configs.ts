/**
 * `pnpm bench:power-configs [--stored 10000] [--creates 200]`: what
 * enlisting machines one by one costs the controller when many machines with BMCs are stored
 * (issue 7: each create used to make the rack's session read every machine). A real controller
 * process (SQLite, plaintext gRPC) with `--stored` machines seeded with power settings; a stand-in
 * rack on one gRPC session receives their power configs, then `--creates` machines are created
 * through the API one at a time. Figures, not assertions: wall time, the controller's CPU time
 * (/proc/<pid>/stat) and the power configs the rack received.
 * Ends with `power-configs: <n> creates with <m> stored in <s> s, controller cpu <ms> ms per create`.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { credentials, Metadata } from '@grpc/grpc-js';
import { openSqliteStore } from '@ingot/controller';
import { newMachine } from '@ingot/controller/testing';
import {
  RackServiceClient,
  RegisterRequest,
  SessionRequest,
  type RegisterResponse,
  type SessionResponse,
} from '@ingot/proto/rack/v1';
import { api } from '../harness/api.ts';
import {
  startControllerProc,
  tempDir,
  waitFor,
  type ControllerProc,
} from '../harness/processes.ts';

const { values } = parseArgs({
  options: {
    stored: { type: 'string', default: '10000' },
    creates: { type: 'string', default: '200' },
  },
});
const count = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`--${name} must be a whole number, not ${String(v)}`);
  return n;
};
const STORED = count('stored', values.stored);
const CREATES = count('creates', values.creates);

const bmc = (i: number): { type: string; params: Record<string, unknown> } => ({
  type: 'ipmi',
  params: { address: `10.9.${(i >> 8) & 255}.${i & 255}`, username: 'admin', password: `pw-${i}` },
});

/** User plus system CPU time of `pid`, in ms (`/proc/<pid>/stat` fields 14 and 15, 100 Hz). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const log = (line: string): void =>
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
const work = tempDir('bench-power-configs');
let controller: ControllerProc | undefined;
let client: RackServiceClient | undefined;
try {
  const dataDir = join(work.path, 'controller');
  mkdirSync(dataDir);
  const store = await openSqliteStore(join(dataDir, 'ingot.db'));
  for (let from = 0; from < STORED; from += 1000) {
    await store.transaction(async (tx) => {
      for (let i = from; i < Math.min(STORED, from + 1000); i++)
        await tx.insertMachine(
          newMachine({ hostname: `stored-${String(i).padStart(5, '0')}`, power: bmc(i) }),
        );
    });
  }
  await store.close();
  controller = await startControllerProc({ dataDir, args: ['--insecure-grpc'] });
  const ctl = controller;
  log(`controller ${ctl.pid} with ${STORED} machines stored`);

  const token = await api<{ token: string }>(
    ctl.url,
    ctl.adminKey,
    'POST',
    '/api/v1/racks/enroll-tokens',
  );
  const rackClient = new RackServiceClient(ctl.grpc, credentials.createInsecure());
  client = rackClient;
  const rack = await new Promise<RegisterResponse>((resolve, reject) => {
    rackClient.register(
      RegisterRequest.fromPartial({
        enrollmentToken: token.body.token,
        hostname: 'bench-rack',
        version: 'bench',
      }),
      (e, r) => (e === null ? resolve(r) : reject(e)),
    );
  });
  const metadata = new Metadata();
  metadata.set('x-ingot-rack-id', rack.rackId);
  metadata.set('x-ingot-rack-secret', rack.rackSecret);
  const session = rackClient.session(metadata);
  session.on('error', () => undefined);
  const polled = new Set<string>();
  let messages = 0;
  session.on('data', (m: SessionResponse) => {
    const cmd = m.kind?.$case === 'command' ? m.kind.value.kind : undefined;
    if (cmd?.$case !== 'powerConfig') return;
    messages++;
    if (cmd.value.driver === '') polled.delete(cmd.value.machineId);
    else polled.add(cmd.value.machineId);
  });
  session.write(
    SessionRequest.fromPartial({
      kind: { $case: 'hello', value: { hostname: 'bench-rack', version: 'bench' } },
    }),
  );
  const t0 = Date.now();
  await waitFor(
    'the stored machines’ power configs',
    () => Promise.resolve(polled.size >= STORED ? true : undefined),
    120_000,
  );
  log(`session start: ${messages} power configs in ${Date.now() - t0} ms`);

  messages = 0;
  const cpu0 = cpuMs(ctl.pid);
  const t1 = Date.now();
  for (let i = 0; i < CREATES; i++) {
    const j = STORED + i;
    const r = await api(ctl.url, ctl.adminKey, 'POST', '/api/v1/machines', {
      hostname: `created-${i}`,
      arch: 'amd64',
      macs: [
        `52:f3:${[j >> 16, (j >> 8) & 255, j & 255].map((b) => b.toString(16).padStart(2, '0')).join(':')}:00`,
      ],
      commission: false,
      power: bmc(j),
    });
    if (r.status !== 201) throw new Error(`create ${i}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  await waitFor(
    'the created machines’ power configs',
    () => Promise.resolve(polled.size >= STORED + CREATES ? true : undefined),
    120_000,
  );
  const seconds = (Date.now() - t1) / 1000;
  const cpu = cpuMs(ctl.pid) - cpu0;
  log(
    `${CREATES} creates: ${seconds.toFixed(1)} s, controller cpu ${cpu} ms, ${messages} power configs sent`,
  );
  console.log(
    `power-configs: ${CREATES} creates with ${STORED} stored in ${seconds.toFixed(1)} s, controller cpu ${(cpu / Math.max(1, CREATES)).toFixed(1)} ms per create`,
  );
  session.end();
} finally {
  client?.close();
  await controller?.stop();
  work.cleanup();
}
