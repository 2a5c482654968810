/**
 * TFTP packets a PXE ROM sends and reads (RFC 1350, options RFC 2347/2348/2349). Pure.
 *
 * ```
 * RRQ   | 01 | filename | 0 | "octet" | 0 | opt | 0 | value | 0 | …
 * DATA  | 03 | block (2) | 0–blksize bytes
 * ACK   | 04 | block (2)
 * ERROR | 05 | code (2) | message | 0
 * OACK  | 06 | opt | 0 | value | 0 | …
 * ```
 */

/** A decoded server packet. */
export type TftpServerPacket =
  | { readonly kind: 'data'; readonly block: number; readonly data: Uint8Array }
  | { readonly kind: 'oack'; readonly options: ReadonlyMap<string, string> }
  | { readonly kind: 'error'; readonly code: number; readonly message: string };

/** RRQ in octet mode with options (PXE ROMs ask for `tsize` and `blksize`). */
export function encodeRrq(filename: string, options: Readonly<Record<string, string>>): Uint8Array {
  const parts = [filename, 'octet'];
  for (const [k, v] of Object.entries(options)) parts.push(k, v);
  const body = new TextEncoder().encode(parts.map((p) => `${p}\0`).join(''));
  const out = new Uint8Array(2 + body.length);
  out[1] = 1;
  out.set(body, 2);
  return out;
}

/** ACK of `block` (0 acknowledges an OACK). */
export function encodeAck(block: number): Uint8Array {
  return Uint8Array.of(0, 4, (block >> 8) & 0xff, block & 0xff);
}

/** ERROR `code` with `message` (RFC 1350 §5). */
export function encodeError(code: number, message: string): Uint8Array {
  const text = new TextEncoder().encode(`${message}\0`);
  const out = new Uint8Array(4 + text.length);
  out.set([0, 5, (code >> 8) & 0xff, code & 0xff]);
  out.set(text, 4);
  return out;
}

/** Decodes DATA, OACK or ERROR; `undefined` for anything else. */
export function decodeServerPacket(bytes: Uint8Array): TftpServerPacket | undefined {
  if (bytes.length < 4 || bytes[0] !== 0) return undefined;
  const op = bytes[1];
  const u16 = ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0);
  if (op === 3) return { kind: 'data', block: u16, data: bytes.subarray(4) };
  if (op === 5) {
    const text = new TextDecoder().decode(bytes.subarray(4));
    return { kind: 'error', code: u16, message: text.replace(/\0.*$/s, '') };
  }
  if (op === 6) {
    const fields = new TextDecoder().decode(bytes.subarray(2)).split('\0');
    const options = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const key = fields[i];
      const value = fields[i + 1];
      if (key !== undefined && key !== '' && value !== undefined)
        options.set(key.toLowerCase(), value);
    }
    return { kind: 'oack', options };
  }
  return undefined;
}
