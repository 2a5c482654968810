/**
 * Why a DHCP datagram could not be decoded. Port 67 receives garbage, so every failure is a
 * value (STYLE.md §4.1); the server counts and drops these, it never crashes on them.
 */
export type DecodeError =
  /** Fewer bytes than the fixed BOOTP header plus the magic cookie (RFC 2131 §2: 236 + 4). */
  | { readonly kind: 'too-short'; readonly length: number }
  /** `op` is neither BOOTREQUEST (1) nor BOOTREPLY (2) (RFC 2131 §2). */
  | { readonly kind: 'bad-op'; readonly op: number }
  /** The four bytes after the header are not 99.130.83.99 (RFC 2131 §3, RFC 1497). */
  | { readonly kind: 'bad-cookie' }
  /** An option's length byte runs past the end of its field (RFC 2132 §2). */
  | { readonly kind: 'truncated-option'; readonly code: number; readonly offset: number };
