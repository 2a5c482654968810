/**
 * N controller processes on one PostgreSQL database, as an operator runs them: the first creates
 * the admin, the others get its `secrets.key` (it seals BMC passwords and the rack CA key) and,
 * for the harness, its `admin.key`. Each can be killed with SIGKILL and restarted in place (same
 * data directory, same ports) by index; the harness knows every PID it started and signals only
 * those. {@link startCluster} in cluster.ts adds a rack agent; tests without one use this alone.
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, launch, type Proc } from './processes.ts';

/** Starts a command (node's `spawn`, or a lab namespace's, which keeps the PID). */
export type { Spawner } from './processes.ts';

/** Options of {@link startControllers}. */
export interface ControllersOptions {
  /** `postgres://…` of an empty database every controller shares. */
  readonly databaseUrl: string;
  readonly controllers: number;
  /** Directory holding `controller-<i>/` (the caller removes it). */
  readonly workDir: string;
  /** Address controllers listen on (default 127.0.0.1; the lab uplink's host address for a lab). */
  readonly host?: string;
  /**
   * More controller flags, for all or per index. Flags naming the database themselves
   * (`--database URL`) replace the default `--db URL`.
   */
  readonly controllerArgs?: readonly string[] | ((index: number) => readonly string[]);
  /** Called with each line-buffered chunk a process writes, tagged (`c0`, `agent` …). */
  readonly onOutput?: (who: string, text: string) => void;
}

/** One controller slot: its fixed address and the process now running in it (if any). */
export interface ClusterController {
  readonly index: number;
  readonly dataDir: string;
  readonly url: string;
  readonly grpc: string;
  /** The admin's API key (the same for every controller of the cluster). */
  readonly adminKey: string;
  /** The running process, undefined while killed. */
  proc: Proc | undefined;
  /** PIDs this slot has had, oldest first. */
  readonly pids: number[];
}

/** Running controllers; see the module comment. */
export interface Controllers {
  readonly controllers: readonly ClusterController[];
  readonly adminKey: string;
  /** A controller that is running now (the lowest index). */
  live(): ClusterController;
  /** SIGKILLs controller `i` (if running) and waits until it is gone. Returns its PID. */
  killController(i: number): Promise<number | undefined>;
  /** Starts controller `i` again on its data directory and ports. */
  restartController(i: number): Promise<void>;
  /** Stops every controller running (SIGTERM, then SIGKILL), by PID. */
  close(): Promise<void>;
}

/** SIGKILLs `proc` (if any) and waits until it is gone. Returns its PID. */
export async function killHard(proc: Proc | undefined): Promise<number | undefined> {
  if (proc === undefined) return undefined;
  proc.signal('SIGKILL');
  await proc.exited;
  return proc.pid;
}

/** Starts the controllers one after another (the first creates the admin). */
export async function startControllers(options: ControllersOptions): Promise<Controllers> {
  const host = options.host ?? '127.0.0.1';
  const emit = options.onOutput ?? (() => undefined);
  const extraArgs = (i: number): readonly string[] => {
    const args = options.controllerArgs ?? [];
    return typeof args === 'function' ? args(i) : args;
  };
  const slots: { -readonly [K in keyof ClusterController]: ClusterController[K] }[] = [];
  for (let i = 0; i < options.controllers; i++) {
    const dataDir = join(options.workDir, `controller-${String(i)}`);
    mkdirSync(dataDir, { recursive: true });
    const [http, grpc] = [await freePort(), await freePort()];
    slots.push({
      index: i,
      dataDir,
      url: `http://${host}:${String(http)}`,
      grpc: `${host}:${String(grpc)}`,
      adminKey: '',
      proc: undefined,
      pids: [],
    });
  }

  const startController = async (slot: ClusterController): Promise<void> => {
    const extra = extraArgs(slot.index);
    const namesDb = extra.some((a) => a === '--db' || a === '--database');
    const proc = await launch(
      [
        'controller',
        '--data',
        slot.dataDir,
        '--http',
        slot.url.slice('http://'.length),
        '--grpc',
        slot.grpc,
        ...(namesDb ? [] : ['--db', options.databaseUrl]),
        '--log-level',
        'warn',
        ...extra,
      ],
      /listening on http:/,
      { onOutput: (t) => emit(`c${String(slot.index)}`, t), timeoutMs: 60_000 },
    );
    slot.proc = proc;
    slot.pids.push(proc.pid);
  };

  const close = async (): Promise<void> => {
    await Promise.all(slots.flatMap((s) => (s.proc === undefined ? [] : [s.proc.stop()])));
  };

  try {
    const first = slots[0];
    if (first === undefined) throw new Error('a cluster needs at least one controller');
    await startController(first);
    // Every controller on one database shares the first one's sealing key (BMC passwords, the
    // rack CA) and, for the harness, its admin key.
    for (const s of slots.slice(1)) {
      for (const f of ['secrets.key', 'admin.key']) {
        copyFileSync(join(first.dataDir, f), join(s.dataDir, f));
      }
      await startController(s);
    }
    const adminKey = readFileSync(join(first.dataDir, 'admin.key'), 'utf8').trim();
    for (const s of slots) s.adminKey = adminKey;

    const slot = (i: number): ClusterController => {
      const s = slots[i];
      if (s === undefined) throw new Error(`no controller ${String(i)}`);
      return s;
    };
    return {
      controllers: slots,
      adminKey,
      live() {
        const s = slots.find((c) => c.proc !== undefined);
        if (s === undefined) throw new Error('no controller is running');
        return s;
      },
      async killController(i) {
        const s = slot(i);
        const pid = await killHard(s.proc);
        s.proc = undefined;
        return pid;
      },
      async restartController(i) {
        const s = slot(i);
        if (s.proc !== undefined) return;
        await startController(s);
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
