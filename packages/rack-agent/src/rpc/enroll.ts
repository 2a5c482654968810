import { X509Certificate } from 'node:crypto';
import { Metadata, status as Status, type ChannelCredentials } from '@grpc/grpc-js';
import { assertNever, err, ok, type Logger, type Result } from '@ingot/common';
import type { RackServiceClient, RegisterRequest, RegisterResponse } from '@ingot/proto/rack/v1';
import { backoffDelayMs, realSleep, type BackoffPolicy, type Sleep } from '../backoff.ts';
import type { AgentInterface, RackIdentity } from '../domain/identity.ts';
import type { AgentStore } from '../state/agent-store.ts';
import { toProtoInterface, toRackIdentity } from './convert.ts';
import { toGrpcFailure, type GrpcFailure } from './grpc-status.ts';
import { createRackClient } from './rack-client.ts';
import {
  fetchPinnedCa,
  loadRackTls,
  newRackKey,
  parseEnrollmentToken,
  publicKeyPin,
  rackCredentials,
  saveRackTls,
  type RackTls,
} from './rack-tls.ts';

/** Why the agent could not obtain an identity. All but `aborted` need an operator. */
export type EnrollError =
  | { readonly kind: 'no-token'; readonly message: string }
  | { readonly kind: 'token-refused'; readonly code: string; readonly message: string }
  | { readonly kind: 'incompatible-controller'; readonly message: string }
  | { readonly kind: 'bad-response'; readonly message: string }
  /** TLS is on and the token carries no CA pin, or the agent has no certificate yet. */
  | { readonly kind: 'no-certificate'; readonly message: string }
  /** A controller's certificates do not match the token's CA pin. */
  | { readonly kind: 'untrusted-controller'; readonly message: string }
  | { readonly kind: 'aborted'; readonly message: string };

/** An identity, and the TLS material to use it with (undefined in plaintext mode). */
export interface Enrolled {
  readonly identity: RackIdentity;
  readonly tls: RackTls | undefined;
}

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
  readonly createClient?: (address: string, credentials: ChannelCredentials) => RackServiceClient;
  /** Per-attempt deadline. */
  readonly deadlineMs?: number;
  /**
   * Mutual TLS (the default): the data directory holding `tls/`. Undefined talks plaintext
   * (`--insecure-grpc`).
   */
  readonly tlsDir?: string | undefined;
}

/**
 * Returns the stored identity, or enrolls once to get one (DESIGN.md §4): `Register` with the
 * enrollment token, then persist, so the agent never enrolls again. Unreachable controllers
 * are retried with backoff across all addresses until one answers or `signal` aborts; a refused
 * token, a missing token or an incompatible controller end enrollment with a typed error.
 *
 * With mutual TLS (`tlsDir`), the token must carry the CA pin: the CA is taken from the
 * controller's TLS chain only if its key matches the pin (`rack-tls.ts`), `Register` runs over
 * TLS trusting only that CA, and the issued certificate, the agent's key and the CA are kept in
 * `DATA/tls/`. An agent enrolled before mutual TLS (identity, no certificate) needs one more
 * token: it registers again with its rack id and secret and keeps its identity.
 */
