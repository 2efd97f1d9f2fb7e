import { defineConfig } from 'vite';

export default defineConfig({
  // The dev server's dependency pre-bundling would move pocketrank's JavaScript away from
  // its .wasm file (found next to it through `new URL(…, import.meta.url)`); production
  // builds need nothing special.
  optimizeDeps: { exclude: ['pocketrank'] },
});
