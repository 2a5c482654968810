import { credentials } from '@grpc/grpc-js';
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
 * Creates a client for one controller address (`host:port`). Plaintext for now; TLS with the
 * rack's client certificate replaces `createInsecure` when the controller serves it.
 * The caller owns the client and must `close()` it.
 */
export function createRackClient(address: string): RackServiceClient {
  return new RackServiceClient(address, credentials.createInsecure(), CHANNEL_OPTIONS);
}