export async function ensureIdentity(deps: EnrollDeps): Promise<Result<Enrolled, EnrollError>> {
  const stored = deps.store.identity();
  const storedTls = deps.tlsDir === undefined ? undefined : loadRackTls(deps.tlsDir);
  if (stored !== undefined && (deps.tlsDir === undefined || storedTls !== undefined)) {
    return ok({ identity: stored, tls: storedTls });
  }
  const token = deps.enrollmentToken;
  if (token === undefined || token === '') {
    return stored === undefined
      ? err({
          kind: 'no-token',
          message:
            'this agent is not enrolled and has no enrollment token: run `ingot racks enroll-token` ' +
            'on the controller and pass it with --enroll-token',
        })
      : err({
          kind: 'no-certificate',
          message:
            'this agent was enrolled before controllers required mutual TLS and has no certificate: ' +
            'pass a new token from `ingot racks enroll-token` once with --enroll-token (the rack ' +
            'keeps its id), or run with --insecure-grpc against a plaintext controller',
        });
  }
  const parsed = parseEnrollmentToken(token);
  if (!parsed.ok)
    return err({ kind: 'token-refused', code: 'INVALID', message: parsed.error.message });
  const pin = parsed.value.pin;
  if (deps.tlsDir !== undefined && pin === undefined) {
    return err({
      kind: 'no-certificate',
      message:
        'this enrollment token carries no CA pin (made by a plaintext or older controller): make a ' +
        'new one with `ingot racks enroll-token`, or run with --insecure-grpc',
    });
  }
  const key = deps.tlsDir === undefined ? undefined : newRackKey();
  const request: RegisterRequest = {
    enrollmentToken: parsed.value.secret,
    hostname: deps.registration.hostname,
    interfaces: deps.registration.interfaces.map(toProtoInterface),
    version: deps.registration.version,
    publicKeyPem: key?.publicKeyPem ?? '',
    rackId: stored?.rackId ?? '',
    rackSecret: stored?.rackSecret ?? '',
  };
  const sleep = deps.sleep ?? realSleep;
  const createClient = deps.createClient ?? createRackClient;
  const deadlineMs = deps.deadlineMs ?? 10_000;

  for (let attempt = 0; !deps.signal.aborted; attempt++) {
    const address = deps.addresses[attempt % deps.addresses.length];
    if (address === undefined) throw new Error('enrollment needs at least one controller address');
    let caPem: string | undefined;
    let failure: GrpcFailure | undefined;
    let answer: Result<RegisterResponse, GrpcFailure> | undefined;
    if (pin !== undefined && deps.tlsDir !== undefined) {
      const ca = await fetchPinnedCa(address, pin, deadlineMs, deps.signal);
      if (!ca.ok && ca.error.kind === 'pin-mismatch') {
        return err({ kind: 'untrusted-controller', message: ca.error.message });
      }
      if (ca.ok) caPem = ca.value;
      else
        failure = {
          kind: 'transient',
          code: Status.UNAVAILABLE,
          codeName: 'UNAVAILABLE',
          details: ca.error.message,
        };
    }
    if (failure === undefined) {
      const client = createClient(
        address,
        rackCredentials(caPem === undefined ? undefined : { caPem }),
      );
      try {
        answer = await register(client, request, deps.signal, deadlineMs);
      } finally {
        client.close();
      }
      if (!answer.ok) failure = answer.error;
    }
    if (answer?.ok === true) {
      return saveEnrollment(deps, answer.value, stored, key?.keyPem, pin, address);
    }
    if (failure === undefined) continue;
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

/** Checks and keeps what Register answered: TLS files first, then the identity. */
function saveEnrollment(
  deps: EnrollDeps,
  response: RegisterResponse,
  stored: RackIdentity | undefined,
  keyPem: string | undefined,
  pin: string | undefined,
  address: string,
): Result<Enrolled, EnrollError> {
  let identity: RackIdentity;
  if (stored === undefined) {
    const converted = toRackIdentity(response);
    if (!converted.ok) return err({ kind: 'bad-response', message: converted.error.message });
    identity = converted.value;
  } else {
    identity = stored;
  }
  let tls: RackTls | undefined;
  if (deps.tlsDir !== undefined && keyPem !== undefined) {
    if (response.clientCertPem === '' || response.caCertPem === '') {
      return err({
        kind: 'incompatible-controller',
        message: `controller ${address} issued no certificate: it serves plaintext (use --insecure-grpc) or is too old`,
      });
    }
    let caPin: string;
    try {
      caPin = publicKeyPin(new X509Certificate(response.caCertPem));
      new X509Certificate(response.clientCertPem);
    } catch (e) {
      return err({
        kind: 'bad-response',
        message: `unreadable certificate from Register: ${String(e)}`,
      });
    }
    if (caPin !== pin) {
      return err({
        kind: 'untrusted-controller',
        message: 'Register answered with another CA than the token pins',
      });
    }
    tls = { keyPem, certPem: response.clientCertPem, caPem: response.caCertPem };
    saveRackTls(deps.tlsDir, tls);
  }
  if (stored === undefined) deps.store.saveIdentity(identity);
  deps.logger.info(
    stored === undefined ? 'enrolled with the controller' : 'received a rack certificate',
    {
      controller: address,
      rackId: identity.rackId,
      name: identity.name,
      tls: tls !== undefined,
    },
  );
  return ok({ identity, tls });
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
