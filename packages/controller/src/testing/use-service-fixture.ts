/**
 * Vitest hooks giving each test a fresh {@link ServiceFixture} with some users already created,
 * closed after the test.
 */
import { afterEach, beforeEach } from 'vitest';
import {
  createServiceFixture,
  type FixtureUser,
  type ServiceFixture,
  type ServiceFixtureOptions,
} from './service-fixture.ts';

/** The current test's fixture as `f`, and each user asked for under its name. */
export type ServiceFixtureScope<Name extends string> = { readonly f: ServiceFixture } & {
  readonly [N in Name]: FixtureUser;
};

/**
 * Registers `beforeEach` (open the fixture, add `usernames` as plain users, in order) and
 * `afterEach` (close it) in the calling scope. The returned object is filled in before each test;
 * read it only inside tests and hooks.
 */
export function useServiceFixture<const Name extends string>(
  usernames: readonly Name[],
  options: ServiceFixtureOptions = {},
): ServiceFixtureScope<Name> {
  const scope: Record<string, unknown> = {};
  beforeEach(async () => {
    const f = await createServiceFixture(options);
    scope.f = f;
    for (const username of usernames) scope[username] = await f.addUser(username);
  });
  afterEach(async () => {
    await (scope.f as ServiceFixture).close();
  });
  return scope as ServiceFixtureScope<Name>;
}
