import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// Built into dist/, which nginx serves: hashed files under /assets/
// (cached for a year), index.html revalidated on every load.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2020',
    // No inline script anywhere: the CSP is script-src 'self'.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 300,
  },
  server: {
    proxy: { '/api': 'http://demo.localhost:8091' },
  },
});
