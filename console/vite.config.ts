import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

// The console is served under /console/ by the same origin as the API; everything is bundled, nothing is fetched from a CDN.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  plugins: [preact()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The CSP allows no inline script, and data: URLs only for images.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
});
