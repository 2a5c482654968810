/**
 * A response body streamed from an open file handle: bounded memory whatever the file size
 * (DESIGN.md §5, no whole-file buffering). The HTTP server pulls the next chunk only when the
 * socket has drained, so a slow client holds one chunk, not the file.
 */
import type { FileHandle } from 'node:fs/promises';

/** Bytes read per pull: large enough for few syscalls, small enough for 100s of clients. */
export const FILE_CHUNK_BYTES = 512 * 1024;

/** How a streamed body ended. */
export interface FileBodyEnd {
  /** True when every byte of the range was handed to the server. */
  readonly complete: boolean;
  readonly bytesSent: number;
}

/**
 * Streams bytes `start..end` (inclusive) of `handle` and closes the handle when done, on error
 * and when the consumer cancels (client gone). `onEnd` runs exactly once. A file that shrinks
 * mid-transfer errors the stream, so the client sees a short body, never wrong bytes.
 */
export function createFileBody(
  handle: FileHandle,
  start: number,
  end: number,
  onEnd: (end: FileBodyEnd) => void,
): ReadableStream<Uint8Array> {
  let position = start;
  let sent = 0;
  let finished = false;
  const finish = async (complete: boolean): Promise<void> => {
    if (finished) return;
    finished = true;
    onEnd({ complete, bytesSent: sent });
    await handle.close().catch(() => undefined);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const remaining = end - position + 1;
        if (remaining <= 0) {
          controller.close();
          await finish(true);
          return;
        }
        const length = Math.min(FILE_CHUNK_BYTES, remaining);
        // A fresh buffer per chunk: the server keeps a reference until the socket flushed it.
        const buffer = Buffer.allocUnsafe(length);
        try {
          const { bytesRead } = await handle.read(buffer, 0, length, position);
          if (bytesRead === 0) throw new Error('file shrank while being served');
          position += bytesRead;
          sent += bytesRead;
          controller.enqueue(buffer.subarray(0, bytesRead));
          if (position > end) {
            controller.close();
            await finish(true);
          }
        } catch (error: unknown) {
          controller.error(error);
          await finish(false);
        }
      },
      async cancel() {
        await finish(false);
      },
    },
    { highWaterMark: 1 },
  );
}
