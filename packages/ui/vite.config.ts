// Builds the web UI into dist/ (served by the controller at /). `pnpm --filter @ingot/ui dev`
// proxies the API and /ws to a controller on 127.0.0.1:5240.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:5240',
      '/ws': { target: 'ws://127.0.0.1:5240', ws: true },
    },
  },
});
