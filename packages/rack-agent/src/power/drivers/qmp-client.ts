/**
 * A minimal QEMU Machine Protocol client (QMP, docs/interop/qmp-spec): one connection per
 * power action, greeting, `qmp_capabilities`, then commands one at a time. Events are kept so
 * a caller can wait for one (`RESET`) that may arrive before or after a command's return.
 */
import { connect, type Socket } from 'node:net';
import { err, ok, type Result } from '@ingot/common';
import type { PowerError } from '../driver.ts';

/** Where QMP listens. */
export type QmpAddress =
  | { readonly kind: 'unix'; readonly path: string }
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

/** An open QMP connection, ready for commands. */
export interface QmpConnection {
  /** Runs `command`; QMP errors are `action` errors carrying QEMU's `desc`. */
  execute(command: string, args?: Record<string, unknown>): Promise<Result<unknown, PowerError>>;
  /**
   * Resolves with the first of `names` seen on this connection so far or later, or undefined
   * on timeout or a broken connection.
   */
  waitForEvent(names: readonly string[], timeoutMs: number): Promise<string | undefined>;
  close(): void;
}

/** Describes an address for messages. */
export function describeQmpAddress(address: QmpAddress): string {
  return address.kind === 'unix' ? `unix:${address.path}` : `tcp:${address.host}:${address.port}`;
}

/**
 * Connects and negotiates capabilities. Connection failures and timeouts are `connection`
 * errors: a QEMU that is not running (or has quit) looks like an unreachable BMC.
 */
export async function openQmp(
  address: QmpAddress,
  options: { readonly timeoutMs: number; readonly signal: AbortSignal },
): Promise<Result<QmpConnection, PowerError>> {
  const where = describeQmpAddress(address);
  const socket: Socket =
    address.kind === 'unix' ? connect(address.path) : connect(address.port, address.host);
  const pending: ((message: Record<string, unknown> | Error) => void)[] = [];
  const events: string[] = [];
  const eventWaiters = new Set<() => void>();
  let failure: Error | undefined;
  let buffer = '';

  const fail = (error: Error): void => {
    failure ??= error;
    for (const p of pending.splice(0)) p(error);
    for (const w of eventWaiters) w();
    socket.destroy();
  };
  const onAbort = (): void => fail(new Error('aborted'));
  options.signal.addEventListener('abort', onAbort, { once: true });
  socket.on('error', (e) => fail(e));
  socket.on('close', () => fail(new Error('QMP connection closed')));
  socket.on('data', (data: Buffer) => {
    buffer += data.toString('utf8');
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line === '') continue;
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        fail(new Error(`QMP sent non-JSON: ${line.slice(0, 80)}`));
        return;
      }
      if (typeof message !== 'object' || message === null) continue;
      const event: unknown = Reflect.get(message, 'event');
      if (typeof event === 'string') {
        events.push(event);
        for (const w of eventWaiters) w();
        continue;
      }
      pending.shift()?.(message as Record<string, unknown>);
    }
  });

  /** The next non-event message, or an error on failure or timeout. */
  const next = (): Promise<Record<string, unknown> | Error> =>
    new Promise((resolve) => {
      if (failure !== undefined) {
        resolve(failure);
        return;
      }
      const timer = setTimeout(() => {
        const e = Object.assign(new Error(`no QMP answer within ${options.timeoutMs} ms`), {
          code: 'ETIMEDOUT',
        });
        fail(e);
      }, options.timeoutMs);
      pending.push((m) => {
        clearTimeout(timer);
        resolve(m);
      });
    });

  const connectionError = (e: Error): PowerError => {
    const code: unknown = Reflect.get(e, 'code');
    const hint =
      code === 'ENOENT' || code === 'ECONNREFUSED'
        ? ' (QEMU not running? A QEMU that has quit cannot be powered on over QMP)'
        : '';
    return {
      kind: 'connection',
      message: `QMP ${where}: ${typeof code === 'string' ? `${code}: ` : ''}${e.message}${hint}`,
    };
  };

  const execute = async (
    command: string,
    args?: Record<string, unknown>,
  ): Promise<Result<unknown, PowerError>> => {
    const reply = next();
    socket.write(
      `${JSON.stringify(args === undefined ? { execute: command } : { execute: command, arguments: args })}\n`,
    );
    const message = await reply;
    if (message instanceof Error) return err(connectionError(message));
    const error: unknown = message['error'];
    if (typeof error === 'object' && error !== null) {
      const desc: unknown = Reflect.get(error, 'desc');
      return err({
        kind: 'action',
        message: `QMP ${command}: ${typeof desc === 'string' ? desc : JSON.stringify(error)}`,
      });
    }
    return ok(message['return']);
  };

  const greeting = await next();
  if (greeting instanceof Error) {
    options.signal.removeEventListener('abort', onAbort);
    return err(connectionError(greeting));
  }
  const negotiated = await execute('qmp_capabilities');
  if (!negotiated.ok) {
    socket.destroy();
    options.signal.removeEventListener('abort', onAbort);
    return negotiated;
  }
  return ok({
    execute,
    waitForEvent: (names, timeoutMs) =>
      new Promise((resolve) => {
        const check = (): void => {
          const seen = events.find((e) => names.includes(e));
          if (seen !== undefined || failure !== undefined) {
            clearTimeout(timer);
            eventWaiters.delete(check);
            resolve(seen);
          }
        };
        const timer = setTimeout(() => {
          eventWaiters.delete(check);
          resolve(undefined);
        }, timeoutMs);
        eventWaiters.add(check);
        check();
      }),
    close: () => {
      options.signal.removeEventListener('abort', onAbort);
      failure ??= new Error('closed');
      socket.end();
    },
  });
}
