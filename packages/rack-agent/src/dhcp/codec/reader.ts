/**
 * A bounds-checked cursor over bytes (STYLE.md §4.1): decoders never index a buffer directly.
 * Every read past the end returns `undefined` instead of throwing or reading stale memory.
 * A class rather than a closure factory: decoding runs per datagram, and methods on the
 * prototype cost nothing to create (closures cost an allocation each, more under tsx).
 * @internal
 */
export class ByteReader {
  readonly #data: Uint8Array;
  readonly #view: DataView;
  #position = 0;

  constructor(data: Uint8Array) {
    this.#data = data;
    this.#view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  /** Bytes left from the cursor to the end. */
  remaining(): number {
    return this.#data.byteLength - this.#position;
  }

  /** The cursor's offset from the start. */
  offset(): number {
    return this.#position;
  }

  u8(): number | undefined {
    const at = this.#take(1);
    return at < 0 ? undefined : this.#view.getUint8(at);
  }

  u16(): number | undefined {
    const at = this.#take(2);
    return at < 0 ? undefined : this.#view.getUint16(at);
  }

  u32(): number | undefined {
    const at = this.#take(4);
    return at < 0 ? undefined : this.#view.getUint32(at);
  }

  /** `length` bytes as a view sharing memory with the input, or `undefined` if too few remain. */
  bytes(length: number): Uint8Array | undefined {
    const at = this.#take(length);
    return at < 0 ? undefined : this.#data.subarray(at, at + length);
  }

  /** Advances by `length` and returns the old offset, or -1 (cursor unmoved) if too few remain. */
  #take(length: number): number {
    if (length < 0 || this.#position + length > this.#data.byteLength) return -1;
    const at = this.#position;
    this.#position += length;
    return at;
  }
}

/** Creates a {@link ByteReader} over `data`, starting at offset 0. @internal */
export function createReader(data: Uint8Array): ByteReader {
  return new ByteReader(data);
}
