/**
 * The one question TFTP and HTTP boot both ask (STYLE.md §2): which bytes does this client get
 * for this path? An ordered chain of routes answers it (smee `Route.TryServe`, MAAS
 * `BootMethod.match_path`). `tftp/` and `http-boot/` are thin adapters over it.
 */
import type { Result } from '@ingot/common';

/** Who asks for what. */
export interface BootRequest {
  /** The requested path, as sent by the client (TFTP filename or HTTP path), not yet normalised. */
  readonly path: string;
  readonly protocol: 'tftp' | 'http';
  /** The client's IP address (for lease → MAC → machine lookups). */
  readonly clientAddress: string;
  /** The client's MAC when the request carries it (iPXE `${mac}` in the URL, for example). */
  readonly mac?: string | undefined;
  /**
   * The address the client reached the agent at: the HTTP `Host` header, or the local IP a TFTP
   * request arrived on. Generated configs point back at it. Optional; without it the resolver
   * uses its configured base URL or firmware variables.
   */
  readonly serverAddress?: string | undefined;
}

/** The bytes of a resolved boot file: generated in memory, or a file on disk streamed as is. */
export type BootContent =
  | { readonly kind: 'bytes'; readonly data: Uint8Array }
  | { readonly kind: 'file'; readonly path: string };

/** A resolved boot file. */
export interface ResolvedBootFile {
  readonly content: BootContent;
  readonly sizeBytes: number;
  readonly contentType: string;
  /** The machine it was resolved for, when known (for `boot.*` events). */
  readonly machineId?: string | undefined;
  /** The event step this fetch stands for: `boot.nbp`, `boot.config`, `boot.kernel` … */
  readonly step?: string | undefined;
}

/** Why a path did not resolve. */
export type BootError =
  | { readonly kind: 'not-found'; readonly path: string }
  /** `..`, absolute escapes, NUL bytes: never served, whatever exists. */
  | { readonly kind: 'forbidden'; readonly path: string; readonly reason: string };

/** Answers boot requests. */
export interface BootResolver {
  resolve(request: BootRequest): Promise<Result<ResolvedBootFile, BootError>>;
}
