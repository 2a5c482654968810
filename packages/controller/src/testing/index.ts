/**
 * Test doubles and fixtures for the controller, for its own tests and for other packages and
 * `test/` (the `@ingot/controller/testing` subpath). Nothing here is used in production. The
 * vitest hooks (`use-*.ts`) are not re-exported, so importing this needs no test runner.
 */
export { RecordingRackNotifier } from './recording-rack-notifier.ts';
export { RecordingEventBus } from './recording-event-bus.ts';
export {
  bootPlanBody,
  newEvent,
  newMachine,
  newUser,
  rackStep,
  uniqueMac,
} from './domain-fixtures.ts';
export {
  createServiceFixture,
  DEFAULT_IMAGE,
  EPHEMERAL_IMAGE,
  type FixtureUser,
  type ServiceFixture,
  type ServiceFixtureOptions,
} from './service-fixture.ts';
export { snapshotStore, type StoreSnapshot } from './store-snapshot.ts';
export { createTestApi, readJson, type TestApi, type TestApiOptions } from './create-test-api.ts';
export { errorOf, valueOf } from './domain-results.ts';
export { issuedToken, metadataRequest, oauthHeader } from './metadata-client.ts';
export {
  postgresBinDir,
  PostgresUnavailable,
  startPostgresServer,
  type PostgresServer,
} from './postgres-server.ts';
/** An empty SQLite store (`:memory:` for a test), for tests of layers that may not import store/. */
export { openSqliteStore } from '../store/sqlite.ts';
