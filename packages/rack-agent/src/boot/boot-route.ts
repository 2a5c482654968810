/**
 * One link of the boot resolver chain (smee `Route.TryServe`, MAAS `BootMethod.match_path`).
 */
import type { Result } from '@ingot/common';
import type { BootPlan } from '../domain/boot-plan.ts';
import type { MacAddress } from '../domain/mac-address.ts';
import type { BootPath } from './boot-path.ts';
import type { BootError, BootRequest, ResolvedBootFile } from './resolver.ts';

/** A boot request after normalisation, with the client identified as far as possible. */
export interface RoutedBootRequest {
  readonly request: BootRequest;
  /** The checked, normalised path; routes never look at `request.path`. */
  readonly path: BootPath;
  /** The client's MAC: from the adapter, the `mac` query parameter, or its DHCP lease. */
  readonly mac: MacAddress | undefined;
  /** The boot plan for {@link RoutedBootRequest.mac}; looked up on first call. */
  plan(): BootPlan | undefined;
}

/** A route answers the paths it owns and returns `undefined` for the rest. */
export interface BootFileRoute {
  /** For logs. */
  readonly name: string;
  /**
   * `undefined`: not this route's path, ask the next one. A `Result`: this route owns the path
   * and has answered, with a file or with `not-found`/`forbidden`.
   */
  tryResolve(request: RoutedBootRequest): Promise<Result<ResolvedBootFile, BootError> | undefined>;
}
