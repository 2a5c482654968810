/**
 * A rack client written against the wire contract alone (`@ingot/proto` and grpc-js), for tests
 * that must present exactly the credentials they choose: enroll with a token, then open
 * sessions with or without a client certificate, with another CA's, or in plaintext.
 */
import { X509Certificate } from 'node:crypto';
import {
  credentials,
  Metadata,
  status as Status,
  type ChannelCredentials,
  type ServiceError,
} from '@grpc/grpc-js';
import { RackServiceClient, type SessionResponse } from '@ingot/proto/rack/v1';
import { fetchPinnedCa, newRackKey, parseEnrollmentToken } from '@ingot/rack-agent';

/** What a rack holds after Register. */
export interface EnrolledRack {
  readonly rackId: string;
  readonly rackSecret: string;
  readonly keyPem: string;
  readonly certPem: string;
  readonly caPem: string;
}

/** Enrolls like an agent: checks the token's pin against the controller's chain, then Register. */
export async function registerRack(address: string, token: string): Promise<EnrolledRack> {
  const parsed = parseEnrollmentToken(token);
  if (!parsed.ok || parsed.value.pin === undefined) throw new Error(`token has no pin: ${token}`);
  const ca = await fetchPinnedCa(address, parsed.value.pin, 10_000, new AbortController().signal);
  if (!ca.ok) throw new Error(ca.error.message);
  const key = newRackKey();
  const client = new RackServiceClient(address, credentials.createSsl(Buffer.from(ca.value)));
  try {
    const response = await new Promise<{
      rackId: string;
      rackSecret: string;
      clientCertPem: string;
      caCertPem: string;
    }>((resolve, reject) => {
      client.register(
        {
          enrollmentToken: parsed.value.secret,
          hostname: 'test-rack',
          interfaces: [],
          version: 'test',
          publicKeyPem: key.publicKeyPem,
          rackId: '',
          rackSecret: '',
        },
        new Metadata(),
        { deadline: Date.now() + 10_000 },
        (error, answer) => (error === null ? resolve(answer) : reject(error)),
      );
    });
    // The CA Register names is the one the pin chose.
    if (
      new X509Certificate(response.caCertPem).fingerprint256 !==
      new X509Certificate(ca.value).fingerprint256
    )
      throw new Error('Register answered with another CA');
    return {
      rackId: response.rackId,
      rackSecret: response.rackSecret,
      keyPem: key.keyPem,
      certPem: response.clientCertPem,
      caPem: response.caCertPem,
    };
  } finally {
    client.close();
  }
}

/** Mutual TLS as the rack `rack`: its key and certificate, trusting `caPem` (default its own). */
export function tlsAs(rack: EnrolledRack, caPem = rack.caPem): ChannelCredentials {
  return credentials.createSsl(
    Buffer.from(caPem),
    Buffer.from(rack.keyPem),
    Buffer.from(rack.certPem),
  );
}

/** How a session attempt went. */
export type SessionOutcome =
  | {
      readonly welcomed: true;
      readonly ended: Promise<{ code: Status; details: string }>;
      close(): void;
    }
  | { readonly welcomed: false; readonly code: Status; readonly details: string };

/**
 * Opens a Session with `channel` and the metadata `rackId`/`secret`, sends Hello and waits for
 * Welcome or the call's end (at most `timeoutMs`).
 */
export function openSession(
  address: string,
  channel: ChannelCredentials,
  who: { readonly rackId: string; readonly rackSecret: string },
  timeoutMs = 15_000,
): Promise<SessionOutcome> {
  const client = new RackServiceClient(address, channel);
  const metadata = new Metadata();
  metadata.set('x-ingot-rack-id', who.rackId);
  metadata.set('x-ingot-rack-secret', who.rackSecret);
  const call = client.session(metadata);
  let resolveEnd: (end: { code: Status; details: string }) => void = () => undefined;
  const ended = new Promise<{ code: Status; details: string }>((r) => (resolveEnd = r));
  const finish = (code: Status, details: string): void => {
    resolveEnd({ code, details });
    client.close();
  };
  call.on('error', (e: ServiceError) => finish(e.code, e.details));
  call.on('status', (s: { code: Status; details: string }) => finish(s.code, s.details));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      call.cancel();
      resolve({ welcomed: false, code: Status.DEADLINE_EXCEEDED, details: 'no answer' });
    }, timeoutMs);
    call.on('data', (message: SessionResponse) => {
      if (message.kind?.$case !== 'welcome') return;
      clearTimeout(timer);
      resolve({ welcomed: true, ended, close: () => call.cancel() });
    });
    void ended.then((end) => {
      clearTimeout(timer);
      resolve({ welcomed: false, ...end });
    });
    call.write({
      kind: {
        $case: 'hello',
        value: { version: 'test', hostname: 'test-rack', interfaces: [], networkConfigVersion: 0 },
      },
    });
  });
}
