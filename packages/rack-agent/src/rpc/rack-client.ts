import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { RackServiceClient } from '@ingot/proto/rack/v1';

/**
 * HTTP/2 keepalive: the agent only learns that a controller vanished (power loss, partition)
 * when a write fails, which can take minutes with TCP alone. Pings find out in ~40 s. grpc-js
 * servers accept client pings without extra settings.
 */
const CHANNEL_OPTIONS = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 1,
} as const;

/**
 * Creates a client for one controller address (`host:port`) with `channelCredentials`
 * (`rack-tls.ts`: mutual TLS with the rack's certificate; plaintext by default).
 * The caller owns the client and must `close()` it.
 */
export function createRackClient(
  address: string,
  channelCredentials: ChannelCredentials = credentials.createInsecure(),
): RackServiceClient {
  return new RackServiceClient(address, channelCredentials, CHANNEL_OPTIONS);
}
