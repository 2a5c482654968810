/**
 * A growable big-endian byte writer for encoders. Encoders build replies we control, so a write
 * never fails; the buffer doubles as needed. A class for the same reason as `ByteReader`.
 * @internal
 */
export class ByteWriter {
  #buffer: Uint8Array;
  #view: DataView;
  #position = 0;

  constructor(initialBytes = 576) {
    this.#buffer = new Uint8Array(initialBytes);
    this.#view = new DataView(this.#buffer.buffer);
  }

  u8(value: number): void {
    const at = this.#reserve(1);
    this.#view.setUint8(at, value);
  }

  u16(value: number): void {
    const at = this.#reserve(2);
    this.#view.setUint16(at, value);
  }

  u32(value: number): void {
    const at = this.#reserve(4);
    this.#view.setUint32(at, value >>> 0);
  }

  bytes(value: Uint8Array): void {
    const at = this.#reserve(value.byteLength);
    this.#buffer.set(value, at);
  }

  /** Writes `length` zero bytes (the buffer starts zeroed and is never reused). */
  zeros(length: number): void {
    this.#reserve(length);
  }

  /** Writes at most `size` bytes of `value`, then zeros up to `size` (fixed-width fields). */
  fixed(value: Uint8Array, size: number): void {
    const at = this.#reserve(size);
    this.#buffer.set(value.byteLength > size ? value.subarray(0, size) : value, at);
  }

  /** Bytes written so far. */
  length(): number {
    return this.#position;
  }

  /** The bytes written, as a view of the internal buffer; the writer must not be used after. */
  finish(): Uint8Array {
    return this.#buffer.subarray(0, this.#position);
  }

  // `reserve` may replace the buffer, so callers take the offset before touching it.
  #reserve(length: number): number {
    if (this.#position + length > this.#buffer.byteLength) {
      const grown = new Uint8Array(Math.max(this.#buffer.byteLength * 2, this.#position + length));
      grown.set(this.#buffer.subarray(0, this.#position));
      this.#buffer = grown;
      this.#view = new DataView(grown.buffer);
    }
    const at = this.#position;
    this.#position += length;
    return at;
  }
}

/** Creates a {@link ByteWriter} with room for `initialBytes` before it grows. @internal */
export function createWriter(initialBytes = 576): ByteWriter {
  return new ByteWriter(initialBytes);
}
