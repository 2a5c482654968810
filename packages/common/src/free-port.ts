import { createServer } from 'node:net';

/**
 * A free TCP port on 127.0.0.1: the kernel's pick, bound and released, for a server the caller
 * starts right after (tests, benchmarks, the throwaway PostgreSQL).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
