/**
 * The gRPC side of the brute-force limits (`app/auth-limiter.ts`): the peer's address and the
 * status a refused attempt gets.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { RateLimited } from '../app/auth-limiter.ts';

/** The address of a grpc-js peer (`127.0.0.1:5000`, `[::1]:5000`, `ipv4:…`) without its port. */
export function peerAddress(peer: string): string {
  const bare = peer.replace(/^ipv[46]:/, '');
  const v6 = /^\[([^\]]+)\]/.exec(bare);
  if (v6?.[1] !== undefined) return v6[1];
  const hostPort = /^([^:]+):\d+$/.exec(bare);
  return hostPort?.[1] ?? (bare || 'unknown');
}

/** RESOURCE_EXHAUSTED with the wait in the details and `retry-after` in trailing metadata. */
export function tooManyAttempts(e: RateLimited): { code: GrpcStatus; details: string } {
  return {
    code: GrpcStatus.RESOURCE_EXHAUSTED,
    details: `too many failed authentication attempts; try again in ${e.retryAfterSeconds} s`,
  };
}
