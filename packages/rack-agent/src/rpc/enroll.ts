import { Metadata } from '@grpc/grpc-js';
import { assertNever, err, ok, type Logger, type Result } from '@ingot/common';
import type { RackServiceClient, RegisterRequest, RegisterResponse } from '@ingot/proto/rack/v1';
import { backoffDelayMs, realSleep, type BackoffPolicy, type Sleep } from '../backoff.ts';
import type { AgentInterface, RackIdentity } from '../domain/identity.ts';
import type { AgentStore } from '../state/agent-store.ts';
import { toProtoInterface, toRackIdentity } from './convert.ts';
import { toGrpcFailure, type GrpcFailure } from './grpc-status.ts';
import { createRackClient } from './rack-client.ts';

/** Why the agent could not obtain an identity. All but `aborted` need an operator. */
export type EnrollError =
  | { readonly kind: 'no-token'; readonly message: string }
  | { readonly kind: 'token-refused'; readonly code: string; readonly message: string }
  | { readonly kind: 'incompatible-controller'; readonly message: string }
  | { readonly kind: 'bad-response'; readonly message: string }
  | { readonly kind: 'aborted'; readonly message: string };

/** What enrollment needs. */
export interface EnrollDeps {
  readonly store: AgentStore;
  readonly addresses: readonly string[];
  readonly enrollmentToken?: string | undefined;
  readonly registration: {
    readonly hostname: string;
    readonly version: string;
    readonly interfaces: readonly AgentInterface[];
  };
  /** Backoff between attempts while no controller answers. */
  readonly reconnect: BackoffPolicy;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly sleep?: Sleep;
  readonly random?: () => number;
  readonly createClient?: (address: string) => RackServiceClient;
  /** Per-attempt deadline. */
  readonly deadlineMs?: number;
}

/**
 * Returns the stored identity, or enrolls once to get one (DESIGN.md §4): `Register` with the
 * enrollment token, then persist, so the agent never enrolls again. Unreachable controllers
 * are retried with backoff across all addresses until one answers or `signal` aborts; a refused
 * token, a missing token or an incompatible controller end enrollment with a typed error.
 */
export async function ensureIdentity(deps: EnrollDeps): Promise<Result<RackIdentity, EnrollError>> {
  const stored = deps.store.identity();
  if (stored !== undefined) return ok(stored);
  const token = deps.enrollmentToken;
  if (token === undefined || token === '') {
    return err({
      kind: 'no-token',
      message:
        'this agent is not enrolled and has no enrollment token: run `ingot racks enroll-token` ' +
        'on the controller and pass it with --enroll-token',
    });
  }
  const request: RegisterRequest = {
    enrollmentToken: token,
    hostname: deps.registration.hostname,
    interfaces: deps.registration.interfaces.map(toProtoInterface),
    version: deps.registration.version,
  };
  const sleep = deps.sleep ?? realSleep;
  const createClient = deps.createClient ?? createRackClient;

  for (let attempt = 0; !deps.signal.aborted; attempt++) {
    const address = deps.addresses[attempt % deps.addresses.length];
    if (address === undefined) throw new Error('enrollment needs at least one controller address');
    const client = createClient(address);
    let answer: Result<RegisterResponse, GrpcFailure>;
    try {
      answer = await register(client, request, deps.signal, deps.deadlineMs ?? 10_000);
    } finally {
      client.close();
    }
    if (answer.ok) {
      const identity = toRackIdentity(answer.value);
      if (!identity.ok) return err({ kind: 'bad-response', message: identity.error.message });
      deps.store.saveIdentity(identity.value);
      deps.logger.info('enrolled with the controller', {
        controller: address,
        rackId: identity.value.rackId,
        name: identity.value.name,
      });
      return ok(identity.value);
    }
    const failure = answer.error;
    const category = failure.kind;
    switch (category) {
      case 'auth':
      case 'rejected':
        return err({
          kind: 'token-refused',
          code: failure.codeName,
          message: `the controller refused the enrollment token (${failure.codeName}: ${failure.details})`,
        });
      case 'unimplemented':
        return err({
          kind: 'incompatible-controller',
          message: `controller ${address} does not implement Register: ${failure.details}`,
        });
      case 'transient': {
        const delayMs = backoffDelayMs(attempt, deps.reconnect, deps.random);
        deps.logger.warn('enrollment attempt failed; retrying', {
          controller: address,
          code: failure.codeName,
          details: failure.details,
          retryInMs: delayMs,
        });
        await sleep(delayMs, deps.signal);
        break;
      }
      default:
        return assertNever(category, 'gRPC failure kind');
    }
  }
  return err({ kind: 'aborted', message: 'enrollment aborted' });
}

function register(
  client: RackServiceClient,
  request: RegisterRequest,
  signal: AbortSignal,
  deadlineMs: number,
): Promise<Result<RegisterResponse, GrpcFailure>> {
  return new Promise((resolve) => {
    const call = client.register(
      request,
      new Metadata(),
      { deadline: Date.now() + deadlineMs },
      (error, response) => {
        signal.removeEventListener('abort', onAbort);
        resolve(error === null ? ok(response) : err(toGrpcFailure(error)));
      },
    );
    const onAbort = (): void => call.cancel();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
