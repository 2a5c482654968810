/**
 * `Range` header evaluation (RFC 9110 §14), pure. HTTP boot serves one range per request: a
 * multi-range request gets the whole file (RFC 9110 §14.2 lets a server ignore `Range`), which
 * is what boot clients (iPXE, curl, wget, the initramfs) cope with best.
 */

/** What to send for a request, given the file size. */
export type ByteRangeDecision =
  /** No usable `Range` (absent, malformed, several ranges, other unit): 200 with everything. */
  | { readonly kind: 'full' }
  /** 206 with `start..end` inclusive. */
  | { readonly kind: 'partial'; readonly start: number; readonly end: number }
  /** 416 with `Content-Range: bytes *\/size`: no byte of the range exists. */
  | { readonly kind: 'unsatisfiable' };

const SINGLE_RANGE = /^bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i;

/**
 * Decides the answer to `Range: <header>` for a file of `sizeBytes` (RFC 9110 §14.1.2):
 * `a-b` (end clamped to the last byte), `a-` (to the end), `-n` (the last n bytes).
 * `a > b` is malformed (whole file); `a ≥ size` and `-0` are unsatisfiable.
 */
export function decideByteRange(header: string | undefined, sizeBytes: number): ByteRangeDecision {
  if (header === undefined) return { kind: 'full' };
  const match = SINGLE_RANGE.exec(header);
  if (match === null) return { kind: 'full' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'full' };
  if (first === '') {
    const suffix = Number(last);
    if (!Number.isSafeInteger(suffix)) return { kind: 'full' };
    if (suffix === 0 || sizeBytes === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, sizeBytes - suffix), end: sizeBytes - 1 };
  }
  const start = Number(first);
  const end = last === '' ? sizeBytes - 1 : Number(last);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return { kind: 'full' };
  if (last !== '' && end < start) return { kind: 'full' };
  if (start >= sizeBytes) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: Math.min(end, sizeBytes - 1) };
}
