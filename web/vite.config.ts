import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The admin console, served by the hub at /admin from web/dist. No React plugin: Vite's own
 * transform handles TSX (automatic JSX runtime); fast refresh is not needed for a hub-served build.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/admin/',
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    target: 'es2022',
    chunkSizeWarningLimit: 400,
    rolldownOptions: {
      // TanStack Query marks its hooks "use client" for React Server Components; the console is a
      // client-only app, so the directive means nothing here and its warning is noise.
      onwarn(warning, warn) {
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8080', '/admin/auth': 'http://127.0.0.1:8080' } },
});
