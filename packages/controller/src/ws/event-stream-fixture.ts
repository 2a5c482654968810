/**
 * What the `/ws` tests share: the event stream attached to a plain HTTP server on 127.0.0.1,
 * over a fresh service fixture (store, bus, users, machines, the key limiter), all closed after
 * each test.
 */
import { silentLogger } from '@ingot/common';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';
import { AuthLimiter } from '../app/auth-limiter.ts';
import { createServiceFixture, type ServiceFixture } from '../testing/index.ts';
import { attachEventStream } from './event-stream.ts';

/** A listening `/ws` server and the services behind it. */
export interface EventStreamServer {
  readonly fixture: ServiceFixture;
  /** The loopback port `/ws` answers on. */
  readonly port: number;
}

/**
 * Registers the cleanup (in the calling file or `describe`) and returns a function that starts a
 * server for the current test.
 */
export function useEventStreamServer(): () => Promise<EventStreamServer> {
  let fixture: ServiceFixture | undefined;
  let server: Server | undefined;
  let closeStream: (() => void) | undefined;

  afterEach(async () => {
    closeStream?.();
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
    await fixture?.close();
    [fixture, server, closeStream] = [undefined, undefined, undefined];
  });

  return async () => {
    const f = await createServiceFixture();
    fixture = f;
    const s = createServer();
    server = s;
    closeStream = attachEventStream(s, {
      bus: f.bus,
      store: f.store,
      users: f.users,
      machines: f.machines,
      authLimiter: new AuthLimiter({ store: f.store, bus: f.bus, clock: f.clock }),
      logger: silentLogger,
    });
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const { port } = s.address() as AddressInfo;
    return { fixture: f, port };
  };
}
