/**
 * Test doubles for the rack agent, exported on `@ingot/rack-agent/testing` for this package's
 * tests, the CLI's and the e2e suite (STYLE.md §7).
 */
export {
  FakePowerDriver,
  type FakePowerCall,
  type FakePowerDriverOptions,
  type FakePowerParams,
} from './fake-power-driver.ts';
export { FakeController, type FakeControllerOptions, type FakeSession } from './fake-controller.ts';
export { waitUntil } from './wait-until.ts';
export { createDirectoryResolver } from '../tftp/testing/directory-resolver.ts';
