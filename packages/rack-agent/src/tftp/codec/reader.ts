/**
 * A bounds-checked reader over one datagram (STYLE.md §4.1): every read returns `undefined`
 * instead of reading past the end, so a decoder built on it cannot throw on hostile input.
 *
 * @internal
 */
export class ByteReader {
  readonly #bytes: Uint8Array;
  #offset = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** Bytes not yet read. */
  remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  /** A big-endian (network order) unsigned 16-bit integer, or `undefined` past the end. */
  u16(): number | undefined {
    if (this.remaining() < 2) return undefined;
    const high = this.#bytes.at(this.#offset) ?? 0;
    const low = this.#bytes.at(this.#offset + 1) ?? 0;
    this.#offset += 2;
    return (high << 8) | low;
  }

  /**
   * A NUL-terminated string (RFC 1350 §5: "a string of netascii characters, terminated by a
   * zero byte"), decoded byte for byte as Latin-1 so that any byte sequence round-trips; or
   * `undefined` when no NUL follows.
   */
  cstring(): string | undefined {
    const end = this.#bytes.indexOf(0, this.#offset);
    if (end < 0) return undefined;
    const text = latin1(this.#bytes.subarray(this.#offset, end));
    this.#offset = end + 1;
    return text;
  }

  /** Everything not yet read, as a view (no copy). */
  rest(): Uint8Array {
    const view = this.#bytes.subarray(this.#offset);
    this.#offset = this.#bytes.length;
    return view;
  }
}

/** Decodes bytes as ISO-8859-1 (each byte one code unit; `TextDecoder('latin1')` is cp1252). */
function latin1(bytes: Uint8Array): string {
  let text = '';
  // Chunked so that a 64 KiB string does not blow the argument limit of `apply`.
  for (let start = 0; start < bytes.length; start += 8192) {
    text += String.fromCharCode(...bytes.subarray(start, start + 8192));
  }
  return text;
}
