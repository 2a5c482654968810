/**
 * The scene most machine API tests start from: users alice and bob, one enrolled rack, and
 * machines in the common states, behind the REST API, with a `call` that signs requests as any of
 * them.
 */
import { afterEach, beforeEach, expect } from 'vitest';
import type { ApiApp } from '../api/context.ts';
import type { Machine } from '../domain/machine/machine.ts';
import type { Rack } from '../domain/rack.ts';
import { createTestApi, type TestApiOptions } from './create-test-api.ts';
import { createServiceFixture, type FixtureUser, type ServiceFixture } from './service-fixture.ts';

/** Whom a request is sent as: a user's key, no key, a mangled key, or Basic credentials. */
export type As = 'admin' | 'alice' | 'bob' | 'none' | 'wrong-key' | 'basic';

/** One request of {@link MachineApiScenario.call}. */
export interface Call {
  /** Default `admin`. */
  readonly as?: As | undefined;
  /** A value to send as JSON. */
  readonly json?: unknown;
  /** A body sent as is. */
  readonly raw?: string | undefined;
  readonly contentType?: string | undefined;
}

/** The scene, filled in before each test. */
export interface MachineApiScenario {
  readonly f: ServiceFixture;
  readonly api: ApiApp;
  readonly alice: FixtureUser;
  readonly bob: FixtureUser;
  readonly rack: Rack;
  /** Alice's allocated machine, `alice-1`. */
  readonly mine: Machine;
  /** Alice's allocated, locked machine, `alice-locked`. */
  readonly locked: Machine;
  /** A ready, unowned machine, `ready-1`. */
  readonly ready: Machine;
  /** Sends a request to the API in process. */
  call(method: string, path: string, c?: Call): Promise<Response>;
}

/**
 * Registers `beforeEach` (build the scene) and `afterEach` (expect that nothing reached the
 * "unhandled error" log, then close the store) in the calling scope. Read the returned object only
 * inside tests and hooks. Setup throws if any step of the scene fails.
 */
export function useMachineApiScenario(options: TestApiOptions = {}): MachineApiScenario {
  let logLines: string[] = [];
  const scene = {
    call(method: string, path: string, c: Call = {}): Promise<Response> {
      const headers: Record<string, string> = {};
      const auth = authorization(scene, c.as ?? 'admin');
      if (auth !== undefined) headers.authorization = auth;
      let body: string | undefined;
      if (c.json !== undefined) {
        body = JSON.stringify(c.json);
        headers['content-type'] = 'application/json';
      }
      if (c.raw !== undefined) {
        body = c.raw;
        headers['content-type'] = 'application/json';
      }
      if (c.contentType !== undefined) headers['content-type'] = c.contentType;
      return Promise.resolve(scene.api.request(path, { method, headers, body }));
    },
  } as { -readonly [K in keyof MachineApiScenario]: MachineApiScenario[K] };

  beforeEach(async () => {
    const f = await createServiceFixture();
    scene.f = f;
    ({ api: scene.api, logLines } = createTestApi(f, options));
    scene.alice = await f.addUser('alice');
    scene.bob = await f.addUser('bob');
    ({ rack: scene.rack } = await f.enrollRack());
    scene.ready = await f.createMachine({ hostname: 'ready-1' });
    scene.mine = await f.allocatedMachine(scene.alice, { hostname: 'alice-1' });
    scene.locked = await f.allocatedMachine(scene.alice, { hostname: 'alice-locked' });
    const result = await f.machines.setLocked(scene.alice.actor, scene.locked.id, true);
    if (!result.ok) throw new Error(result.error.kind);
  });

  afterEach(async () => {
    // No request may have reached the "unhandled error" branch.
    expect(logLines).toEqual([]);
    await scene.f.close();
  });

  return scene;
}

function authorization(scene: MachineApiScenario, as: As): string | undefined {
  switch (as) {
    case 'admin':
      return `Bearer ${scene.f.admin.apiKey}`;
    case 'alice':
      return `Bearer ${scene.alice.apiKey}`;
    case 'bob':
      return `Bearer ${scene.bob.apiKey}`;
    case 'none':
      return undefined;
    case 'wrong-key':
      return `Bearer ${scene.alice.apiKey.slice(0, -2)}xx`;
    case 'basic':
      return `Basic ${Buffer.from('alice:secret').toString('base64')}`;
  }
}
